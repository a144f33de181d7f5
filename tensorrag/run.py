"""``Run``: one execution of a pipeline — its status, outputs, previews, logs and events.

``Pipeline.run(...)`` (= :func:`run_pipeline`) composes the layers: it opens the store, picks
the executor, hands both to the engine and wraps the resulting state::

    run = p.run(executor="local", storage=None, cache=True, on_event=print)
    run.status                       # {"load": "completed", "split": "cached", ...}
    run.ok                           # every selected node completed or cached
    run.output("split", "train_dataset")   # the artifact, loaded
    run.preview("evaluate"); run.logs("train"); run.error("train")
    run.resume()                     # re-run: only failed/skipped/changed nodes execute
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tensorrag._console import RunConsole
from tensorrag.config import get_settings
from tensorrag.errors import NodeFailedError, RunError, StorageError, UnsafePathError, check_keywords
from tensorrag.executors import Engine, Executor, get_executor, liveness
from tensorrag.executors.state import now_iso
from tensorrag.pipeline._document import shared_dict
from tensorrag.storage import ArtifactStore, ProjectStore, open_store
from tensorrag.storage.unsaved import ManifestSave, save_run_manifest

if TYPE_CHECKING:
    from tensorrag.executors.engine import RunState
    from tensorrag.pipeline import Pipeline

__all__ = ["Run", "new_run_id", "run_pipeline"]

Listener = Callable[[dict[str, Any]], None]
log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, unique run id: ``{UTC timestamp}-{6 hex}``."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{os.urandom(3).hex()}"


@check_keywords
def run_pipeline(
    pipeline: Pipeline,
    *,
    executor: str | Executor | None = None,
    storage: str | os.PathLike[str] | ArtifactStore | None = None,
    storage_options: Mapping[str, Any] | None = None,
    cache: bool = True,
    targets: Iterable[str] | None = None,
    fail_fast: bool = False,
    on_event: Listener | Iterable[Listener] | None = None,
    max_workers: int | None = None,
    project: str | None = None,
    user: str | None = None,
    wait: bool = True,
    progress: bool | None = None,
    echo: bool = True,
    rerun: Iterable[str] | None = None,
    save_pipeline: bool = True,
) -> Run:
    """Run ``pipeline`` and return its :class:`Run`.

    Args:
        pipeline: what to run (validated first; nothing runs if it is invalid).
        executor: ``"local"`` (default, ``TENSORRAG_EXECUTOR``), another registered name, or an
            :class:`~tensorrag.executors.Executor` instance (left running afterwards).
        storage: None (env settings, else ``./.tensorrag``), a path or fsspec URL, or a store
            from :func:`tensorrag.storage.open_store`.
        storage_options: fsspec options for a URL ``storage`` (e.g. S3 endpoint and keys).
        cache: reuse results of nodes whose card, config and inputs are unchanged.
        targets: run only these nodes and what they need.
        fail_fast: stop starting nodes after the first failure (running ones finish).
        on_event: callback(s) receiving every event dict (design.md §4), in order.
        max_workers: parallelism: the workers of a named ``executor``; with an Executor instance,
            at most this many of its tasks at once (never more than its own ``max_workers``).
        project: project folder for artifacts and runs (default: ``TENSORRAG_PROJECT``, else the
            pipeline's name).
        user: user folder (default: ``TENSORRAG_USER`` / ``DEFAULT_USER_ID`` / ``"default"``).
        wait: block until the run ends; ``False`` starts it in a background thread.
        progress: a terminal progress bar (default: only when stderr is a terminal, not in notebooks).
        echo: print what cards print or log, live, as ``[node_id] line`` on ``sys.stdout`` (the
            terminal, the notebook cell, a log file), and each failed node's error on ``sys.stderr``
            at the end. ``False`` prints nothing; ``run.logs(node)`` has the output either way.
        rerun: execute these nodes and everything downstream of them even if cached (their
            ancestors may still come from the cache); without ``targets``, only they, their
            descendants and what those need are run (``tensorrag run --from NODE``).
        save_pipeline: save the graph as the project's ``_pipeline.json`` (and a ``_history/``
            version) before the run; ``False`` for one-off changes (``tensorrag run --param``).
            The run's manifest records the graph that ran either way.

    Raises:
        PipelineValidationError: the pipeline (or the part ``targets`` needs) is invalid.
        UnknownNodeError: a ``targets`` or ``rerun`` node that is not in the pipeline.
        ArgumentError: a ``rerun`` node outside the part ``targets`` selects.
        ConfigError: an unknown executor name or a bad setting.
        UnsafePathError: a project or user name that is not a safe folder name.
    """
    settings = get_settings()
    root = open_store(storage, **dict(storage_options or {}))
    project_store = getattr(pipeline.project, "store", None)
    if project_store is None and project is None and user is None and isinstance(root, ProjectStore):
        project_store = root  # e.g. storage=run.store: already {user}/workspace/{project}; don't nest another
    store = project_store or root.project(project or settings.project or pipeline.name, user or settings.user)
    owned = not isinstance(executor, Executor)
    opts = {"max_workers": max_workers} if max_workers is not None else {}
    exe = get_executor(executor, **opts)
    listeners = [on_event] if callable(on_event) else list(on_event or [])
    run = Run(pipeline, store, run_id=new_run_id(), options={
        "executor": executor, "storage": storage, "storage_options": storage_options, "cache": cache,
        "targets": list(targets) if targets is not None else None, "fail_fast": fail_fast, "on_event": on_event,
        "max_workers": max_workers, "project": project, "user": user, "progress": progress,
        "echo": echo,
        "rerun": None if rerun is None else [rerun] if isinstance(rerun, str) else list(rerun),  # a str: one node
        "save_pipeline": save_pipeline,
    })
    engine = Engine(
        pipeline, exe, store, run_id=run.run_id, cache=cache, targets=targets, fail_fast=fail_fast,
        rerun=run._options["rerun"], listeners=[*listeners], max_workers=max_workers,
    )
    graph = shared_dict(pipeline)  # recorded in the manifest; the same dict until the next edit
    run._attach(engine, graph)
    bar = _progress_on(settings.progress if progress is None else progress)
    console = RunConsole(len(engine.state.nodes), progress=bar, echo=echo)
    if console.enabled:
        engine.listeners.append(console)
    if save_pipeline:
        _save_graph(store, graph)
    # The manifest exists from the start (status "running"); written before returning when the caller gets the handle.
    record = _RunRecord(store, engine.state, graph, now=not wait)

    def work() -> None:
        try:
            console.start()
            try:
                engine.run()
            finally:
                console.stop()
            console.report({nid: rec.error for nid, rec in engine.state.nodes.items() if rec.error})
        finally:
            if owned:
                exe.shutdown(wait=False)
            try:
                run._saved = record.close()  # never raises: keeps a local copy when the store refuses
            finally:
                run._done.set()

    if wait:
        work()
    else:
        threading.Thread(target=work, name=f"tensorrag-run-{run.run_id}", daemon=True).start()
    return run


#: Least seconds between two manifest rewrites while a run goes on (bounds writes on big pipelines).
_MIN_GAP_S = 1.0


class _RunRecord:
    """Writes ``runs/{run_id}.json``: as it starts (``running``, with its owner), as nodes change, and at the end.

    The first manifest is written before ``run(wait=False)`` returns; for a run the caller waits on,
    the process's one heartbeat thread (:class:`_Beats`) writes it as soon as the run is registered
    (a run that ends before it gets there has only its final one). That thread then looks every
    :data:`_MIN_GAP_S` seconds and rewrites the manifest when nodes changed, and at least every
    :data:`~tensorrag.executors.liveness.HEARTBEAT_S` (the heartbeat), so the engine never waits on
    storage and pays nothing per event. A killed run's manifest so shows what had completed. A
    ``memory://`` store lives and dies with this process, so nobody else can watch it: there only the
    final manifest is written.
    """

    def __init__(self, store: ArtifactStore, state: RunState, graph: dict[str, Any], *, now: bool = True) -> None:
        self._store, self._state, self._graph = store, state, graph
        state.owner = liveness.owner_record()
        self._lock = threading.Lock()  # a beat and the final write never overlap
        self._closed = store.protocol == "memory"
        self._seen, self._last, self._written = len(state.events), time.monotonic(), False
        if self._closed:
            return
        if now:  # the caller may read it as soon as it holds the Run
            self.beat()
        _BEATS.add(self)  # else the heartbeat thread writes the first manifest at once, off the run's path

    def _write(self) -> None:
        self._state.heartbeat_at = now_iso()
        # Node states only while running; the final write (close) adds the events.
        self._store.write_run(self._state.run_id, self._state.to_manifest(self._graph, events=False))

    def beat(self) -> None:
        """Rewrite the manifest if nodes changed or a heartbeat is due (called by the heartbeat thread)."""
        with self._lock:
            now, count = time.monotonic(), len(self._state.events)
            due = not self._written or count != self._seen or now - self._last >= liveness.HEARTBEAT_S
            if self._closed or not due:
                return
            try:
                self._write()
                self._written = True
            except Exception:  # a missed beat is retried at the next one; the final write reports errors
                log.debug("heartbeat of run %s failed", self._state.run_id, exc_info=True)
            self._seen, self._last = count, now

    def close(self) -> ManifestSave:
        """Stop the heartbeat and write the final manifest (never raises: see ``save_run_manifest``)."""
        with self._lock:
            self._closed = True
        _BEATS.discard(self)
        self._state.heartbeat_at = now_iso()
        return save_run_manifest(self._store, self._state.run_id, self._state.to_manifest(self._graph))


class _Beats:
    """The process's one heartbeat thread for every running run's record (a thread per run costs its start)."""

    def __init__(self) -> None:
        self._records: set[_RunRecord] = set()
        self._lock = threading.Lock()
        self._news = threading.Event()  # a run started: write its first manifest now, not at the next beat
        self._thread: threading.Thread | None = None

    def add(self, record: _RunRecord) -> None:
        with self._lock:
            self._records.add(record)
            if self._thread is None or not self._thread.is_alive():  # also after a fork, which keeps no threads
                self._thread = threading.Thread(target=self._beat, name="tensorrag-heartbeat", daemon=True)
                self._thread.start()
        self._news.set()

    def discard(self, record: _RunRecord) -> None:
        with self._lock:
            self._records.discard(record)

    def _beat(self) -> None:
        while True:
            self._news.wait(_MIN_GAP_S)
            self._news.clear()
            with self._lock:
                records = list(self._records)
            for record in records:
                record.beat()


_BEATS = _Beats()


def _save_graph(store: ArtifactStore, doc: dict[str, Any]) -> None:
    try:
        try:
            if store.read_pipeline(shared=True) == doc:  # only compared: the shared copy will do
                return
        except FileNotFoundError:
            pass
        except StorageError as exc:  # e.g. a corrupt saved graph: it must not block the run; this save replaces it
            log.warning("replacing the unreadable saved pipeline: %s", exc)
        store.write_pipeline(doc)
    except UnsafePathError:
        raise  # e.g. a symlink out of the store: a setup error, not an outage
    except StorageError as exc:
        # A failing store must not stop the run before it starts: nodes report it, cached ones still load.
        warnings.warn(f"Could not save the pipeline before the run: {exc}", RuntimeWarning, stacklevel=3)


class Run:
    """The handle of one run (see the module docstring). Thread-safe to read while it runs."""

    def __init__(self, pipeline: Pipeline, store: ArtifactStore, *, run_id: str, options: dict[str, Any]) -> None:
        self.pipeline = pipeline
        self.store = store
        self.run_id = run_id
        self._options = options
        self._engine: Engine | None = None
        self._done = threading.Event()
        self._saved = ManifestSave()

    def _attach(self, engine: Engine, graph: dict[str, Any]) -> None:
        self._engine = engine
        self._graph = graph

    @property
    def _state(self) -> RunState:
        assert self._engine is not None
        return self._engine.state

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> dict[str, str]:
        """Node id -> ``pending | running | completed | cached | failed | skipped``."""
        return {nid: rec.status for nid, rec in self._state.nodes.items()}

    @property
    def state(self) -> str:
        """The run's own status: ``running``, ``completed``, ``failed`` or ``cancelled``."""
        return self._state.status

    @property
    def ok(self) -> bool:
        """True when the run ended and every selected node completed or was cached (disabled ones aside)."""
        return self._done.is_set() and self._state.status == "completed"

    @property
    def done(self) -> bool:
        """True once the run reached a terminal state."""
        return self._done.is_set()

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far, in order (a copy)."""
        return list(self._state.events)

    @property
    def execution_time(self) -> float | None:
        """Wall time of the run in seconds (None while running)."""
        return self._state.execution_time

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run ends (for ``wait=False`` runs).

        Raises:
            TimeoutError: it did not end within ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"Run {self.run_id} still running after {timeout} s.")
        return self

    def cancel(self) -> Run:
        """Stop the run: nothing new starts, running nodes are abandoned, the run ends ``cancelled``."""
        if self._engine is not None:
            self._engine.cancel()
        return self

    # ------------------------------------------------------------------ per node

    def _record(self, node_id: str) -> Any:
        try:
            return self._state.nodes[node_id]
        except KeyError:
            known = list(self._state.nodes)
            close = difflib.get_close_matches(node_id, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Nodes in this run: {', '.join(known)}."
            raise RunError(f"Run {self.run_id} has no node {node_id!r}.{hint}") from None

    def outputs(self, node_id: str) -> dict[str, dict[str, Any]]:
        """Output port -> artifact ref (``{"type", "uri", "ext", "sha256"}``) of a node."""
        return dict(self._record(node_id).outputs)

    def output(self, node_id: str, port: str | None = None) -> Any:
        """Load a node's output artifact (``port`` may be omitted when the node has one output).

        Raises:
            RunError: unknown node or port.
            NodeFailedError: the node failed, was skipped or has not finished.
        """
        rec = self._record(node_id)
        if rec.status not in ("completed", "cached"):
            if rec.error:
                why = f": {rec.error['type']}: {rec.error['message']}"
            else:
                why = f" ({rec.message})" if rec.message else ""
            raise NodeFailedError(f"Node {node_id!r} has no outputs: it is {rec.status}{why}.")
        ports = {**rec.outputs, **rec.extras}
        if port is None:
            if len(rec.outputs) != 1:
                raise RunError(f"Node {node_id!r} has outputs {sorted(rec.outputs)}; name the one you want.")
            port = next(iter(rec.outputs))
        if port not in ports:
            raise RunError(f"Node {node_id!r} has no output {port!r}; it has {sorted(ports)}.")
        return self.store.get(ports[port])

    def preview(self, node_id: str) -> dict[str, Any] | None:
        """The node's preview (original formats: table / metrics / model_summary), or None.

        On ``memory://`` with the local executor the preview is made on the first call (nothing
        would keep it, and most nodes are never looked at), then kept.
        """
        rec = self._record(node_id)
        if rec.preview is None and self._engine is not None:
            return self._engine.preview(node_id)
        return rec.preview

    def output_type(self, node_id: str) -> str:
        """The node's preview format (its card's ``output_view_type``: table, metrics, model_summary, ...)."""
        return str(self._record(node_id).output_type)

    def logs(self, node_id: str) -> str:
        """Everything the node's card printed or logged."""
        return str(self._record(node_id).logs)

    def error(self, node_id: str) -> dict[str, str] | None:
        """``{"type", "message", "traceback"}`` of a failed node, else None."""
        return self._record(node_id).error

    def timings(self, node_id: str) -> dict[str, float]:
        """Seconds spent per phase (``execute``, ``preview``, ``total``) of a node that ran."""
        return dict(self._record(node_id).timings)

    # ------------------------------------------------------------------ follow-ups

    def resume(self, **overrides: Any) -> Run:
        """Run the pipeline again with the same options: unchanged nodes are cached, the rest execute.

        A run made with ``rerun`` resumes over the same nodes, without forcing them again.
        """
        options = {**self._options, "cache": True, "rerun": None}
        if self._options.get("rerun") and self._options.get("targets") is None:
            options["targets"] = list(self._state.nodes)  # the part the re-run selected
        options.update(overrides)
        if self.done and self._saved.error is not None:
            try:
                self.save_manifest()  # the store is back (or not: the new run reports it)
            except StorageError:
                pass
        return run_pipeline(self.pipeline, **options)

    def raise_for_status(self) -> Run:
        """Raise :class:`NodeFailedError` naming the first failed node, unless the run is ok."""
        if self.ok:
            return self
        for nid, rec in self._state.nodes.items():
            if rec.status == "failed" and rec.error:
                raise NodeFailedError(f"Node {nid!r} failed: {rec.error['type']}: {rec.error['message']}")
        raise NodeFailedError(f"Run {self.run_id} ended {self.state}.")

    def manifest(self) -> dict[str, Any]:
        """The run manifest, as written to ``runs/{run_id}.json``."""
        return self._state.to_manifest(self._graph)

    @property
    def manifest_uri(self) -> str | None:
        """Where the manifest was saved in the store (None while running, or when the store refused it)."""
        return self._saved.uri

    @property
    def manifest_error(self) -> StorageError | None:
        """The store's typed error when the manifest could not be saved there (see :meth:`save_manifest`)."""
        return self._saved.error

    @property
    def manifest_fallback(self) -> str | None:
        """The local copy of a manifest the store refused (``~/.cache/tensorrag/unsaved-runs/{run_id}.json``)."""
        return self._saved.fallback

    def save_manifest(self) -> str:
        """Write the manifest to the store now (after it failed at the end of the run); return its uri.

        The local copy from :attr:`manifest_fallback` is removed once the store has it.

        Raises:
            StorageError: the store still refuses it (typed: unreachable, no access, full).
        """
        uri = self.store.write_run(self.run_id, self.manifest())
        if self._saved.fallback:
            try:
                os.remove(self._saved.fallback)
            except OSError:
                pass
        self._saved = ManifestSave(uri=uri)
        return uri

    def summary(self) -> str:
        """A small table of node states and timings."""
        width = max([4, *(len(n) for n in self._state.nodes)])
        lines = [f"{'node':<{width}}  {'status':<9}  seconds"]
        for nid, rec in self._state.nodes.items():
            secs = rec.timings.get("total")
            lines.append(f"{nid:<{width}}  {rec.status:<9}  {'' if secs is None else f'{secs:.3f}'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for s in self.status.values():
            counts[s] = counts.get(s, 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        return f"<Run {self.run_id} {self.state}: {parts}>"


def _progress_on(mode: str | bool) -> bool:
    """The bar: ``on``/``off``, else auto: only when stderr is a terminal and never in notebooks."""
    if mode in ("on", True):
        return True
    if mode in ("off", False):
        return False
    return sys.stderr.isatty() and "ipykernel" not in sys.modules
