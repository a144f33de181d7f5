"""What a run knows: each node's :class:`NodeRecord` and the run's :class:`RunState` (the manifest)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TERMINAL", "NodeRecord", "RunState", "now_iso"]

#: Node states after which nothing more happens to the node in this run.
TERMINAL = frozenset({"completed", "cached", "failed", "skipped"})

_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text (swapped as one tuple)


def now_iso() -> str:
    """Now as ISO-8601 UTC with microseconds (``2026-12-01T22:32:13.123456Z``), cheap enough per event."""
    global _second
    t = time.time()
    whole = int(t)
    second = _second
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{int((t - whole) * 1e6):06d}Z"


@dataclass(slots=True)  # no per-node __dict__: a 10,000-node run keeps 10,000 of these
class NodeRecord:
    """What one run knows about one node."""

    node_id: str
    card_type: str
    status: str = "pending"
    key: str | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    preview: dict[str, Any] | None = None
    output_type: str = "table"
    error: dict[str, str] | None = None
    logs: str = ""
    logs_truncated: bool = False  # not every log line was kept (in the events or in ``logs``)
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The node's part of the run manifest."""
        return {
            "node_id": self.node_id,
            "card_type": self.card_type,
            "status": self.status,
            "key": self.key,
            "outputs": self.outputs,
            "extras": self.extras,
            "output_type": self.output_type,
            "error": self.error,
            "logs_truncated": self.logs_truncated,
            "message": self.message,
            "timings": self.timings,
        }


@dataclass
class RunState:
    """The state of one run, written as ``runs/{run_id}.json`` when it starts, while it runs and when it ends."""

    run_id: str
    pipeline: str
    nodes: dict[str, NodeRecord]
    status: str = "running"
    events: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    execution_time: float | None = None
    owner: dict[str, Any] | None = None  # who runs it: see tensorrag.executors.liveness
    heartbeat_at: str | None = None

    def to_manifest(self, graph: dict[str, Any] | None = None, *, events: bool = True) -> dict[str, Any]:
        """The run manifest (status, node states, artifact refs, events, and the graph).

        ``events=False`` leaves the event list empty: the manifests rewritten while a run goes on
        carry node states only, so a big run does not re-encode every event each second.
        """
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "execution_time": self.execution_time,
            "owner": self.owner,
            "heartbeat_at": self.heartbeat_at,
            "nodes": {nid: rec.to_dict() for nid, rec in list(self.nodes.items())},
            "events": list(self.events) if events else [],
            "graph": graph,
        }
