"""What a sweep gives back: one :class:`Branch` per config, the table of them, and the best one."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tensorrag.errors import RunError, TensorragError, _close_matches

if TYPE_CHECKING:
    import pandas as pd

    from tensorrag.pipeline import Pipeline
    from tensorrag.run import Run
    from tensorrag.sweep._sweep import Sweep

__all__ = ["Branch", "SweepResult"]


class Branch:
    """One config of a sweep, as it ran: its values, status, metrics, and its nodes' outputs.

    Attributes:
        index: the branch number (its nodes are ``{node}:{index}`` in :attr:`run`).
        config: ``{space key: value}`` (``{"define.model_type": "ridge", ...}``).
        run: the sweep's one :class:`~tensorrag.run.Run` (every branch's nodes are in it).
        node_ids: the pipeline's node id -> this branch's node id in :attr:`run` (shared nodes map to themselves).
        status: ``completed``, ``cached`` (every node of it came from the cache), ``failed``, ``skipped``
            (a shared node it needs failed), ``cancelled``, or ``running`` / ``pending`` while the run goes on.
        error: why it failed (``"node: Type: message"``), or why a metric could not be read; else None.
        metrics: metric name (``node.port.key``) -> number (NaN when it could not be read).
        time: seconds its own nodes ran (0 for cached ones).
    """

    def __init__(self, index: int, config: dict[str, Any], run: Run, node_ids: dict[str, str]) -> None:
        self.index, self.config, self.run, self.node_ids = index, config, run, node_ids
        self.status, self.time = "pending", 0.0
        self.error: str | None = None
        self.metrics: dict[str, float] = {}

    @property
    def outputs(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Node id (the pipeline's) -> output port -> artifact ref, for each node of the branch that has outputs."""
        return {nid: self.run.outputs(rid) for nid, rid in self.node_ids.items() if self.run.outputs(rid)}

    def output(self, node_id: str, port: str | None = None) -> Any:
        """Load an output of this branch's copy of ``node_id`` (see :meth:`tensorrag.run.Run.output`).

        Raises:
            RunError: unknown node (with did-you-mean) or port.
            NodeFailedError: that node failed or was skipped in this branch.
        """
        if node_id not in self.node_ids:
            close = _close_matches(node_id, sorted(self.node_ids))
            hint = f" Did you mean {close[0]!r}?" if close else f" It has: {', '.join(self.node_ids)}."
            raise RunError(f"Branch {self.index} has no node {node_id!r}.{hint}")
        return self.run.output(self.node_ids[node_id], port)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        scores = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        return f"<Branch {self.index} {self.status}: {values}{' -> ' + scores if scores else ''}>"


class SweepResult:
    """The result of :meth:`Sweep.run`: :attr:`table`, :attr:`best`, :attr:`best_pipeline`, :attr:`branches`.

    With ``wait=False`` it comes back while the run goes on: :meth:`wait` for it, :meth:`cancel` it.
    """

    def __init__(self, sweep: Sweep, run: Run) -> None:
        self.sweep, self.run = sweep, run
        self._branches: list[Branch] | None = None

    # ------------------------------------------------------------------ the run

    def wait(self, timeout: float | None = None) -> SweepResult:
        """Block until every branch ended (``wait=False`` sweeps).

        Raises:
            TimeoutError: it did not end within ``timeout`` seconds.
        """
        self.run.wait(timeout)
        return self

    def cancel(self) -> SweepResult:
        """Stop every branch: nothing new starts, running tasks (Modal calls too) are cancelled."""
        self.run.cancel()
        return self

    @property
    def done(self) -> bool:
        """True once every branch ended."""
        return self.run.done

    @property
    def ok(self) -> bool:
        """True when every branch completed (or came from the cache)."""
        return self.run.ok

    # ------------------------------------------------------------------ branches

    @property
    def branches(self) -> list[Branch]:
        """One :class:`Branch` per config, in branch order (read again while the run goes on)."""
        if self._branches is not None:
            return self._branches
        branches = [self._branch(i, values) for i, values in enumerate(self.sweep.configs)]
        if self.run.done:
            self._branches = branches  # final: read the metrics once
        return branches

    def _branch(self, index: int, values: dict[str, Any]) -> Branch:
        run, sweep = self.run, self.sweep
        ids = sweep.node_ids(index)
        branch = Branch(index, dict(values), run, ids)
        own = [ids[n] for n in sweep.branch_nodes]
        states = [run.status[nid] for nid in own]
        branch.time = round(sum(run.timings(nid).get("total", 0.0) for nid in own), 6)
        failed = next((nid for nid in own if run.status[nid] == "failed"), None)
        if all(s == "cached" for s in states):
            branch.status = "cached"
        elif all(s in ("completed", "cached") for s in states):
            branch.status = "completed"
        elif run.state == "cancelled":
            branch.status, branch.error = "cancelled", "the sweep was cancelled"
        elif failed is not None:
            branch.status, branch.error = "failed", _why(run, failed, failed.rpartition(":")[0])
        elif "skipped" in states:
            shared = next((n for n in sweep.shared_nodes if run.status.get(n) == "failed"), None)
            branch.status = "skipped"
            branch.error = f"skipped: shared {_why(run, shared, shared)}" if shared else "skipped"
        else:
            branch.status = "running" if "running" in states else "pending"
        for metric in sweep.metrics:
            branch.metrics[metric.name] = math.nan
            if branch.status not in ("completed", "cached"):
                continue
            try:
                value = branch.output(metric.node_id, metric.port)
                branch.metrics[metric.name] = _score(value, metric.key, metric.name)
            except TensorragError as exc:
                branch.error = branch.error or f"metric {metric.name}: {exc}"
        return branch

    # ------------------------------------------------------------------ summaries

    @property
    def table(self) -> pd.DataFrame:
        """One row per branch (index: the branch number): its values, metrics, ``status``, ``time`` and ``error``."""
        import pandas as pd

        rows = [{**b.config, **b.metrics, "status": b.status, "time": b.time, "error": b.error}
                for b in self.branches]
        columns = [*self.sweep.keys, *(m.name for m in self.sweep.metrics), "status", "time", "error"]
        frame = pd.DataFrame(rows, columns=columns)
        frame.index.name = "branch"
        return frame

    @property
    def best(self) -> Branch:
        """The branch with the best objective (the first metric; ``mode`` max or min; ties: the lower number).

        Raises:
            RunError: the sweep has no metric, or no branch has a number for it (the table says why).
        """
        if not self.sweep.metrics:
            raise RunError("This sweep has no metric, so no branch is best: pass metric=(node, port, key).")
        name = self.sweep.metrics[0].name
        scored = [b for b in self.branches if not math.isnan(b.metrics.get(name, math.nan))]
        if not scored:
            why = next((b.error for b in self.branches if b.error), None) or "no branch has finished"
            raise RunError(f"No branch of the sweep has a value for {name!r} ({why}). See result.table.")
        sign = 1.0 if self.sweep.mode == "max" else -1.0
        return max(scored, key=lambda b: (sign * b.metrics[name], -b.index))

    @property
    def best_pipeline(self) -> Pipeline:
        """A copy of the swept pipeline with the best branch's values filled in (run it, save it, show it).

        Raises:
            RunError: as :attr:`best`.
        """
        return self.sweep.pipeline_for(self.best.config)

    def canvas(self, **options: Any) -> Any:
        """Show this result on the notebook canvas (see :meth:`tensorrag.sweep.Sweep.canvas`): table, best, statuses."""
        from tensorrag.widget import SweepCanvas

        return SweepCanvas(self.sweep, result=self, **options)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for b in self.branches:
            counts[b.status] = counts.get(b.status, 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        return f"<SweepResult {len(self.sweep.configs)} branches: {parts}>"


def _why(run: Run, run_id: str, node_id: str) -> str:
    err = run.error(run_id) or {}
    return f"{node_id}: {err.get('type', 'Error')}: {err.get('message', '')}"


def _score(value: Any, key: str | None, name: str) -> float:
    """The metric's number in an output: ``value[key]`` (dots go into nested dicts), or ``value`` itself."""
    if key is not None:
        if not isinstance(value, dict):
            raise RunError(f"the output is a {type(value).__name__}, not a dict with key {key!r}.")
        found: Any = value
        if key in value:
            found = value[key]
        else:
            for part in key.split("."):
                if not isinstance(found, dict) or part not in found:
                    close = _close_matches(key, sorted(map(str, value)))
                    hint = f"did you mean {close[0]!r}?" if close else f"it has: {', '.join(map(str, value))}."
                    raise RunError(f"no key {key!r} in the output; {hint}")
                found = found[part]
        value = found
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RunError(f"{name} is {type(value).__name__} {value!r}, not a number.")
    return float(value)
