"""Artifact integrity and abandoned attempts: what keeps the cache from serving wrong bytes.

* **sha256 on read.** Every artifact ref records the sha256 of its bytes. :func:`check_bytes`
  raises :class:`~tensorrag.errors.ArtifactCorruptError` when bytes read back differ;
  ``ArtifactStore.get``/``get_bytes`` call it for refs that carry a sha256.
* **Stamps at lookup.** A cache entry records a cheap *stamp* of each artifact when it is
  committed (local: size, mtime, ctime, inode; object stores: ETag / md5 / size + mtime).
  :func:`entry_problems` compares them at lookup and hashes an artifact only when its stamp
  changed, so an unchanged cache hit costs one ``stat`` (or ``HEAD``) per artifact. Memory
  stores have no stamps and are always hashed (the bytes are in RAM).
  Files a local store has just created in place carry the stamp taken when they were written
  (no ``stat`` at commit).
* **Abandoned attempts.** When the engine gives up on an attempt (timeout, cancel) it marks it.
  On local disk the mark *is* the attempt's ``artifacts/{attempt}/_meta.json``: the commit
  creates that file exclusively, so a mark written first makes the commit fail, and a mark
  written after replaces the committed entry, which is then never served (no check at lookup).
  Elsewhere the mark is ``artifacts/{attempt}/_abandoned``: a worker checks it before
  committing and ``read_entry`` refuses an entry whose attempt is marked. Either way, whichever
  comes first, the abandoned work is never served.
* **Directories.** A ``directory`` artifact's stamp covers every file of its folder and its
  sha256 is that of its manifest (:mod:`tensorrag.storage.directory`), so a changed, added or
  removed file is found like a changed artifact.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from tensorrag._stamps import info_token
from tensorrag.errors import ArtifactCorruptError, StorageError, UnsafePathError
from tensorrag.storage import directory

if TYPE_CHECKING:
    from tensorrag.storage.store import ArtifactStore

__all__ = [
    "ABANDONED",
    "abandon",
    "check_bytes",
    "entry_problems",
    "entry_stamps",
    "file_stamp",
    "is_abandoned",
    "stamp",
    "verify_entry",
]

#: Marker file in an attempt's folder: the engine gave up on that attempt.
ABANDONED = "_abandoned"


def file_stamp(st: os.stat_result) -> str:
    """The stamp of a local file from its ``stat`` (size, mtime, ctime, inode)."""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _full(store: ArtifactStore, uri: str) -> str:
    return f"{store.root}/{store.relpath(uri)}"


def stamp(store: ArtifactStore, uri: str) -> str | None:
    """A cheap fingerprint of the file at ``uri`` (None: the store has none, or it is gone)."""
    try:
        full = _full(store, uri)
        if store.protocol == "file":
            return file_stamp(os.stat(full))
        if store.protocol == "memory":
            return None  # hashing RAM is cheap, and memory files have no reliable mtime
        if hasattr(store.fs, "invalidate_cache"):
            store.fs.invalidate_cache(full)
        return info_token(store.fs.info(full))
    except (OSError, UnsafePathError, TypeError):
        return None


def entry_stamps(store: ArtifactStore, groups: list[dict[str, Any]]) -> dict[str, str]:
    """Uri -> stamp for every artifact ref (with a uri) in ``groups`` (outputs, extras)."""
    out: dict[str, str] = {}
    if store.protocol == "memory":
        return out  # memory files have no stamp (see stamp)
    for group in groups:
        for ref in group.values():
            uri = ref.get("uri") if isinstance(ref, dict) else None
            if isinstance(uri, str):
                s = _stamp_of(store, ref)
                if s is not None:
                    out[uri] = s
    return out


def _stamp_of(store: ArtifactStore, ref: dict[str, Any]) -> str | None:
    """The stamp of one artifact ref at commit: a folder's from all its files, a file's as written or now."""
    uri = ref["uri"]
    if directory.is_directory_ref(ref):
        return directory.stamp(store, uri)
    return _written_stamp(store, uri) or stamp(store, uri)


def _written_stamp(store: ArtifactStore, uri: str) -> str | None:
    try:
        return store._backend.written_stamp(store.relpath(uri))
    except (UnsafePathError, TypeError):
        return None


def entry_problems(store: ArtifactStore, entry: dict[str, Any]) -> list[ArtifactCorruptError]:
    """The artifacts of a cache entry whose bytes no longer match their sha256 (see the module docstring)."""
    return verify_entry(store, entry)[1]


def verify_entry(store: ArtifactStore, entry: dict[str, Any]) -> tuple[bool, list[ArtifactCorruptError]]:
    """(whether every artifact of a cache entry is still there, those whose bytes no longer match their sha256).

    On local disk the ``stat`` that takes an artifact's stamp also tells that it is gone, so a
    lookup costs one ``stat`` per artifact; elsewhere a missing artifact is left to ``read_entry``.
    """
    local = store.protocol == "file"
    stamps = entry.get("stamps")
    recorded: dict[str, Any] = stamps if isinstance(stamps, dict) else {}
    problems: list[ArtifactCorruptError] = []
    for group in (entry.get("outputs"), entry.get("extras")):
        if not isinstance(group, dict):
            continue
        for ref in group.values():
            if not isinstance(ref, dict) or not isinstance(ref.get("uri"), str):
                continue
            uri = ref["uri"]
            is_dir = directory.is_directory_ref(ref)
            hashed = local or ref.get("sha256")
            now = directory.stamp(store, uri) if is_dir else (stamp(store, uri) if hashed else None)
            if now is None and local:
                return False, []  # gone (or not in this store): the entry no longer holds
            if not ref.get("sha256"):
                continue
            if now is not None and now == recorded.get(uri):
                continue  # unchanged since the commit: no need to read it
            if now is None and store.protocol not in ("file", "memory"):
                continue  # no metadata to go by: checked when read (ArtifactStore.get)
            try:
                if is_dir:
                    _check_directory(store, uri, ref["sha256"])
                else:
                    check_bytes(uri, _read(store, uri), ref["sha256"])
            except ArtifactCorruptError as exc:
                problems.append(exc)
            except StorageError:
                continue  # gone or unreadable: read_entry already treats a missing artifact as a miss
    return True, problems


def _check_directory(store: ArtifactStore, uri: str, expected: str) -> None:
    actual = directory.stored_digest(store, uri)
    if actual is None:
        raise StorageError(f"{uri} is gone")  # a miss, like a missing file
    if actual != expected:
        raise ArtifactCorruptError(uri, expected, actual)


def _read(store: ArtifactStore, uri: str) -> bytes | memoryview:
    return store.read_bytes(uri)


def check_bytes(uri: str, data: bytes | bytearray | memoryview, expected: str) -> None:
    """Raise :class:`ArtifactCorruptError` unless ``sha256(data) == expected``."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ArtifactCorruptError(uri, expected, actual)


def check_file(uri: str, path: str, expected: str) -> None:
    """:func:`check_bytes` for a local file, hashed without reading it into Python."""
    with open(path, "rb") as fh:
        actual = hashlib.file_digest(fh, "sha256").hexdigest()
    if actual != expected:
        raise ArtifactCorruptError(uri, expected, actual)


def abandon(store: ArtifactStore, attempt: str) -> None:
    """Mark ``attempt`` abandoned: no cache entry pointing at it is committed or served."""
    store.mark_abandoned(attempt)


def is_abandoned(store: ArtifactStore, attempt: str) -> bool:
    """Whether the engine gave up on ``attempt``."""
    try:
        return store.attempt_abandoned(attempt)
    except (UnsafePathError, StorageError):
        return False
