"""Run history for the canvas: the project's past runs, and one of them shown again on the canvas.

The canvas's history panel asks for :func:`list_runs` (one summary per manifest in
``runs/{run_id}.json``, newest first) and re-opens a run with :func:`run_status` and
:func:`run_previews`, which turn its manifest into the ``status`` and ``previews`` traits a live
run would have left. :func:`note_times` stamps each node's start and end (from the event
timestamps) on the live ``status`` too, so the cards show durations and the timeline panel draws
the same bars for a live run and a re-opened one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.previews import json_safe
from tensorrag.errors import StorageError
from tensorrag.executors.liveness import effective_status, run_summary

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tensorrag.storage import ArtifactStore

__all__ = ["DEFAULT_LIMIT", "list_runs", "note_times", "run_previews", "run_status"]

#: Runs listed by the history panel (the newest).
DEFAULT_LIMIT = 50
_FINISHED = frozenset({"completed", "cached", "failed", "skipped"})


def list_runs(store: ArtifactStore, limit: int | None = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Summaries of the runs in ``store`` (a project store), newest first.

    Each is ``Project.runs()``'s summary (``run_id, pipeline, status, started_at, finished_at,
    execution_time, nodes: {id: status}, failed``); a manifest that cannot be read is listed as
    ``{"run_id", "status": "unreadable", "error"}`` so one bad file hides no other run.
    """
    ids = store.list_runs()
    if limit is not None:
        ids = ids[: max(0, limit)]
    out: list[dict[str, Any]] = []
    for run_id in ids:
        try:
            manifest = store.read_run(run_id)
        except StorageError as exc:
            out.append({"run_id": run_id, "status": "unreadable", "error": str(exc)})
        else:
            out.append(run_summary(run_id, manifest))
    return out


def note_times(rec: dict[str, Any], status: str, timestamp: Any) -> None:
    """Stamp ``started``/``finished`` (ISO-8601 strings) on a node's ``status`` record from one event."""
    if not isinstance(timestamp, str):
        return
    if status == "running":
        rec["started"], rec["finished"] = timestamp, None
    elif status in _FINISHED:
        rec["finished"] = timestamp
    elif status == "pending":
        rec["started"] = rec["finished"] = None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _times(events: Iterable[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "node_status" or not event.get("node_id"):
            continue
        note_times(out.setdefault(str(event["node_id"]), {}), str(event.get("status", "")), event.get("timestamp"))
    return out


def run_status(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``status`` trait that shows the run of ``manifest`` (``reopened: True`` marks a past run)."""
    nodes = manifest.get("nodes")
    nodes = nodes if isinstance(nodes, dict) else {}
    events = manifest.get("events")
    times = _times(events if isinstance(events, list) else [])
    state, reason = effective_status(manifest)
    out_nodes: dict[str, dict[str, Any]] = {}
    for nid, rec in nodes.items():
        if not isinstance(rec, dict):
            continue
        timings = _mapping(rec.get("timings"))
        out_nodes[nid] = {
            "status": str(rec.get("status", "")),
            "message": str(rec.get("message") or ""),
            "progress": None,
            "started": times.get(nid, {}).get("started"),
            "finished": times.get(nid, {}).get("finished"),
            "seconds": timings.get("total"),
        }
    return {
        "run_id": manifest.get("run_id"),
        "state": state,
        "targets": None,
        "error": reason,
        "execution_time": manifest.get("execution_time"),
        "nodes": out_nodes,
        "reopened": True,
        "started_at": manifest.get("started_at"),
    }


def run_previews(
    manifest: dict[str, Any], store: ArtifactStore, view_types: dict[str, str], image_types: Iterable[str]
) -> dict[str, Any]:
    """The ``previews`` trait of a past run: each finished node's preview (from its cache entry) or error.

    Args:
        manifest: the run's manifest.
        store: the project store the run wrote to (its ``artifacts/{key}`` hold the previews).
        view_types: node id -> the card's ``output_view_type`` (the manifest's when missing).
        image_types: byte-output extensions the canvas shows as images.
    """
    images = {ext.lower() for ext in image_types}
    nodes = manifest.get("nodes")
    out: dict[str, Any] = {}
    for nid, rec in (nodes if isinstance(nodes, dict) else {}).items():
        if not isinstance(rec, dict) or rec.get("status") not in ("completed", "cached", "failed"):
            continue
        entry: dict[str, Any] = {
            "run_id": manifest.get("run_id"), "status": rec["status"],
            "view": view_types.get(nid) or rec.get("output_type") or "json", "data": None, "error": None, "images": [],
        }
        if rec["status"] == "failed":
            entry["error"] = json_safe(rec.get("error")) or {"type": "Error", "message": rec.get("message", ""),
                                                              "traceback": ""}
        else:
            key = rec.get("key")
            try:
                stored = store.preview_data(key) if isinstance(key, str) else None
            except StorageError as exc:  # an artifact folder that is gone: say so in the panel
                entry["error"] = {"type": type(exc).__name__, "message": str(exc), "traceback": ""}
                stored = None
            entry["data"] = json_safe(stored)
            outputs = _mapping(rec.get("outputs"))
            entry["images"] = [
                {"port": port, "ext": ref.get("ext")}
                for port, ref in outputs.items()
                if isinstance(ref, dict) and ref.get("type") == "bytes" and str(ref.get("ext", "")).lower() in images
            ]
        out[nid] = entry
    return out
