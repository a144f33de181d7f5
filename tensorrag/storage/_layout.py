"""The project layout of design.md §5: where cache entries, previews, runs and pipeline documents live.

Under a project root (``{root}/{user}/workspace/{project}``, see :class:`~tensorrag.storage.project.ProjectStore`)::

    _pipeline.json                     saved graph
    _history/{stamp}-{hex}.json        every saved version
    runs/{run_id}.json                 run manifests
    artifacts/{key}-{attempt}/{name}.{ext}  immutable outputs (one folder per execution)
    artifacts/{key}/_meta.json         cache entry (written last)
    artifacts/{key}/_preview.json      node preview

:class:`StoreLayout` is a mixin of :class:`~tensorrag.storage.store.ArtifactStore`: every store
(a worker's store opened from the wire included) reads and writes this layout relative to its root.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from tensorrag.errors import ArtifactNotFoundError, UnsafePathError, name_list
from tensorrag.storage.codecs import encode_json
from tensorrag.storage.integrity import is_abandoned
from tensorrag.storage.paths import safe_name, safe_relpath

if TYPE_CHECKING:
    import builtins

    from tensorrag.storage._backends import FsspecBackend
    from tensorrag.storage.codecs import Buffer
    from tensorrag.storage.store import ArtifactStore

__all__ = ["StoreLayout"]

_META = "_meta.json"
_PREVIEW = "_preview.json"
_PIPELINE = "_pipeline.json"
_HISTORY = "_history"
_RUNS = "runs"
_ARTIFACTS = "artifacts"


class StoreLayout:
    """Cache entries, previews, run manifests and the pipeline document, relative to the store's root."""

    if TYPE_CHECKING:  # provided by ArtifactStore
        url: str
        _url_base: str
        _backend: FsspecBackend

        def _write(self, rel: str, data: Buffer) -> str: ...
        def _write_json(self, rel: str, value: Any) -> str: ...
        def _read_json(self, rel: str) -> Any: ...
        def _file_exists(self, rel: str) -> bool: ...
        def _exists(self, rel: str) -> bool: ...
        def relpath(self, uri: str) -> str: ...
        def list(self, prefix: str = "") -> builtins.list[str]: ...

    # ------------------------------------------------------------------ cache entries and previews

    def write_entry(self, key: str, entry: dict[str, Any]) -> str:
        """Write the cache entry of ``key`` (``artifacts/{key}/_meta.json``): the commit marker, write it last."""
        return self._write_json(self._key_rel(key, _META), entry)

    def read_entry(self, key: str) -> dict[str, Any] | None:
        """The cache entry of ``key``, or None when missing or when one of its artifacts is gone."""
        if self._backend.cheap_exists and not self._file_exists(self._key_rel(key, _META)):
            return None  # the common miss, without raising and catching an exception
        try:
            entry = self._read_json(self._key_rel(key, _META))
        except ArtifactNotFoundError:
            return None
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get("attempt"), str) and is_abandoned(cast("ArtifactStore", self), entry["attempt"]):
            return None  # committed by an attempt the engine had given up on (timeout, cancel)
        for group in (entry.get("outputs"), entry.get("extras")):
            if not isinstance(group, dict):
                continue
            for ref in group.values():
                if isinstance(ref, dict) and "uri" in ref and not self._uri_exists(ref["uri"], "sha256" in ref):
                    return None  # an artifact was deleted (or a kept object replaced): the entry no longer holds
        return entry

    def _uri_exists(self, uri: Any, hashed: bool = True) -> bool:
        try:
            if not hashed and getattr(self._backend, "keeps_objects", False):  # memory: only the kept object holds
                return self._backend.kept(self.relpath(uri)) is not None  # type: ignore[attr-defined]
            return self._exists(self.relpath(uri))
        except (UnsafePathError, TypeError):
            return False  # not in this store: treat as missing so the node recomputes

    def write_preview(self, key: str, preview: Any) -> str:
        """Write the preview of ``key`` (``artifacts/{key}/_preview.json``)."""
        return self._write_json(self._key_rel(key, _PREVIEW), preview)

    def read_preview(self, key: str) -> Any:
        """The preview of ``key``, or None when there is none."""
        try:
            return self._read_json(self._key_rel(key, _PREVIEW))
        except ArtifactNotFoundError:
            return None

    @staticmethod
    def _artifact_rel(key: str, name: str, ext: str) -> str:
        rel = f"{_ARTIFACTS}/{safe_name(key, 'artifact key')}/{safe_name(name, 'output name')}.{ext}"
        return rel if len(rel) <= 1024 else safe_relpath(rel)  # raises with the length in the message

    @staticmethod
    def _key_rel(key: str, name: str) -> str:
        return f"{_ARTIFACTS}/{safe_name(key, 'artifact key')}/{name}"

    # ------------------------------------------------------------------ runs

    def write_run(self, run_id: str, manifest: dict[str, Any]) -> str:
        """Write the manifest of a run (``runs/{run_id}.json``) and return its uri."""
        return self._write_json(f"{_RUNS}/{safe_name(run_id, 'run id')}.json", manifest)

    def read_run(self, run_id: str) -> dict[str, Any]:
        """The manifest of a run.

        Raises:
            ArtifactNotFoundError: no such run (the message lists the latest run ids).
        """
        rel = f"{_RUNS}/{safe_name(run_id, 'run id')}.json"
        try:
            return self._read_json(rel)  # type: ignore[no-any-return]
        except ArtifactNotFoundError:
            runs = self.list_runs()
            known = name_list(runs)
            raise ArtifactNotFoundError(
                f"No run {run_id!r} in {self.url} (looked for {self._url_base + rel}). Latest runs: {known}."
            ) from None

    def list_runs(self) -> builtins.list[str]:
        """Run ids, newest first (run ids start with a UTC timestamp, so they sort by time)."""
        names = (p[len(_RUNS) + 1 :] for p in self.list(_RUNS))
        return sorted((n[:-5] for n in names if n.endswith(".json") and "/" not in n), reverse=True)

    # ------------------------------------------------------------------ pipeline document

    def write_pipeline(self, doc: dict[str, Any]) -> str:
        """Save the pipeline document as ``_pipeline.json`` plus a copy in ``_history/``; return its uri.

        Graphs up to 200 nodes are indented for people and diffs; larger ones are compact, because
        indented JSON goes through Python's slow encoder (~0.2 ms per node).
        """
        nodes = doc.get("nodes")
        data = encode_json(doc, indent=2 if not isinstance(nodes, list) or len(nodes) <= 200 else None)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self._write(f"{_HISTORY}/{stamp}-{secrets.token_hex(3)}.json", data)
        return self._write(_PIPELINE, data)

    def read_pipeline(self) -> dict[str, Any]:
        """The saved pipeline document.

        Raises:
            ArtifactNotFoundError: nothing was saved here yet.
        """
        try:
            return self._read_json(_PIPELINE)  # type: ignore[no-any-return]
        except ArtifactNotFoundError:
            raise ArtifactNotFoundError(
                f"No pipeline saved at {self._url_base + _PIPELINE}. Save one first (write_pipeline / Pipeline.save)."
            ) from None

    def pipeline_history(self) -> builtins.list[str]:
        """File names of the saved pipeline versions in ``_history/``, newest first."""
        names = (p[len(_HISTORY) + 1 :] for p in self.list(_HISTORY))
        return sorted((n for n in names if n.endswith(".json") and "/" not in n), reverse=True)

    def read_history(self, name: str) -> dict[str, Any]:
        """One saved pipeline version, by its name from :meth:`pipeline_history` (``.json`` optional).

        Raises:
            ArtifactNotFoundError: no such version.
        """
        name = safe_name(name, "history version")
        if not name.endswith(".json"):
            name += ".json"
        return self._read_json(f"{_HISTORY}/{name}")  # type: ignore[no-any-return]
