"""``directory`` artifacts: a folder of files (a Hugging Face checkpoint, a LoRA adapter, a tokenizer).

A directory is stored file by file under ``artifacts/{attempt}/{name}/...`` and named by a ref::

    {"type": "directory", "uri": ".../artifacts/{attempt}/{name}", "ext": "dir",
     "sha256": <sha256 of the sorted manifest>, "files": <count>, "size": <total bytes>}

The manifest is the sorted list of ``(relative path, sha256, size)`` of every file; its sha256
names the content, so the cache and :func:`load` detect a changed, added or removed file like a
changed artifact. Hidden files (a path part starting with ``.``) are skipped, as in every store
listing. :func:`load` gives a read-only local folder: on local disk the stored folder itself
(checked once per process), elsewhere a copy materialised once per machine under
``TENSORRAG_DIR_CACHE`` (default ``{tempdir}/tensorrag-dirs``), keyed by content. Workers without a
shared store (payload mode) carry a directory as uncompressed tar bytes (:func:`pack` /
:func:`unpack`), at most ``TENSORRAG_MAX_DIRECTORY_PAYLOAD`` bytes (default 1 GiB).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from tensorrag._stamps import info_token
from tensorrag.errors import ArtifactCorruptError, ArtifactNotFoundError, StorageError
from tensorrag.storage.paths import safe_name, safe_relpath

if TYPE_CHECKING:
    from tensorrag.storage.store import ArtifactRef, ArtifactStore

__all__ = [
    "DIRECTORY",
    "digest",
    "is_directory_ref",
    "load",
    "max_payload",
    "pack",
    "pack_stored",
    "put_payload",
    "save",
    "scan",
    "stamp",
    "stored_digest",
    "unpack",
]

#: The port / artifact type.
DIRECTORY = "directory"
_EXT = "dir"
_CHUNK = 1 << 20
_LOCK = threading.Lock()
_VERIFIED: dict[tuple[str, str], str] = {}  # (folder, sha256) -> stamp when last verified, this process
_PAYLOAD_DEFAULT = 1 << 30

Manifest = list[tuple[str, str, int]]


def is_directory_ref(ref: Any) -> bool:
    """Whether ``ref`` is a ``directory`` artifact ref."""
    return isinstance(ref, dict) and ref.get("type") == DIRECTORY


def digest(manifest: Manifest) -> str:
    """The sha256 of a sorted manifest ``[(relative path, sha256, size), ...]`` (a directory's content hash)."""
    text = json.dumps(sorted([list(e) for e in manifest]), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_sha(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _walk(folder: str) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        out.extend(f if base == "." else f"{base}/{f}" for f in filenames if not f.startswith("."))
    return sorted(out)


def scan(local_path: str | os.PathLike[str]) -> Manifest:
    """The manifest of a local folder (hidden files skipped).

    Raises:
        StorageError: ``local_path`` is not a folder, or holds a name that is not a safe relative path.
    """
    folder = os.fspath(local_path)
    if not os.path.isdir(folder):
        what = "does not exist" if not os.path.exists(folder) else "is a file"
        raise StorageError(
            f"save_directory needs a folder; {folder!r} {what}. Save the model/tokenizer there first "
            "(model.save_pretrained(folder)) and pass that folder."
        )
    out: Manifest = []
    for rel in _walk(folder):
        safe_relpath(rel, f"file in {folder!r}")
        full = os.path.join(folder, rel)
        out.append((rel, _file_sha(full), os.path.getsize(full)))
    return out


def _ref(store: ArtifactStore, rel: str, manifest: Manifest) -> ArtifactRef:
    return {
        "type": DIRECTORY,
        "uri": store.uri(rel),
        "ext": _EXT,
        "sha256": digest(manifest),
        "files": len(manifest),
        "size": sum(e[2] for e in manifest),
    }


def save(store: ArtifactStore, key: str, name: str, local_path: str | os.PathLike[str]) -> ArtifactRef:
    """Copy the folder ``local_path`` to ``artifacts/{key}/{name}/`` in ``store`` and return its ref.

    Each file is written once (one PUT on object stores); on local disk the copies are made read-only.

    Raises:
        StorageError: ``local_path`` is not a folder, or a write failed.
        UnsafePathError: ``key`` or ``name`` is unsafe.
    """
    folder = os.fspath(local_path)
    manifest = scan(folder)
    rel = f"artifacts/{safe_name(key, 'artifact key')}/{safe_name(name, 'output name')}"
    if store.exists(rel):
        store.delete(rel, recursive=True)  # the same key saved again: only the last save remains
    proto = store.protocol
    for inner, _, _ in manifest:
        src = os.path.join(folder, inner)
        dst = f"{rel}/{inner}"
        if proto == "file":
            full = store._backend.path(dst)  # type: ignore[attr-defined]
            os.makedirs(os.path.dirname(full), exist_ok=True)
            shutil.copyfile(src, full)
            os.chmod(full, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        elif proto == "memory":
            with open(src, "rb") as fh:
                store.write_bytes(dst, fh.read())
        else:
            with store._guard("write", dst):
                store.fs.put_file(src, f"{store.root}/{dst}")
    if proto not in ("file", "memory"):
        store._backend.refresh(f"{store.root}/{rel}")
    return _ref(store, rel, manifest)


def _files(store: ArtifactStore, rel: str) -> list[str]:
    """Paths inside the stored folder ``rel`` (sorted, hidden files skipped)."""
    cut = len(rel) + 1
    return [p[cut:] for p in store.list(rel)]


def stored_digest(store: ArtifactStore, uri: str) -> str | None:
    """The manifest sha256 of the stored folder at ``uri`` now (None when it is gone or empty)."""
    rel = store.relpath(uri)
    names = _files(store, rel)
    if not names:
        return None
    manifest: Manifest = []
    for inner in names:
        if store.protocol == "file":
            full = store._backend.path(f"{rel}/{inner}")  # type: ignore[attr-defined]
            manifest.append((inner, _file_sha(full), os.path.getsize(full)))
        else:
            data = store.read_bytes(f"{rel}/{inner}")
            manifest.append((inner, hashlib.sha256(data).hexdigest(), len(data)))
    return digest(manifest)


def stamp(store: ArtifactStore, uri: str) -> str | None:
    """A cheap fingerprint of every file of the stored folder (None: memory store, or gone)."""
    if store.protocol == "memory":
        return None
    try:
        rel = store.relpath(uri)
        names = _files(store, rel)
        if not names:
            return None
        parts: list[str] = []
        for inner in names:
            if store.protocol == "file":
                st = os.stat(store._backend.path(f"{rel}/{inner}"))  # type: ignore[attr-defined]
                parts.append(f"{inner}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
            else:
                token = info_token(store.fs.info(f"{store.root}/{rel}/{inner}"))
                if token is None:
                    return None
                parts.append(f"{inner}:{token}")
        return "dir:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()
    except (OSError, StorageError, TypeError):
        return None


def _cache_root() -> str:
    root = os.environ.get("TENSORRAG_DIR_CACHE") or os.path.join(tempfile.gettempdir(), "tensorrag-dirs")
    os.makedirs(root, exist_ok=True)
    return root


def _make_read_only(folder: str) -> None:
    for dirpath, _, filenames in os.walk(folder):
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _publish(tmp: str, expected: str, where: str) -> str:
    """Check the filled temp folder ``tmp`` against ``expected`` and move it to the cache (once per content)."""
    actual = digest(scan(tmp))
    if actual != expected:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArtifactCorruptError(where, expected, actual)
    _make_read_only(tmp)
    final = os.path.join(_cache_root(), expected)
    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another worker published the same content first
        if not os.path.isdir(final):
            raise
    return final


def _cached(expected: str) -> str | None:
    final = os.path.join(_cache_root(), expected)
    return final if os.path.isdir(final) else None


def load(store: ArtifactStore | None, ref: ArtifactRef) -> str:
    """A read-only local folder with the content of the directory ``ref``.

    Raises:
        ArtifactNotFoundError: the folder is gone.
        ArtifactCorruptError: its files no longer match the ref's sha256.
        StorageError: the ref is not a directory ref, or payload mode got a uri.
    """
    expected = ref.get("sha256")
    if "data" in ref:
        with _LOCK:
            return (_cached(expected) if expected else None) or unpack(ref["data"], expected or None)
    uri = ref.get("uri")
    if not isinstance(uri, str):
        raise StorageError(f"A directory ref needs a 'uri' or 'data'; got keys {sorted(ref)}.")
    if store is None:
        raise StorageError(
            f"Cannot load the directory {uri}: this handle runs in payload mode (no store). "
            "Send the input as data, or give the worker access to the store."
        )
    rel = store.relpath(uri)
    if not isinstance(expected, str) or not expected:
        expected = stored_digest(store, uri)  # a bare uri: trust what is there now
        if expected is None:
            raise _gone(uri)
    if store.protocol == "file":
        folder = store._backend.path(rel)  # type: ignore[attr-defined]
        now = stamp(store, uri)
        if now is None:
            raise _gone(uri)
        with _LOCK:
            if _VERIFIED.get((folder, expected)) == now:
                return folder
        actual = stored_digest(store, uri)
        if actual != expected:
            raise ArtifactCorruptError(uri, expected, actual or "0" * 64)
        with _LOCK:
            _VERIFIED[(folder, expected)] = now
        return folder
    with _LOCK:
        hit = _cached(expected)
        if hit is not None:
            return hit
        names = _files(store, rel)
        if not names:
            raise _gone(uri)
        tmp = tempfile.mkdtemp(prefix=".part-", dir=_cache_root())
        try:
            for inner in names:
                dst = os.path.join(tmp, *inner.split("/"))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if store.protocol == "memory":
                    with open(dst, "wb") as fh:
                        fh.write(store.read_bytes(f"{rel}/{inner}"))
                else:
                    with store._guard("read", f"{rel}/{inner}"):
                        store.fs.get_file(f"{store.root}/{rel}/{inner}", dst)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return _publish(tmp, expected, uri)


def _gone(uri: str) -> ArtifactNotFoundError:
    return ArtifactNotFoundError(
        f"No directory at {uri}: it was never written or has been deleted. Re-run the node that produces it."
    )


def max_payload() -> int:
    """The most bytes a directory may take as a payload (``TENSORRAG_MAX_DIRECTORY_PAYLOAD``)."""
    raw = os.environ.get("TENSORRAG_MAX_DIRECTORY_PAYLOAD", "")
    try:
        return int(raw) if raw.strip() else _PAYLOAD_DEFAULT
    except ValueError:
        raise StorageError(
            f"TENSORRAG_MAX_DIRECTORY_PAYLOAD must be a whole number of bytes; got {raw!r}."
        ) from None


def pack(local_path: str | os.PathLike[str], manifest: Manifest | None = None, where: str = "") -> bytes:
    """The folder as uncompressed tar bytes (sorted, no owners or times: same content, same bytes).

    Raises:
        StorageError: the folder is larger than :func:`max_payload`.
    """
    folder = os.fspath(local_path)
    manifest = scan(folder) if manifest is None else manifest
    total, limit = sum(e[2] for e in manifest), max_payload()
    if total > limit:
        raise StorageError(
            f"The directory {where or folder} holds {total / 2**20:.1f} MiB, above the {limit / 2**20:.1f} MiB "
            "a worker without a shared store may carry in its payload. Fix: run with a store the worker "
            "can reach (a local folder for executor='process', an s3:// store for Modal), or raise "
            "TENSORRAG_MAX_DIRECTORY_PAYLOAD."
        )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for inner, _, size in manifest:
            info = tarfile.TarInfo(inner)
            info.size, info.mode, info.mtime = size, 0o444, 0
            with open(os.path.join(folder, inner), "rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def pack_stored(store: ArtifactStore, ref: ArtifactRef) -> bytes:
    """The stored directory ``ref`` as tar bytes (checked against its sha256 on the way)."""
    return pack(load(store, ref), where=str(ref.get("uri")))


def unpack(data: Any, expected: str | None = None) -> str:
    """Extract tar bytes into the content cache and return the read-only folder.

    Raises:
        StorageError: ``data`` is not a tar of plain files with safe names.
        ArtifactCorruptError: the files do not match ``expected``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StorageError(f"A directory payload must be tar bytes; got {type(data).__name__}.")
    tmp = tempfile.mkdtemp(prefix=".part-", dir=_cache_root())
    try:
        with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    raise StorageError(f"A directory payload may hold only files; {member.name!r} is not one.")
                safe_relpath(member.name, "file in a directory payload")
            tar.extractall(tmp, filter="data")
    except tarfile.TarError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(f"A directory payload is not a valid tar archive: {exc}.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if expected is None:
        expected = digest(scan(tmp))
    if _cached(expected):
        shutil.rmtree(tmp, ignore_errors=True)
        return os.path.join(_cache_root(), expected)
    return _publish(tmp, expected, "a directory payload")


def put_payload(store: ArtifactStore, key: str, name: str, data: Any) -> ArtifactRef:
    """Store a directory carried as tar bytes (a payload-mode worker's output) under ``artifacts/{key}/{name}``."""
    return save(store, key, name, unpack(data))
