"""Runs read back from storage: the original's run routes after a restart, or for another server process.

The original's ``status`` / ``output`` / ``artifacts`` routes name a run by its ``pipeline_id``
only. A run started by this process is in the :class:`~tensorrag.server.hub.RunHub`; any other
(an earlier server process, a second one on the same storage, ``p.run()`` in a notebook) is found
as the newest manifest in the project's ``runs/`` whose ``"pipeline"`` names that id
(:func:`belongs`), and read through :class:`StoredRun`, which answers what the routes ask a live
:class:`~tensorrag.run.Run`. The server names every pipeline it runs after its ``pipeline_id``
(:func:`run_name`), so the manifest's ``"pipeline"`` is enough to tell the ids of one project
apart. A run whose process died reads ``interrupted`` (``Project.run`` applies
:mod:`tensorrag.executors.liveness`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ArtifactNotFoundError, RunError, StorageError

if TYPE_CHECKING:
    from tensorrag.storage import ArtifactStore
    from tensorrag.workspace import Project

__all__ = ["StoredRun", "StoredRuns", "belongs", "run_name"]

#: The original frontend runs a project's pipeline as ``pipeline_id = "workspace__{project}"``.
WORKSPACE_PREFIX = "workspace__"


def run_name(pipeline_id: str, project: str, current: str) -> str:
    """The name to run a pipeline under so its manifest's ``"pipeline"`` names ``pipeline_id``.

    ``current`` is kept when it already does (on ``workspace__{project}`` the project's own name, as
    ``p.run()`` of the project's pipeline records, does too); else the name is ``pipeline_id``.
    """
    return current if belongs(current, pipeline_id, project) else pipeline_id


def belongs(recorded: Any, pipeline_id: str, project: str) -> bool:
    """Whether a manifest whose ``"pipeline"`` is ``recorded`` is a run of ``pipeline_id`` in ``project``."""
    return recorded == pipeline_id or (pipeline_id == f"{WORKSPACE_PREFIX}{project}" and recorded == project)


class StoredRun:
    """A finished (or elsewhere running) run read from its manifest: the part of ``Run`` the routes read.

    Args:
        manifest: the run's manifest as ``Project.run`` returns it (interrupted runs marked).
        store: the project store it wrote to (previews and artifacts are read from it).
    """

    def __init__(self, manifest: dict[str, Any], store: ArtifactStore) -> None:
        self._manifest = manifest
        self.store = store
        self.run_id = str(manifest.get("run_id"))
        nodes = manifest.get("nodes")
        self._nodes: dict[str, dict[str, Any]] = {
            nid: rec for nid, rec in (nodes if isinstance(nodes, dict) else {}).items() if isinstance(rec, dict)
        }

    @property
    def status(self) -> dict[str, str]:
        """Node id -> status, as the manifest recorded it."""
        return {nid: str(rec.get("status")) for nid, rec in self._nodes.items()}

    def manifest(self) -> dict[str, Any]:
        """The manifest (``nodes`` holds only well-formed records)."""
        return {**self._manifest, "nodes": self._nodes}

    def _record(self, node_id: str) -> dict[str, Any]:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise RunError(f"Run {self.run_id} has no node {node_id!r}; it has {sorted(self._nodes)}.") from None

    def error(self, node_id: str) -> dict[str, str] | None:
        """``{"type", "message", "traceback"}`` of a failed node, else None."""
        err = self._record(node_id).get("error")
        return err if isinstance(err, dict) else None

    def outputs(self, node_id: str) -> dict[str, dict[str, Any]]:
        """Output port -> artifact ref."""
        outputs = self._record(node_id).get("outputs")
        return dict(outputs) if isinstance(outputs, dict) else {}

    def output_type(self, node_id: str) -> str:
        """The node's preview format, as recorded."""
        return str(self._record(node_id).get("output_type") or "table")

    def preview(self, node_id: str) -> dict[str, Any] | None:
        """The node's preview from its cache entry (``artifacts/{key}``), or None when there is none.

        Raises:
            StorageError: the entry cannot be read (e.g. the artifacts were removed).
        """
        key = self._record(node_id).get("key")
        stored = self.store.preview_data(key) if isinstance(key, str) else None
        return stored if isinstance(stored, dict) else None


class StoredRuns:
    """Finds the newest stored run of a ``pipeline_id``, remembering where it looked last.

    A status poll re-reads only the manifests newer than the previous look and the run it found then
    (which may still be running in another process), not every manifest of the project each time.

    Args:
        max_entries: ``(user, project, pipeline_id)`` answers remembered (the oldest are forgotten).
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        # (user, project, pipeline_id) -> (newest run id looked at, the matching run id or None)
        self._seen: OrderedDict[tuple[str, str, str], tuple[str, str | None]] = OrderedDict()

    def latest(self, user: str, project: Project, pipeline_id: str) -> StoredRun | None:
        """The newest run of ``pipeline_id`` in ``project`` (of ``user``), or None when it has none."""
        key = (user, project.name, pipeline_id)
        with self._lock:
            newest_seen, found = self._seen.get(key, ("", None))
        ids = project.store.list_runs()  # newest first
        for run_id in ids:
            if run_id <= newest_seen:
                break  # looked at before: the answer then still stands
            manifest = self._read(project, run_id)
            if manifest is not None and belongs(manifest.get("pipeline"), pipeline_id, project.name):
                self._remember(key, ids[0], run_id)
                return StoredRun(manifest, project.store)
        else:
            found = None  # every manifest was read (or none is left of the one found before)
        if found is not None:
            manifest = self._read(project, found)
            if manifest is None:  # removed since: look again from the start
                self.forget(user, project.name)
                return self.latest(user, project, pipeline_id)
            self._remember(key, ids[0] if ids else "", found)
            return StoredRun(manifest, project.store)
        self._remember(key, ids[0] if ids else "", None)
        return None

    def forget(self, user: str, project: str) -> None:
        """Drop what was remembered for a project (deleted, or a run of it disappeared)."""
        with self._lock:
            for key in [k for k in self._seen if k[0] == user and k[1] == project]:
                del self._seen[key]

    def _remember(self, key: tuple[str, str, str], newest: str, found: str | None) -> None:
        with self._lock:
            self._seen[key] = (newest, found)
            self._seen.move_to_end(key)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)

    @staticmethod
    def _read(project: Project, run_id: str) -> dict[str, Any] | None:
        try:
            manifest = project.run(run_id)
        except (ArtifactNotFoundError, StorageError):  # gone, or unreadable: it cannot answer a route
            return None
        return manifest if isinstance(manifest, dict) else None
