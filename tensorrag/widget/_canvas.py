"""``Canvas``: the notebook editor for a :class:`~tensorrag.pipeline.Pipeline` (an anywidget).

The canvas and the pipeline are one object seen twice. A few synced traits carry everything:

* ``graph`` — the ``_pipeline.json`` document. Python assigns it after every pipeline change;
  the browser assigns a new document to edit, and the edit is replayed through the pipeline's
  own methods (:func:`tensorrag.widget._sync.apply_document`), so it gets the same checks and the
  same messages as code. Refused operations land in ``problems`` and in an ``error`` message to
  the browser, and ``graph`` is reset to the pipeline's truth.
* ``palette`` — every card the pipeline can use (``list_cards()`` plus JSON Schema and ports).
* ``status`` / ``previews`` / ``logs`` — the current run, streamed from the engine's events,
  batched and throttled (at least 10 updates a second, at most ``1 / UPDATE_INTERVAL``).
* ``problems`` — ``pipeline.problems()`` plus the errors of the last canvas edit.

Commands (run, run to here, cancel, save, load, layout, image, to_python, runs, open_run) travel
as custom messages (``runs`` answers the history panel; ``open_run`` shows a past run: see
:mod:`tensorrag.widget._history`); runs execute in a background thread so the notebook stays usable.
The card editor's requests (``type: "cards"``) are answered by
:class:`tensorrag.widget._editor.CardEditor`::

    canvas = p.canvas(storage="./.tensorrag")   # or Canvas(p, ...): defaults for every run
    canvas                                       # display it
    canvas.run()                                 # what the Run button does; returns the Run at once
"""

from __future__ import annotations

import base64
import inspect
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from tensorrag.cards.previews import json_safe
from tensorrag.config import get_settings
from tensorrag.errors import RunError, TensorragError
from tensorrag.pipeline import Pipeline
from tensorrag.run import run_pipeline
from tensorrag.storage import open_store
from tensorrag.widget._editor import CardEditor
from tensorrag.widget._floats import mark_document
from tensorrag.widget._history import list_runs, run_previews, run_status
from tensorrag.widget._runs import FIELDS, MAX_LOG_LINES, RunView, hub_for, mark_stale
from tensorrag.widget._source import card_source
from tensorrag.widget._sync import EditError, apply_document, build_palette
from tensorrag.widget._throttle import Throttle

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.run import Run
    from tensorrag.storage import ArtifactStore

__all__ = ["MAX_LOG_LINES", "UPDATE_INTERVAL", "Canvas"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
#: Seconds between two run-state updates sent to the browser (20 Hz; the floor is 10 Hz).
UPDATE_INTERVAL = 0.05
#: Pipelines up to this many nodes send every change at once; larger ones are batched too.
IMMEDIATE_GRAPH_NODES = 200
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
               "svg": "image/svg+xml", "webp": "image/webp"}

_MISSING_BUNDLE = """
export default {
  render({ el }) {
    el.innerHTML = '<div style="padding:12px;border:1px solid #e55;border-radius:6px;font:13px sans-serif">'
      + 'The tensorrag canvas bundle is not built. Run <code>make widget</code> (or '
      + '<code>cd widget &amp;&amp; npm ci &amp;&amp; npm run build</code>) and restart the kernel.</div>';
  },
};
"""

_RUN_OPTIONS = frozenset(inspect.signature(run_pipeline).parameters) - {"pipeline", "wait"}


def _about(content: Any) -> dict[str, Any]:
    """The node/port a command was about, echoed in its error so the browser can place it."""
    if not isinstance(content, dict):
        return {}
    return {k: content[k] for k in ("node_id", "port") if isinstance(content.get(k), str)}


def _asset(name: str, fallback: str) -> str:
    path = STATIC / name
    return str(path) if path.is_file() else fallback


class Canvas(anywidget.AnyWidget):
    """The notebook canvas for ``pipeline`` (see the module docstring).

    Args:
        pipeline: the pipeline to show and edit (a new empty one if omitted).
        height: the canvas height in pixels.
        **run_options: defaults for :meth:`run` and the Run button (``storage``, ``executor``,
            ``cache``, ``max_workers``, ``project``, ``on_event``... as for ``Pipeline.run``).

    Raises:
        TypeError: an unknown run option.
    """

    _esm = _asset("index.js", _MISSING_BUNDLE)
    _css = _asset("index.css", "")

    # The following traits are synced to the browser. Assign new objects: in-place changes do not sync.
    graph = traitlets.Dict().tag(sync=True)
    """The ``_pipeline.json`` document of :attr:`pipeline`."""
    palette: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """Every card the pipeline can use: ``list_cards()`` entries plus ``json_schema``/``inputs``/``outputs``."""
    status = traitlets.Dict().tag(sync=True)
    """The current run: ``{run_id, state, targets, error, execution_time, nodes: {id: {status, message, progress,
    started, finished}}}`` (``started``/``finished``: the node's event timestamps; ``reopened: True`` for a past
    run shown by :meth:`open_run`).

    ``state`` is ``idle``, ``starting``, ``running``, ``completed``, ``failed``, ``cancelled`` or ``invalid``.
    """
    previews = traitlets.Dict().tag(sync=True)
    """Node id -> ``{run_id, status, view, data, error, images}`` for nodes that finished."""
    logs: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """The newest console lines of the current run: ``[{node_id, text, time}]``."""
    problems: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """``pipeline.problems()`` plus the refused operations of the last canvas edit (``source: "edit"``)."""
    height = traitlets.Int(560).tag(sync=True)
    """Canvas height in pixels."""

    def __init__(self, pipeline: Pipeline | None = None, *, height: int = 560, **run_options: Any) -> None:
        unknown = sorted(set(run_options) - _RUN_OPTIONS)
        if unknown:
            raise TypeError(
                f"Unknown run option(s) {', '.join(map(repr, unknown))} for Canvas; "
                f"expected some of: {', '.join(sorted(_RUN_OPTIONS))}."
            )
        self.pipeline: Pipeline = pipeline if pipeline is not None else Pipeline()
        self.run_options: dict[str, Any] = dict(run_options)
        self._sync_lock = threading.RLock()
        self._applying: int | None = None  # thread id replaying a browser edit
        self._pushed: dict[str, Any] | None = None
        self._edit_errors: list[dict[str, Any]] = []
        # Every canvas of this pipeline shows the same run (docs/canvas.md): the hub holds it.
        self._hub = hub_for(self.pipeline)
        self._hub.canvases.add(self)
        self._seen: tuple[RunView | None, dict[str, int]] = (None, {})  # what this canvas has sent
        self._graph_throttle = Throttle(self._push_graph, UPDATE_INTERVAL)
        self._run_throttle = Throttle(self._push_run, UPDATE_INTERVAL)
        super().__init__(height=height)
        with self.hold_sync():
            self.palette = build_palette(self.pipeline.registry)
            self._push_run()
            self._push_graph()
        self._unsubscribe: Callable[[], None] | None = self.pipeline.subscribe(self._on_pipeline_event)
        self._editor: CardEditor | None = None
        self.on_msg(self._on_message)

    @property
    def _view(self) -> RunView:
        return self._hub.view

    # ------------------------------------------------------------------ Python API

    @property
    def last_run(self) -> Run | None:
        """The run started last from this canvas (None before the first)."""
        return self._view.run

    @property
    def editor(self) -> CardEditor:
        """The card editor's kernel side: ``editor.project`` (whose card files), ``editor.request(op, args)``."""
        if self._editor is None:
            self._editor = CardEditor(self)
        return self._editor

    def run(self, **run_options: Any) -> Run:
        """Start a run in a background thread and return its :class:`~tensorrag.run.Run` at once.

        The canvas follows it (node colours, progress, console, previews). Options override the
        canvas defaults; ``targets=[node]`` is what "Run to here" does.

        Raises:
            RunError: a run from this canvas is still going (cancel it first).
            PipelineValidationError: the pipeline (or the part the targets need) is invalid.
        """
        unknown = sorted(set(run_options) - _RUN_OPTIONS)
        if unknown:
            raise TypeError(f"Unknown run option(s) {', '.join(map(repr, unknown))}.")
        current = self._view.run
        if current is not None and not current.done:
            raise RunError(f"Run {current.run_id} is still going; cancel it first (canvas.cancel()).")
        # The canvas shows card output in its own console; echoing it too would print into the cell twice.
        options = {"echo": False, **self.run_options, **run_options}
        extra = options.pop("on_event", None)
        listeners = [extra] if callable(extra) else list(extra or [])
        targets = options.get("targets")
        view = RunView(self._view.previews, list(targets) if targets is not None else None)
        hub = self._hub
        hub.view = view
        try:
            run = run_pipeline(
                self.pipeline, **options, wait=False, on_event=[lambda e: _on_run_event(hub, view, e), *listeners]
            )
        except TensorragError as exc:
            with view.lock:
                view.state, view.error = "invalid", str(exc)
                view.touch("status")
            _changed(hub, final=True)
            raise
        with view.lock:
            view.run = run
            if view.state == "starting":
                view.state = "running"
            view.touch("status")
        _changed(hub, final=True)
        return run

    def cancel(self) -> None:
        """Cancel the running run, if any (nothing new starts; running nodes are abandoned)."""
        run = self._view.run
        if run is not None and not run.done:
            run.cancel()

    def wait(self, timeout: float | None = None) -> Run | None:
        """Wait for the current run to end and for the canvas to show its end; returns it."""
        run = self._view.run
        if run is not None:
            run.wait(timeout)
            self._run_throttle.flush()
        return run

    def save(self, path: str | None = None) -> str:
        """Save the pipeline as ``_pipeline.json``: to ``path``, else to the run storage's project folder.

        Returns:
            Where it was written.
        """
        if path:
            return self.pipeline.save(path)
        store = self._project_store()
        store.write_pipeline(self.pipeline.to_dict())
        return store.uri("_pipeline.json")

    def load(self, path: str | None = None) -> None:
        """Replace the graph with a saved ``_pipeline.json`` (``path``, else the project folder's)."""
        if path:
            doc = Pipeline.load(path, registry=self.pipeline.registry).to_dict()
        else:
            doc = self._project_store().read_pipeline()
        self.pipeline.replace(doc)

    def runs(self, limit: int | None = 50) -> list[dict[str, Any]]:
        """The project's past runs, newest first (what the history panel lists; see ``Project.runs``)."""
        return list_runs(self._project_store(), limit)

    def open_run(self, run_id: str) -> None:
        """Show a past run on every canvas of the pipeline: its node states, durations, previews and errors.

        Raises:
            RunError: a run of this pipeline's canvases is still going.
            ArtifactNotFoundError: no such run in the project's store.
        """
        current = self._view.run
        if current is not None and not current.done:
            raise RunError(f"Run {current.run_id} is still going; wait for it or cancel it before opening another.")
        store = self._project_store()
        manifest = store.read_run(run_id)
        views = {n.id: n.card.output_view_type for n in self.pipeline if n.card is not None}
        view = RunView()
        status = run_status(manifest)
        view.state, view.execution_time, view.nodes = status["state"], status["execution_time"], status["nodes"]
        view.error = status["error"]
        view.previews = run_previews(manifest, store, views, IMAGE_TYPES)
        view.manifest = manifest
        view.touch(*FIELDS)
        self._hub.view = view
        _changed(self._hub, final=True)

    def layout(self) -> None:
        """Ask the displayed canvas to lay the graph out (left to right); positions come back as moves."""
        self.send({"type": "layout"})

    def to_python(self) -> str:
        """Python source that rebuilds the pipeline drawn on the canvas (see ``Pipeline.to_python``)."""
        return self.pipeline.to_python()

    def sync(self) -> None:
        """Send the whole state again now: graph, palette, run state (e.g. for a browser that reconnected)."""
        with self._sync_lock:
            self.palette = build_palette(self.pipeline.registry)
        self._graph_throttle.flush()
        self._run_throttle.flush()
        with self._sync_lock:
            self.send_state(["graph", "palette", "status", "previews", "logs", "problems"])

    def close(self) -> None:
        """Stop following the pipeline and close the widget."""
        hub = getattr(self, "_hub", None)
        if hub is not None:
            hub.canvases.discard(self)  # a closed canvas shows no more runs
        unsubscribe = getattr(self, "_unsubscribe", None)  # None when __init__ failed early
        if unsubscribe is not None:
            unsubscribe()
            self._unsubscribe = None
        for throttle in (getattr(self, "_graph_throttle", None), getattr(self, "_run_throttle", None)):
            if throttle is not None:
                throttle.cancel()
        super().close()

    # ------------------------------------------------------------------ pipeline -> browser

    def _on_pipeline_event(self, event: dict[str, Any]) -> None:
        if mark_stale(self._view, self.pipeline, event):  # every canvas of the pipeline hears it: idempotent
            self._run_throttle.request()
        if self._applying == threading.get_ident():
            return  # replaying a browser edit: one push at the end
        if event.get("op") == "register":
            with self._sync_lock:
                self.palette = build_palette(self.pipeline.registry)
        self._edit_errors = []  # a change made in code supersedes the last canvas edit's errors
        if event.get("op") == "load" or len(self.pipeline) <= IMMEDIATE_GRAPH_NODES:
            self._graph_throttle.flush()
        else:
            self._graph_throttle.request()

    def _push_graph(self) -> None:
        with self._sync_lock:
            doc = mark_document(self.pipeline.to_dict())  # JavaScript reads 1.0 as 1: say which are floats
            problems = [*self._edit_errors, *self.pipeline.problems()]
            self._pushed = doc
            with self.hold_sync():
                self.graph = doc
                self.problems = problems

    # ------------------------------------------------------------------ browser -> pipeline

    @traitlets.observe("graph")
    def _on_graph(self, change: dict[str, Any]) -> None:
        if change["new"] is self._pushed:
            return
        self._apply(change["new"])

    def _apply(self, doc: dict[str, Any]) -> list[EditError]:
        with self._sync_lock:
            self._applying = threading.get_ident()
            try:
                result = apply_document(self.pipeline, doc)
            finally:
                self._applying = None
            self._edit_errors = [e.to_dict() for e in result.errors]
            self._graph_throttle.flush()  # the truth; not echoed when it equals what the browser sent
        if result.errors:
            self._notify(
                "\n".join(e.message for e in result.errors), op="edit", errors=[e.to_dict() for e in result.errors]
            )
        return result.errors

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "cards":
            self.editor.handle(content)  # answers with its own reply, errors included
            return
        try:
            if kind == "run":
                self.run()
            elif kind == "run_to":
                self.run(targets=[content["node_id"]])
            elif kind == "cancel":
                self.cancel()
            elif kind == "save":
                self.send({"type": "saved", "where": self.save(content.get("path"))})
            elif kind == "load":
                self.load(content.get("path"))
                self.send({"type": "loaded"})
            elif kind == "image":
                self._send_image(str(content.get("node_id")), str(content.get("port")))
            elif kind == "to_python":
                self.send({"type": "python", "source": self.to_python()})
            elif kind == "sync":
                self.sync()
            elif kind == "card_source":
                self.send(card_source(self.pipeline, str(content.get("node_id"))))
            elif kind == "runs":
                self.send({"type": "runs", "runs": json_safe(self.runs())})
            elif kind == "open_run":
                self.open_run(str(content.get("run_id")))
                self.send({"type": "opened_run", "run_id": content.get("run_id")})
            else:
                self._notify(f"Unknown canvas command {kind!r}.", op=str(kind))
        except (TensorragError, FileNotFoundError, KeyError) as exc:
            self._notify(str(exc), op=str(kind), **_about(content))
        except Exception as exc:  # never let a command kill the comm; say what happened
            log.exception("canvas command %r failed", kind)
            self._notify(f"{type(exc).__name__}: {exc}", op=str(kind), **_about(content))

    def _notify(self, message: str, **extra: Any) -> None:
        self.send({"type": "error", "message": message, **extra})

    def _send_image(self, node_id: str, port: str) -> None:
        run = self._view.run
        if run is None and self._view.manifest is not None:  # a past run on show: its manifest has the refs
            self._send_stored_image(node_id, port)
            return
        if run is None:
            raise RunError("Nothing has run yet.")
        ref = run.outputs(node_id).get(port)
        if ref is None:
            raise RunError(f"Node {node_id!r} has no output {port!r} in run {run.run_id}.")
        mime = IMAGE_TYPES.get(str(ref.get("ext", "")).lower(), "application/octet-stream")
        data = run.output(node_id, port)
        if not isinstance(data, (bytes, bytearray)):
            raise RunError(f"{node_id}.{port} is not a byte output.")
        encoded = base64.b64encode(bytes(data)).decode("ascii")
        self.send({"type": "image", "node_id": node_id, "port": port, "mime": mime, "data": encoded})

    def _send_stored_image(self, node_id: str, port: str) -> None:
        manifest = self._view.manifest or {}
        rec = (manifest.get("nodes") or {}).get(node_id) or {}
        ref = (rec.get("outputs") or {}).get(port)
        if not isinstance(ref, dict):
            raise RunError(f"Node {node_id!r} has no output {port!r} in run {manifest.get('run_id')}.")
        data = self._project_store().get(ref)
        if not isinstance(data, (bytes, bytearray)):
            raise RunError(f"{node_id}.{port} is not a byte output.")
        mime = IMAGE_TYPES.get(str(ref.get("ext", "")).lower(), "application/octet-stream")
        encoded = base64.b64encode(bytes(data)).decode("ascii")
        self.send({"type": "image", "node_id": node_id, "port": port, "mime": mime, "data": encoded})

    def _project_store(self) -> ArtifactStore:
        project_store = getattr(self.pipeline.project, "store", None)
        if project_store is not None:
            return project_store  # type: ignore[no-any-return]
        root, project, user = self._project_target()
        return root.project(project, user)

    def _project_target(self) -> tuple[ArtifactStore, str, str]:
        """(storage root, project, user) of the folder this canvas saves to and runs in, from its run options."""
        opts = self.run_options
        settings = get_settings()
        root = open_store(opts.get("storage"), **dict(opts.get("storage_options") or {}))
        return root, opts.get("project") or settings.project or self.pipeline.name, opts.get("user") or settings.user

    def _refresh_palette(self) -> None:
        """Send the palette again and the graph's problems (a card type came, changed or went)."""
        with self._sync_lock:
            self.palette = build_palette(self.pipeline.registry)
        self._graph_throttle.flush()

    # ------------------------------------------------------------------ run events -> browser

    def _on_run_event(self, view: RunView, event: dict[str, Any]) -> None:
        """An engine event of ``view``'s run, as if from the engine (the benchmark feeds events this way)."""
        _on_run_event(self._hub, view, event)

    def _push_run(self) -> None:
        view = self._view
        with view.lock:
            run = view.run
            if run is not None and view.pending:
                for nid in sorted(view.pending):
                    view.previews[nid] = self._preview_entry(run, nid, view.nodes.get(nid, {}).get("status", ""))
                view.pending.clear()
                view.touch("previews")
            seen_view, seen = self._seen
            dirty = {f for f in FIELDS if seen_view is not view or seen.get(f) != view.versions[f]}
            self._seen = (view, dict(view.versions))
            status = view.to_status() if "status" in dirty else None
            logs = list(view.logs) if "logs" in dirty else None
            previews = dict(view.previews) if "previews" in dirty else None
        if not dirty:
            return
        with self._sync_lock, self.hold_sync():
            if status is not None:
                self.status = status
            if logs is not None:
                self.logs = logs
            if previews is not None:
                self.previews = previews

    def _preview_entry(self, run: Run, node_id: str, status: str) -> dict[str, Any]:
        node = self.pipeline.nodes.get(node_id)
        view_type = node.card.output_view_type if node is not None and node.card is not None else "json"
        entry: dict[str, Any] = {
            "run_id": run.run_id, "status": status, "view": view_type, "data": None, "error": None, "images": [],
        }
        try:
            if status == "failed":
                entry["error"] = json_safe(run.error(node_id))
            else:
                entry["data"] = json_safe(run.preview(node_id))
                entry["images"] = [
                    {"port": port, "ext": ref.get("ext")}
                    for port, ref in run.outputs(node_id).items()
                    if ref.get("type") == "bytes" and str(ref.get("ext", "")).lower() in IMAGE_TYPES
                ]
        except TensorragError as exc:  # pragma: no cover - the record exists once the node is terminal
            entry["error"] = {"type": type(exc).__name__, "message": str(exc), "traceback": ""}
        return entry


def _on_run_event(hub: Any, view: RunView, event: dict[str, Any]) -> None:
    """An engine event of ``view``'s run: record it, and tell every canvas of the pipeline."""
    final = view.apply(event)
    if view is hub.view:  # else a run the canvases no longer show
        _changed(hub, final)


def _changed(hub: Any, final: bool) -> None:
    for canvas in list(hub.canvases):
        if final:
            canvas._run_throttle.flush()
        else:
            canvas._run_throttle.request()
