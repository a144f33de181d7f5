"""The run state the canvases of one pipeline share: ``p.canvas()`` twice shows one run, not two.

A :class:`RunHub` per pipeline holds the :class:`RunView` of the current run (whichever canvas
started it); every canvas of the pipeline pushes from it. Each view counts changes per trait
(``versions``), so each canvas knows what it has not sent yet. :func:`mark_stale` marks the
nodes whose config or input edges changed since the run, and their descendants, ``stale``.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from tensorrag.widget._history import note_times

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline
    from tensorrag.run import Run

__all__ = ["MAX_LOG_LINES", "STALE", "RunHub", "RunView", "hub_for", "mark_stale"]

#: Console lines kept (the newest).
MAX_LOG_LINES = 500
STALE = "stale"
#: Statuses a later edit makes out of date (a running node's own events still come).
_SETTLED = frozenset({"completed", "cached", "failed", "skipped"})
FIELDS = ("status", "logs", "previews")


class RunView:
    """What the canvases show of one run; filled from the engine's events (any thread)."""

    def __init__(self, previews: dict[str, Any] | None = None, targets: list[str] | None = None) -> None:
        self.lock = threading.Lock()
        self.run: Run | None = None
        self.state = "starting"
        self.error: str | None = None
        self.targets = targets
        self.execution_time: float | None = None
        self.nodes: dict[str, dict[str, Any]] = {}
        self.logs: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_LINES)
        self.previews: dict[str, Any] = dict(previews or {})
        self.pending: set[str] = set()  # nodes whose preview is still to be read from the run
        self.versions = dict.fromkeys(FIELDS, 0)
        self.manifest: dict[str, Any] | None = None  # a past run shown from its manifest (Canvas.open_run)

    def touch(self, *fields: str) -> None:
        """Say these traits changed (lock held)."""
        for f in fields:
            self.versions[f] += 1

    def to_status(self) -> dict[str, Any]:
        past = self.manifest
        extra = {"reopened": True} if past is not None else {}
        return {
            "run_id": self.run.run_id if self.run else past.get("run_id") if past is not None else None,
            "state": self.state,
            "targets": self.targets,
            "error": self.error,
            "execution_time": self.execution_time,
            "nodes": {nid: dict(rec) for nid, rec in self.nodes.items()},
            **extra,
        }

    def apply(self, event: dict[str, Any]) -> bool:
        """Record one engine event; True when it ends the run."""
        kind = event.get("type")
        with self.lock:
            nid = event.get("node_id")
            if kind == "node_status" and nid is not None:
                status = event.get("status", "")
                rec = self.nodes.setdefault(nid, {"status": status, "message": "", "progress": None})
                rec["status"], rec["message"] = status, event.get("message", "")
                note_times(rec, status, event.get("timestamp"))  # durations on the cards, bars in the timeline
                if status != "running":
                    rec["progress"] = None
                if status == "pending":
                    self.previews.pop(nid, None)
                    self.touch("previews")
                elif status in ("completed", "cached", "failed"):
                    self.pending.add(nid)
                if self.state == "starting":
                    self.state = "running"
                self.touch("status")
            elif kind == "progress" and nid in self.nodes:
                self.nodes[nid]["progress"] = {"current": event.get("current"), "total": event.get("total")}
                self.touch("status")
            elif kind == "log":
                self.logs.append({"node_id": nid, "text": str(event.get("text", "")), "time": event.get("timestamp"),
                                  "run_id": event.get("run_id")})
                self.touch("logs")
            elif kind == "pipeline_completion":
                self.state = str(event.get("status", "completed"))
                self.execution_time = event.get("execution_time")
                self.touch("status")
                return True
        return False


class RunHub:
    """The current run of one pipeline, for every canvas showing it."""

    def __init__(self) -> None:
        self.view = RunView()
        self.view.state = "idle"
        self.canvases: weakref.WeakSet[Any] = weakref.WeakSet()


# By id: a Pipeline compares by graph, so it is not hashable. A hub lives while a canvas holds it,
# and a canvas holds its pipeline, so the id is not reused meanwhile.
_hubs: weakref.WeakValueDictionary[int, RunHub] = weakref.WeakValueDictionary()
_hubs_lock = threading.Lock()


def hub_for(pipeline: Pipeline) -> RunHub:
    """The hub of ``pipeline`` (made on first use)."""
    with _hubs_lock:
        hub = _hubs.get(id(pipeline))
        if hub is None:
            hub = _hubs[id(pipeline)] = RunHub()
        return hub


def changed_nodes(pipeline: Pipeline, event: dict[str, Any]) -> set[str]:
    """The nodes whose result a pipeline edit may change: the edited node or edge target, and what depends on them."""
    op = event.get("op")
    roots: set[str] = set()
    if op == "update_node" and "config" in (event.get("fields") or []):
        roots = {str(event.get("node_id"))}
    elif op in ("connect", "disconnect") and isinstance(event.get("edge"), dict):
        roots = {str(event["edge"].get("target"))}
    elif op == "load":
        roots = set(pipeline.nodes)
    roots &= set(pipeline.nodes)
    return roots | pipeline.descendants(roots) if roots else set()


def mark_stale(view: RunView, pipeline: Pipeline, event: dict[str, Any]) -> bool:
    """Mark the nodes an edit changed ``stale`` (until the next run); True when some were marked."""
    nodes = changed_nodes(pipeline, event)
    if not nodes:
        return False
    with view.lock:
        marked = False
        for nid in nodes:
            rec = view.nodes.get(nid)
            if rec is not None and rec["status"] in _SETTLED:
                rec["status"], rec["progress"] = STALE, None
                rec["message"] = "changed since this run (its config or an input): run again to update it"
                marked = True
        if marked:
            view.touch("status")
        return marked
