"""``Sweep``: one pipeline over many configs, expanded into one plan and run by the one engine."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from tensorrag.errors import SweepError, TensorragError, check_keywords
from tensorrag.run import run_pipeline
from tensorrag.sweep._expand import apply_config, branch_id, branch_part, expand
from tensorrag.sweep._result import SweepResult
from tensorrag.sweep._space import draw, parse_metrics, parse_space

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

    from tensorrag.executors import Executor
    from tensorrag.pipeline import Pipeline
    from tensorrag.run import Listener
    from tensorrag.storage import ArtifactStore

__all__ = ["Sweep"]


class Sweep:
    """A pipeline swept over a space of configs (``Pipeline.sweep(...)``); see docs/sweeps.md.

    Everything is checked here, before anything runs: the pipeline, every space key (unknown node
    or field: did-you-mean), every value list, every branch's config against its card's schema,
    and the metric's node and port.

    Args:
        pipeline: the pipeline to sweep (copied: later edits do not change the sweep).
        space: ``{"node.field": [values], "node.field.key": [values], ...}``; for random search a
            value may also be a callable ``rng -> value`` or a distribution with ``rvs``.
        metric: ``(node, port, key)``, ``(node, port)`` (the artifact is the number), ``"node.port.key"``,
            or a list of them (the first is the objective; the others are extra table columns).
        mode: ``"max"`` or ``"min"``: which end of the objective is best.
        search: ``"grid"`` (every combination; the last key varies fastest) or ``"random"``.
        n: random search: how many branches to draw.
        seed: random search: the seed (the same seed draws the same branches).

    Raises:
        PipelineValidationError: the pipeline itself is invalid.
        SweepError: a bad space, value list, metric, mode, search, n or seed, or a branch whose values
            do not fit the card schemas.
        UnknownSweepFieldError: an unknown node, config field or output port (with did-you-mean).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        space: Mapping[str, Any],
        *,
        metric: Any = None,
        mode: str = "max",
        search: str = "grid",
        n: int | None = None,
        seed: int | None = None,
    ) -> None:
        if mode not in ("max", "min"):
            raise SweepError(f"mode must be 'max' or 'min'; got {mode!r}.")
        pipeline.validate()
        self.pipeline = pipeline.copy()
        axes = parse_space(self.pipeline, space, search)
        self.fields = {a.field.key: a.field for a in axes}
        self.branch_nodes = branch_part(self.pipeline, self.fields.values())
        self.shared_nodes = [nid for nid in self.pipeline.topological_order() if nid not in set(self.branch_nodes)]
        self.metrics = parse_metrics(self.pipeline, metric, set(self.branch_nodes))
        self.mode, self.search, self.n, self.seed = mode, search, n, seed
        self.configs = draw(axes, search, n, seed)
        self.expanded = expand(self.pipeline, self.fields, self.configs)
        self._canvases: weakref.WeakSet[Any] = weakref.WeakSet()  # open SweepCanvases: they follow every run

    @property
    def keys(self) -> list[str]:
        """The space keys, in order (the table's first columns)."""
        return list(self.fields)

    @property
    def swept_nodes(self) -> dict[str, int]:
        """Node id -> how many copies the sweep runs (the branch count for the swept part; 1 for shared nodes)."""
        copies = len(self.configs)
        return {nid: copies if nid in self.branch_nodes else 1 for nid in self.pipeline.topological_order()}

    def node_ids(self, index: int) -> dict[str, str]:
        """The pipeline's node id -> its id in the expanded run for branch ``index`` (shared nodes unchanged)."""
        part = set(self.branch_nodes)
        return {nid: branch_id(nid, index) if nid in part else nid for nid in self.pipeline.topological_order()}

    def pipeline_for(self, config: Mapping[str, Any]) -> Pipeline:
        """A copy of the pipeline with one branch's values (``{space key: value}``) filled in."""
        return apply_config(self.pipeline, self.fields, config)

    def canvas(self, **options: Any) -> Any:
        """Show the sweep on the notebook canvas: the pipeline with the swept part badged ×N (docs/sweeps.md).

        The Run button runs the sweep; every run of it (from code too) is followed there: status per
        node over its copies, the results table (sortable), the best branch highlighted.

        Args:
            **options: ``height``, and defaults for the canvas's runs (as for :meth:`run`).
        """
        from tensorrag.widget import SweepCanvas

        return SweepCanvas(self, **options)

    def __len__(self) -> int:
        return len(self.configs)

    def __repr__(self) -> str:
        return (f"<Sweep of {self.pipeline.name!r}: {len(self.configs)} {self.search} branches over "
                f"{', '.join(self.keys)}; {len(self.shared_nodes)} shared node(s)>")

    @check_keywords
    def run(
        self,
        *,
        executor: str | Executor | None = None,
        max_parallel: int | None = None,
        storage: str | os.PathLike[str] | ArtifactStore | None = None,
        storage_options: Mapping[str, Any] | None = None,
        cache: bool = True,
        project: str | None = None,
        user: str | None = None,
        wait: bool = True,
        on_event: Listener | Iterable[Listener] | None = None,
        progress: bool | None = None,
        echo: bool = True,
    ) -> SweepResult:
        """Run every branch as one plan and gather the results.

        The shared nodes run once; a failed branch stops only its own nodes (the table says why).
        Runs go to the pipeline's project (its name, as for ``Pipeline.run``), so branches cache
        like any node: running the sweep again with one more value runs only the new branch.

        Args:
            executor: as for :meth:`Pipeline.run` (``"local"``, ``"process"``, ``"modal"``, an instance, ...).
            max_parallel: at most this many tasks at once across all branches (so at most that many
                branches running, and Modal containers); None: the executor's own limit.
            storage: as for :meth:`Pipeline.run`.
            storage_options: as for :meth:`Pipeline.run`.
            cache: reuse results of unchanged nodes (each branch's own).
            project: as for :meth:`Pipeline.run`.
            user: as for :meth:`Pipeline.run`.
            wait: False returns at once; then ``result.wait()`` or ``result.cancel()``.
            on_event: callback(s) for every event of the run (branch nodes are ``{node}:{i}``).
            progress: a terminal progress bar (as for :meth:`Pipeline.run`).
            echo: print what cards print, as for :meth:`Pipeline.run`.

        Raises:
            SweepError: ``max_parallel`` is not a positive int.
            ConfigError: an unknown executor name.
        """
        if max_parallel is not None and (isinstance(max_parallel, bool) or not isinstance(max_parallel, int)
                                         or max_parallel < 1):
            raise SweepError(f"max_parallel must be a positive int or None; got {max_parallel!r}.")
        canvases = list(self._canvases)
        listeners = [on_event] if callable(on_event) else list(on_event or [])
        listeners += [c._begin() for c in canvases]
        try:
            run = run_pipeline(
                self.expanded, executor=executor, storage=storage, storage_options=storage_options, cache=cache,
                on_event=listeners, max_workers=max_parallel, project=project, user=user, wait=wait,
                progress=progress, echo=echo, save_pipeline=False,  # the saved graph stays the user's
            )
        except TensorragError as exc:
            for c in canvases:
                c._attach(None, str(exc))
            raise
        result = SweepResult(self, run)
        for c in canvases:
            c._attach(result)
        return result
