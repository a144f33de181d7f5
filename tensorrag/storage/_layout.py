"""The project layout of design.md §5: where cache entries, previews, runs and pipeline documents live.

Under a project root (``{root}/{user}/workspace/{project}``, see :class:`~tensorrag.storage.project.ProjectStore`)::

    _pipeline.json                     saved graph
    _history/{stamp}-{hex}.json        every saved version
    runs/{run_id}.json                 run manifests
    artifacts/{key}-{attempt}/{name}.{ext}  immutable outputs (one folder per execution)
    artifacts/{key}/_meta.json         cache entry (written last; it holds the node's preview)
    artifacts/{key}/_preview.json      a preview written by write_preview (read_preview falls back to _meta.json)

On local disk an attempt writes its entry into its own folder (``artifacts/{key}-{attempt}/_meta.json``,
in place: nothing names that folder yet) and commits it with one atomic step, a symlink
``artifacts/{key} -> {key}-{attempt}`` (a link already there is replaced atomically), so
``artifacts/{key}/_meta.json`` is where it always was. Where there are no symlinks, or
``artifacts/{key}`` is a real folder from an older layout, the entry is also written there.
Elsewhere (memory, object stores) ``_meta.json`` is one PUT into ``artifacts/{key}/``.

:class:`StoreLayout` is a mixin of :class:`~tensorrag.storage.store.ArtifactStore`: every store
(a worker's store opened from the wire included) reads and writes this layout relative to its root.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from tensorrag.errors import ArtifactNotFoundError, UnsafePathError, name_list
from tensorrag.storage.codecs import encode_json
from tensorrag.storage.integrity import ABANDONED, file_stamp, is_abandoned
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
#: Local documents (``_meta.json``, ``_pipeline.json``) this process read or wrote: path -> (lstat stamp,
#: value). Treat the values as read-only.
_ENTRIES: dict[str, tuple[str, Any]] = {}
_MAX_ENTRIES = 4096
_MARK = "abandoned"  # the key of an attempt's _meta.json that marks it abandoned (local disk)


class StoreLayout:
    """Cache entries, previews, run manifests and the pipeline document, relative to the store's root."""

    if TYPE_CHECKING:  # provided by ArtifactStore
        url: str
        _url_base: str
        _backend: FsspecBackend

        def _write(self, rel: str, data: Buffer) -> str: ...
        def _write_json(self, rel: str, value: Any, plain: bool = False, indent: int | None = None) -> str: ...
        def _guard(self, op: str, rel: str) -> contextlib.AbstractContextManager[None]: ...
        def _read_json(self, rel: str) -> Any: ...
        def _file_exists(self, rel: str) -> bool: ...
        def _exists(self, rel: str) -> bool: ...
        def relpath(self, uri: str) -> str: ...
        def list(self, prefix: str = "") -> builtins.list[str]: ...

    # ------------------------------------------------------------------ cache entries and previews

    def write_entry(self, key: str, entry: dict[str, Any]) -> str:
        """Write the cache entry of ``key`` (``artifacts/{key}/_meta.json``): the commit marker, write it last."""
        return self._write_json(self._key_rel(key, _META), entry)

    def commit_entry(self, key: str, entry: dict[str, Any], attempt: str | None = None) -> bool:
        """Commit the cache entry of ``key`` written by ``attempt`` (its artifacts' folder) and return True.

        Returns:
            False, writing nothing, when ``attempt`` was abandoned (see :mod:`~tensorrag.storage.integrity`).
        """
        backend = self._backend
        if attempt is None:
            self.write_entry(key, entry)
            return True
        if backend.keeps_objects:  # memory: the entry stays the dict it is (plain JSON); a dict write cannot fail
            if backend.file_exists(f"{_ARTIFACTS}/{safe_name(attempt, 'attempt')}/{ABANDONED}"):
                return False
            backend.keep(self._key_rel(key, _META), entry, "json", "json")  # type: ignore[attr-defined]
            return True
        if not backend.is_local:
            if is_abandoned(cast("ArtifactStore", self), attempt):
                return False
            self._write_json(self._key_rel(key, _META), entry, plain=True)  # built of plain JSON values
            return True
        data = encode_json(entry)
        own = f"{_ARTIFACTS}/{safe_name(attempt, 'attempt')}/{_META}"
        with self._guard("write", own):
            if not backend.create(own, data):  # type: ignore[attr-defined]
                return False  # the mark of an abandoned attempt is there (or this attempt committed already)
            written = backend.written_stamp(own)  # type: ignore[attr-defined]
            if written is not None:  # a re-run in this process reads it back without parsing
                _ENTRIES[backend.full(own)] = (written, entry)
            if backend.link_folder(self._key_dir(key), attempt):  # type: ignore[attr-defined]
                return True
        self._write(self._key_rel(key, _META), data)  # no symlinks here, or a real folder from before
        return True

    def mark_abandoned(self, attempt: str) -> None:
        """Mark ``attempt`` abandoned: its entry is neither committed nor served (see ``integrity.abandon``)."""
        folder = f"{_ARTIFACTS}/{safe_name(attempt, 'attempt')}"
        if not self._backend.is_local:
            self._write(f"{folder}/{ABANDONED}", b"")
            return
        mark = encode_json({_MARK: True, "attempt": attempt, "outputs": {}, "extras": {}})
        with self._guard("write", f"{folder}/{_META}"):
            self._backend.write_new(f"{folder}/{_META}", mark)  # takes the commit's name, or replaces the entry

    def attempt_abandoned(self, attempt: str) -> bool:
        """Whether ``attempt`` was marked abandoned."""
        folder = f"{_ARTIFACTS}/{safe_name(attempt, 'attempt')}"
        if self._backend.is_local:
            try:
                own = self._read_json(f"{folder}/{_META}")
            except ArtifactNotFoundError:
                own = None
            if isinstance(own, dict) and own.get(_MARK):
                return True
        return self._file_exists(f"{folder}/{ABANDONED}")  # also a mark written by an older version

    def read_entry(self, key: str, check_artifacts: bool = True) -> dict[str, Any] | None:
        """The cache entry of ``key``, or None when missing, abandoned or when one of its artifacts is gone.

        Args:
            key: the cache key.
            check_artifacts: check that every artifact it lists exists (``verified_entry`` does this
                itself on local disk, with the ``stat`` that reads each artifact's stamp).
        """
        entry = self._entry(key)
        if entry is None or not check_artifacts:
            return entry
        for group in (entry.get("outputs"), entry.get("extras")):
            if not isinstance(group, dict):
                continue
            for ref in group.values():
                if isinstance(ref, dict) and "uri" in ref and not self._uri_exists(ref["uri"], "sha256" in ref):
                    return None  # an artifact was deleted (or a kept object replaced): the entry no longer holds
        return entry

    def _entry(self, key: str) -> dict[str, Any] | None:
        backend = self._backend
        folder = self._key_dir(key)
        # Local disk: one readlink says "no entry" (the common miss) or names the attempt that committed.
        target = backend.read_link(folder) if backend.is_local else ""  # type: ignore[attr-defined]
        if target is None:
            return None
        own = bool(target) and _plain_name(target)
        rel = f"{_ARTIFACTS}/{target}/{_META}" if own else f"{folder}/{_META}"
        if not backend.is_local and backend.cheap_exists and not self._file_exists(rel):
            return None  # the common miss, without raising and catching an exception
        try:
            entry = self._read_json_unchanged(rel)
        except ArtifactNotFoundError:
            return None
        if not isinstance(entry, dict) or entry.get(_MARK):
            return None  # not an entry, or the mark of an abandoned attempt
        attempt = entry.get("attempt")
        if own and attempt == target:
            return entry  # the attempt's own file: an abandon mark would have replaced it
        if isinstance(attempt, str) and is_abandoned(cast("ArtifactStore", self), attempt):
            return None  # committed by an attempt the engine had given up on (timeout, cancel)
        return entry

    def _read_json_unchanged(self, rel: str) -> Any:
        """A ``_meta.json``: on local disk one this process read or wrote, unchanged, is not parsed again.

        An entry carries the node's preview (kilobytes of JSON), so a fully cached re-run would
        spend most of its time parsing. The file's ``lstat`` stamp says whether it is the same file.
        """
        backend = self._backend
        if not backend.is_local:
            return self._read_json(rel)
        full = backend.full(rel)
        try:
            # No confinement walk: a hit is only ever a file this process read through the checked path.
            stamp = file_stamp(os.lstat(full))
        except OSError:
            return self._read_json(rel)  # gone or unreadable: the reader raises the typed error
        hit = _ENTRIES.get(full)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        entry = self._read_json(rel)
        _ENTRIES[full] = (stamp, entry)
        while len(_ENTRIES) > _MAX_ENTRIES:
            del _ENTRIES[next(iter(_ENTRIES))]  # the oldest read first
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
        """The preview of ``key``, or None when there is none.

        ``_preview.json`` when one was written, else ``{"output_type", "preview"}`` from the cache
        entry, which carries the node's preview (a commit writes no separate file).
        """
        try:
            return self._read_json(self._key_rel(key, _PREVIEW))
        except ArtifactNotFoundError:
            pass
        entry = self._entry(key)
        if entry is None or "preview" not in entry:
            return None
        return {"output_type": entry.get("output_type"), "preview": entry["preview"]}

    def preview_data(self, key: str) -> Any:
        """Only the preview payload of ``key`` (:meth:`read_preview` without the entry's wrapper), or None."""
        stored = self.read_preview(key)
        if isinstance(stored, dict) and "preview" in stored:  # the cache entry's {"output_type", "preview"}
            return stored["preview"]
        return stored

    @staticmethod
    def _artifact_rel(key: str, name: str, ext: str) -> str:
        rel = f"{_ARTIFACTS}/{safe_name(key, 'artifact key')}/{safe_name(name, 'output name')}.{ext}"
        return rel if len(rel) <= 1024 else safe_relpath(rel)  # raises with the length in the message

    @staticmethod
    def _key_rel(key: str, name: str) -> str:
        return f"{_ARTIFACTS}/{safe_name(key, 'artifact key')}/{name}"

    @staticmethod
    def _key_dir(key: str) -> str:
        return f"{_ARTIFACTS}/{safe_name(key, 'artifact key')}"

    # ------------------------------------------------------------------ runs

    def write_run(self, run_id: str, manifest: dict[str, Any]) -> str:
        """Write the manifest of a run (``runs/{run_id}.json``) and return its uri."""
        # A manifest is made of plain JSON values (RunState.to_manifest): memory stores keep it as is.
        return self._write_json(f"{_RUNS}/{safe_name(run_id, 'run id')}.json", manifest, plain=True)

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
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        history = f"{_HISTORY}/{stamp}-{os.urandom(3).hex()}.json"
        nodes = doc.get("nodes")
        indent = 2 if not isinstance(nodes, list) or len(nodes) <= 200 else None
        if getattr(self._backend, "keeps_objects", False):  # memory: a document is plain JSON, kept as is
            self._write_json(history, doc, plain=True, indent=indent)
            return self._write_json(_PIPELINE, doc, plain=True, indent=indent)
        data = encode_json(doc, indent=indent)
        self._write(history, data)
        uri = self._write(_PIPELINE, data)
        if self._backend.is_local:  # the next run compares against it without parsing it again
            with contextlib.suppress(OSError):
                full = self._backend.full(_PIPELINE)
                _ENTRIES[full] = (file_stamp(os.lstat(full)), doc)
        return uri

    def read_pipeline(self, *, shared: bool = False) -> dict[str, Any]:
        """The saved pipeline document.

        Args:
            shared: the document may be one this process already holds (read or written here, the
                file unchanged since): fast, but never change it.

        Raises:
            ArtifactNotFoundError: nothing was saved here yet.
        """
        try:
            if shared:
                return self._read_json_unchanged(_PIPELINE)  # type: ignore[no-any-return]
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


def _plain_name(name: str) -> bool:
    try:
        return safe_name(name) == name
    except UnsafePathError:
        return False
