"""Who owns a running run, and whether that owner is still alive (``running`` vs ``interrupted``).

A run's manifest is written when it starts, with status ``running`` and its owner
``{"host", "pid", "pid_started"}`` (``pid_started``: the process's start time in clock ticks
since boot, from ``/proc``, so a reused pid is not mistaken for the owner), then rewritten
every :data:`HEARTBEAT_S` seconds (``heartbeat_at``) and once more when the run ends.

A manifest still saying ``running`` is shown as ``interrupted`` when:

* its owner ran on this host (same host name) and that process is gone, or the pid now
  belongs to a process started at another time; or
* its owner cannot be checked from here (another host, or no process table to ask) and its
  last heartbeat is older than :data:`STALE_S` seconds.

A manifest without an owner (written by an older version) keeps its status.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["HEARTBEAT_S", "STALE_S", "effective_status", "owner_record", "run_summary"]

#: Seconds between rewrites of a running run's manifest.
HEARTBEAT_S = 30.0
#: A heartbeat older than this (4 missed beats) means the owner on another host is gone.
STALE_S = 120.0


def _host() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename  # what socket.gethostname() returns, without importing socket (4 ms)
    import socket

    return socket.gethostname()


def owner_record() -> dict[str, Any]:
    """This process as the owner of a run: host name, pid and the pid's start time."""
    pid = os.getpid()
    return {"host": _host(), "pid": pid, "pid_started": _started(pid)}


def effective_status(manifest: dict[str, Any], now: datetime | None = None) -> tuple[Any, str | None]:
    """The status to show for ``manifest`` and, for ``interrupted``, why (see the module docstring)."""
    status = manifest.get("status")
    owner = manifest.get("owner")
    if status != "running" or not isinstance(owner, dict):
        return status, None
    host, pid = owner.get("host"), owner.get("pid")
    if host == _host() and isinstance(pid, int) and sys.platform != "win32":
        alive = _alive(pid)
        if alive and _state(pid) == "Z":  # killed, not yet reaped by its parent
            alive = False
        recorded = owner.get("pid_started")
        if alive and recorded is not None:
            current = _started(pid)
            alive = current is None or current == recorded
        if not alive:
            return "interrupted", f"its process (pid {pid} on {host}) is gone"
        return status, None
    beat = _parse(manifest.get("heartbeat_at") or manifest.get("started_at"))
    if beat is None:
        return status, None
    age = ((now or datetime.now(UTC)) - beat).total_seconds()
    if age > STALE_S:
        return "interrupted", f"no heartbeat from {host} for {age:.0f} s (more than {STALE_S:.0f} s)"
    return status, None


def run_summary(run_id: str, manifest: Any) -> dict[str, Any]:
    """The summary ``Project.runs()`` lists for one manifest (``unreadable`` when it is not a run manifest)."""
    if not isinstance(manifest, dict):
        got = type(manifest).__name__
        return {"run_id": run_id, "status": "unreadable", "error": f"the manifest is a JSON {got}, not an object"}
    nodes = manifest.get("nodes")
    nodes = nodes if isinstance(nodes, dict) else {}
    statuses = {nid: rec.get("status") for nid, rec in nodes.items() if isinstance(rec, dict)}
    status, reason = effective_status(manifest)
    summary = {
        "run_id": manifest.get("run_id", run_id),
        "pipeline": manifest.get("pipeline"),
        "status": status,
        "started_at": manifest.get("started_at"),
        "finished_at": manifest.get("finished_at"),
        "execution_time": manifest.get("execution_time"),
        "nodes": statuses,
        "failed": [nid for nid, s in statuses.items() if s == "failed"],
    }
    if reason:
        summary["reason"] = reason
    return summary


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only (never called on Windows, where it kills)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return False
    return True


def _stat_fields(pid: int) -> list[str] | None:
    # /proc/PID/stat after the ")" that closes the command name: field 3 (state) onwards.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode(errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _started(pid: int) -> int | None:
    fields = _stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # field 22: starttime
    except (IndexError, ValueError):
        return None


def _parse(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
