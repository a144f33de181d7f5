"""``ArtifactStore``: artifacts, cache entries, run manifests and pipeline documents over fsspec.

Layout under a project root (design.md §5)::

    {root}/{user}/workspace/{project}/_pipeline.json            saved graph
    {root}/{user}/workspace/{project}/_history/{stamp}-{hex}.json  every saved version
    {root}/{user}/workspace/{project}/runs/{run_id}.json         run manifests
    {root}/{user}/workspace/{project}/artifacts/{key}/{name}.{ext}  immutable outputs
    {root}/{user}/workspace/{project}/artifacts/{key}/_meta.json    cache entry (written last)
    {root}/{user}/workspace/{project}/artifacts/{key}/_preview.json node preview

Writes are atomic: a temp file in the same folder plus ``os.replace`` on local disk, one
``pipe_file`` (one PUT) on memory and object stores, so readers never see half a file.
Local disk and ``memory://`` take direct fast paths; everything else goes through fsspec.
Any fsspec URL works (``s3://`` needs ``pip install 'tensorrag[s3]'``).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ArtifactNotFoundError, StorageError, TensorragError, UnsafePathError
from tensorrag.storage.codecs import (
    EXTENSIONS,
    Buffer,
    check_ext,
    decode,
    encode_buffer,
    encode_json,
    encode_to,
    infer_type,
    resolve_ext,
    sha256,
    type_from_ext,
    type_name,
)
from tensorrag.storage.faults import guard, storage_error
from tensorrag.storage.integrity import check_bytes, check_file, is_abandoned
from tensorrag.storage.memo import ObjectMemo
from tensorrag.storage.paths import check_root, confine, safe_name, safe_relpath

if TYPE_CHECKING:
    import builtins
    import contextlib
    from collections.abc import Callable

    from fsspec import AbstractFileSystem

__all__ = ["ArtifactRef", "ArtifactStore", "open_store"]

#: ``{"type", "uri", "ext", "sha256", "size"}`` (``"data"`` instead of ``"uri"`` in payload mode).
ArtifactRef = dict[str, Any]

_META = "_meta.json"
_PREVIEW = "_preview.json"
_PIPELINE = "_pipeline.json"
_HISTORY = "_history"
_RUNS = "runs"
_ARTIFACTS = "artifacts"


def open_store(url: str | os.PathLike[str] | ArtifactStore | None = None, **storage_options: Any) -> ArtifactStore:
    """Open the artifact store at ``url``.

    Args:
        url: any fsspec URL (``file:///data``, ``memory://scratch``, ``s3://bucket/prefix``), a local
            path (made absolute), an open :class:`ArtifactStore` (returned as is), or ``None`` for
            the configured store (``TENSORRAG_STORAGE`` / ``STORAGE_DIR`` / ``S3_*`` variables).
        **storage_options: fsspec options for the filesystem (``key``, ``secret``,
            ``client_kwargs={"endpoint_url": ...}``); added to the configured ones when ``url`` is None;
            an ``s3://`` URL without options takes the ``S3_*`` variables' endpoint, region and keys.

    Raises:
        StorageError: the URL's filesystem cannot be opened (missing driver, bad options).
        UnsafePathError: ``url`` is not a str / path-like, or holds NUL, control characters or lone surrogates.
    """
    if isinstance(url, ArtifactStore):
        if storage_options:
            raise StorageError(
                f"{url!r} is already open; storage options {sorted(storage_options)} cannot be applied to it. "
                "Pass the URL instead of the store."
            )
        return url
    if url is None:
        from tensorrag.config import get_settings

        settings = get_settings()
        url = check_root(settings.storage_url, "storage root (from TENSORRAG_STORAGE / STORAGE_DIR / S3_BUCKET)")
        storage_options = {**settings.storage_options, **storage_options}
    elif not storage_options and check_root(url).startswith(("s3://", "s3a://")):
        from tensorrag.config import get_settings

        storage_options = dict(get_settings().s3_options)  # S3_ENDPOINT / S3_ACCESS_KEY / ... apply to any s3:// URL
    return ArtifactStore(os.fspath(url), storage_options)


class ArtifactStore:
    """An fsspec folder holding artifacts, cache entries, runs and pipeline documents.

    Attributes:
        url: the normalised root URL (``file:///abs/path``, ``memory://name``, ``s3://bucket/prefix``).
        options: the fsspec storage options (may hold credentials; never shown by ``repr``).
        fs: the fsspec filesystem (shared by every scoped child).
        root: the root as a path inside ``fs`` (``/abs/path``, ``/name``, ``bucket/prefix``).
        protocol: the filesystem's main protocol (``file``, ``memory``, ``s3``, ...).
    """

    url: str
    options: dict[str, Any]
    fs: AbstractFileSystem
    root: str
    protocol: str

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        from fsspec.core import url_to_fs

        raw = check_root(url)
        if "://" not in raw:
            # A plain path: pin it now so a later chdir cannot move the store.
            raw = "file://" + os.path.abspath(os.path.expanduser(raw)).replace(os.sep, "/")
        options = dict(storage_options or {})
        try:
            fs, root = url_to_fs(raw, **options)
        except ImportError as exc:
            scheme = raw.split("://", 1)[0]
            hint = "pip install 'tensorrag[s3]'" if scheme in ("s3", "s3a") else f"install the driver for {scheme}"
            raise StorageError(f"Cannot open storage {raw!r}: {exc}. Fix: {hint}.") from exc
        except (ValueError, TypeError) as exc:
            raise StorageError(f"Cannot open storage {raw!r} with options {sorted(options)}: {exc}") from exc
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        root = root.rstrip("/")
        if protocol == "memory":
            url_norm = "memory://" + root.lstrip("/")
        elif protocol in ("file", "local"):
            protocol = "file"
            url_norm = "file://" + (root or "/")
        else:
            url_norm = fs.unstrip_protocol(root).rstrip("/")
        self._init(fs, root, url_norm, options, protocol, root)

    def _init(
        self, fs: AbstractFileSystem, root: str, url: str, options: dict[str, Any], protocol: str, jail: str
    ) -> None:
        self.fs = fs
        self.root = root
        self.url = url
        self.options = options
        self.protocol = protocol
        self._base = root + "/"  # fs path prefix of every file
        self._url_base = url if url.endswith("/") else url + "/"
        self._kind = "local" if protocol == "file" else "memory" if protocol == "memory" else "remote"
        # Local files must stay inside the opened root (not this child's root) after resolving symlinks.
        self._jail = jail
        protos = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
        self._protocols = frozenset(protos) | {protocol}
        # Object-store drivers cache listings; drop them before existence checks and listings.
        self._listing_cache = self._kind == "remote" and hasattr(fs, "invalidate_cache")
        self._memo = ObjectMemo()
        #: Set on stores made by :meth:`project` (``{user}/workspace/{project}``), so callers need not guess.
        self.project_name: str | None = None

    # ------------------------------------------------------------------ identity

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"  # options hold credentials: never printed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArtifactStore):
            return NotImplemented
        return self.url == other.url and self.options == other.options

    def __hash__(self) -> int:
        return hash(self.url)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle as URL + options: the filesystem object is rebuilt (and cached) on the other side.
        return (type(self), (self.url, self.options))

    def to_wire(self) -> dict[str, Any]:
        """``{"url", "options"}``: what a task carries so a worker can open the same store."""
        return {"url": self.url, "options": dict(self.options)}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ArtifactStore:
        """Open the store described by :meth:`to_wire`.

        Raises:
            StorageError: ``wire`` is not ``{"url": str, "options": dict}``.
        """
        if not isinstance(wire, dict) or not isinstance(wire.get("url"), str):
            raise StorageError(f"A storage description must be {{'url': str, 'options': dict}}; got {wire!r}.")
        return cls(wire["url"], wire.get("options") or {})

    def scoped(self, *parts: str) -> ArtifactStore:
        """A child store rooted at ``root/part/...`` sharing this store's filesystem object.

        Raises:
            UnsafePathError: a part is not a safe relative path.
        """
        if not parts:
            return self
        rel = "/".join(safe_relpath(p, "scope") for p in parts)
        child = object.__new__(type(self))
        child._init(self.fs, self._base + rel, self._url_base + rel, self.options, self.protocol, self._jail)
        child._memo = self._memo  # one process-local object memo per root
        return child

    def project(self, project: str, user: str | None = None) -> ArtifactStore:
        """The store of one project: ``{user}/workspace/{project}`` (user defaults to the configured one).

        Raises:
            UnsafePathError: ``user`` or ``project`` is not a safe name.
        """
        if user is None:
            from tensorrag.config import get_settings

            user = get_settings().user
        child = self.scoped(safe_name(user, "user"), "workspace", safe_name(project, "project"))
        child.project_name = project
        return child

    # ------------------------------------------------------------------ paths

    def uri(self, path: str) -> str:
        """The full URL of ``path`` (relative to this store).

        Raises:
            UnsafePathError: ``path`` is not a safe relative path.
        """
        return self._url_base + safe_relpath(path)

    def relpath(self, uri: str) -> str:
        """The path relative to this store of ``uri`` (inverse of :meth:`uri`).

        Also accepts equivalent spellings: ``memory:///name/x``, and absolute local paths for local stores.

        Raises:
            UnsafePathError: ``uri`` is not inside this store.
        """
        s = os.fspath(uri)
        if not isinstance(s, str):
            raise UnsafePathError(f"A uri must be a string; got {type(uri).__name__} {uri!r}.")
        if s.startswith(self._url_base):
            rel = s[len(self._url_base) :]
        else:
            scheme, sep, _ = s.partition("://")
            alt = ""
            if (sep and scheme in self._protocols) or (not sep and self._kind == "local" and os.path.isabs(s)):
                alt = self.fs._strip_protocol(s)
            if not alt.startswith(self._base):
                raise UnsafePathError(
                    f"{s!r} is not inside the store {self.url!r}. Expected a uri starting with {self._url_base!r}; "
                    "open the store that holds it (open_store(url)) or pass a path relative to this one."
                )
            rel = alt[len(self._base) :]
        return safe_relpath(rel, f"path of {s!r} inside {self.url!r}")

    def _rel(self, path_or_uri: str) -> str:
        s = os.fspath(path_or_uri)
        if isinstance(s, str) and ("://" in s or (self._kind == "local" and os.path.isabs(s))):
            return self.relpath(s)
        return safe_relpath(s)

    # ------------------------------------------------------------------ bytes

    def write_bytes(self, path: str, data: Buffer) -> str:
        """Write ``data`` to ``path`` atomically (parents created) and return its uri.

        Raises:
            UnsafePathError: unsafe ``path``.
            StorageError: the write failed.
        """
        return self._write(self._rel(path), data)

    def _write(self, rel: str, data: Buffer) -> str:
        full = self._base + rel
        with self._guard("write", rel):
            if self._kind == "local":
                _write_local_atomic(self._local(rel), lambda fd, tmp: _write_fd(fd, data))
            elif self._kind == "memory":
                from fsspec.implementations.memory import MemoryFile

                # One dict assignment: atomic, and skips fsspec's O(files) parent checks.
                MemoryFile(self.fs, full, data).commit()
            else:
                self.fs.pipe_file(full, data if isinstance(data, bytes) else bytes(data))
        return self._url_base + rel

    def read_bytes(self, path_or_uri: str) -> bytes:
        """The bytes at a path (relative to this store) or a uri inside it.

        Raises:
            ArtifactNotFoundError: nothing is there.
            UnsafePathError: the path is unsafe or the uri is outside this store.
        """
        return self._read(self._rel(path_or_uri))

    def _read(self, rel: str) -> bytes:
        full = self._base + rel
        with self._guard("read", rel):
            try:
                if self._kind == "local":
                    with open(self._local(rel), "rb") as f:
                        return f.read()
                data = self.fs.cat_file(full)
                return data if isinstance(data, bytes) else bytes(data)
            except FileNotFoundError:
                raise self._not_found(rel) from None
            except IsADirectoryError:
                raise StorageError(f"{self._url_base + rel} is a folder, not a file.") from None

    def exists(self, path_or_uri: str) -> bool:
        """Whether a file or folder exists at a path or uri inside this store."""
        return self._exists(self._rel(path_or_uri))

    def _file_exists(self, rel: str) -> bool:
        full = self._base + rel
        if self._kind == "local":
            return os.path.isfile(self._local(rel))
        if self._kind == "memory":
            return full in self.fs.store  # type: ignore[attr-defined]
        return self._exists(rel)

    def _exists(self, rel: str) -> bool:
        full = self._base + rel
        if self._kind == "local":
            return os.path.exists(self._local(rel))
        if self._kind == "memory" and full in self.fs.store:  # type: ignore[attr-defined]
            return True  # O(1); fsspec's exists() scans every file for folders first
        with self._guard("check", rel):
            if self._listing_cache:
                self.fs.invalidate_cache(full)
            return bool(self.fs.exists(full))

    def delete(self, path: str, recursive: bool = False, missing_ok: bool = False) -> None:
        """Delete the file at ``path`` (a folder with ``recursive=True``).

        Raises:
            ArtifactNotFoundError: nothing is there (unless ``missing_ok``).
            StorageError: ``path`` is a folder and ``recursive`` is False, or the delete failed.
        """
        rel = self._rel(path)
        full = self._base + rel
        uri = self._url_base + rel
        self._memo.forget(uri)
        try:
            if self._listing_cache:
                self.fs.invalidate_cache(full)
            if self._kind == "local":
                self._local(rel)
                if os.path.isdir(full) and not os.path.islink(full):
                    if not recursive:
                        raise StorageError(f"{uri} is a folder; pass recursive=True to delete it and its contents.")
                    import shutil

                    shutil.rmtree(full)
                else:
                    os.remove(full)
                return
            if not self.fs.exists(full):
                raise FileNotFoundError(full)
            if self.fs.isdir(full):
                if not recursive:
                    raise StorageError(f"{uri} is a folder; pass recursive=True to delete it and its contents.")
                self.fs.rm(full, recursive=True)
            else:
                self.fs.rm_file(full)
        except FileNotFoundError:
            if not missing_ok:
                raise self._not_found(rel) from None
        except TensorragError:
            raise
        except Exception as exc:
            raise storage_error(exc, "delete", uri, self.options) from exc
        finally:
            if self._listing_cache:
                self.fs.invalidate_cache(full)

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Sorted paths (relative to this store) of every file under ``prefix``, recursively.

        Returns ``[]`` when ``prefix`` does not exist; hidden temp files are never listed.
        """
        rel = safe_relpath(prefix, "prefix") if prefix else ""
        full = self._base + rel if rel else self.root or "/"
        cut = len(self._base)
        with self._guard("list", rel):
            if self._kind == "local":
                self._local(rel)
                if os.path.isfile(full):
                    return [rel]
                out: builtins.list[str] = []
                for dirpath, dirnames, filenames in os.walk(full):
                    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                    base = dirpath.replace(os.sep, "/") + "/"
                    out.extend((base + f)[cut:] for f in filenames if not f.startswith("."))
                return sorted(out)
            if self._listing_cache:
                self.fs.invalidate_cache(full)
            try:
                found = self.fs.find(full)
            except FileNotFoundError:
                return []
        return sorted(p[cut:] for p in found if p.startswith(self._base) and "/." not in "/" + p[cut:])

    def list_folders(self, prefix: str = "") -> builtins.list[str]:
        """Sorted names of the folders directly under ``prefix`` (``[]`` when it does not exist).

        Raises:
            StorageError: the listing failed (typed: unreachable server, no access, ...).
        """
        rel = safe_relpath(prefix, "prefix") if prefix else ""
        full = self._base + rel if rel else self.root or "/"
        with self._guard("list", rel):
            try:
                if self._kind == "local":
                    self._local(rel)
                    with os.scandir(full) as it:
                        found = [e for e in it if e.is_dir() and not e.name.startswith(".")]
                    # A symlinked folder leading out of the root cannot be opened: do not offer it.
                    jail = os.path.join(os.path.realpath(self._jail or "/"), "")
                    return sorted(
                        e.name
                        for e in found
                        if not e.is_symlink() or os.path.join(os.path.realpath(e.path), "").startswith(jail)
                    )
                if self._listing_cache:
                    self.fs.invalidate_cache(full)
                entries = self.fs.ls(full, detail=True)
            except (FileNotFoundError, NotADirectoryError):
                return []
        names = (str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")
        return sorted(n for n in names if not n.startswith("."))

    # ------------------------------------------------------------------ json

    def write_json(self, path: str, obj: Any, indent: int | None = None) -> str:
        """Write ``obj`` as UTF-8 JSON atomically (NaN/inf become null) and return the uri."""
        return self._write(self._rel(path), encode_json(obj, indent=indent))

    def read_json(self, path: str) -> Any:
        """Read a JSON file.

        Raises:
            ArtifactNotFoundError: the file is missing.
            StorageError: the file is not valid JSON.
        """
        return self._read_json(self._rel(path))

    def _read_json(self, rel: str) -> Any:
        data = self._read(rel)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StorageError(
                f"{self._url_base + rel} is not valid JSON ({exc}). The file is corrupt; delete or restore it."
            ) from exc

    # ------------------------------------------------------------------ artifacts

    def put(self, key: str, name: str, value: Any, type: str | None = None, ext: str | None = None) -> ArtifactRef:
        """Encode ``value`` and store it at ``artifacts/{key}/{name}.{ext}``.

        Args:
            key: the node's cache key (a safe name, e.g. a hex digest).
            name: the output name (a safe name).
            value: the object to store.
            type: port type; ``None``/``"any"`` infers it from the value.
            ext: file extension (only meaningful for ``bytes``).

        Returns:
            ``{"type", "uri", "ext", "sha256", "size"}``.

        Raises:
            StorageError: the value does not fit ``type`` or the write failed.
            UnsafePathError: ``key`` or ``name`` is unsafe.
        """
        if type is None or type == "any":
            type = infer_type(value)
        if self._kind != "local" or type in ("json", "bytes"):
            data, ext = encode_buffer(type, value, ext)
            art = self._put_encoded(key, name, data, type, ext)
            self._memo.remember(art["uri"], value, type)
            return art
        # Local parquet/joblib: pyarrow/joblib write the temp file natively, then it is hashed in place.
        ext = resolve_ext(type, ext)
        rel = self._artifact_rel(key, name, ext)
        typ = type
        digest: tuple[str, int] = ("", 0)

        def fill(fd: int, tmp: str) -> None:
            nonlocal digest
            encode_to(typ, value, tmp, ext)
            digest = _sha256_file(tmp)

        with self._guard("write", rel):
            _write_local_atomic(self._local(rel), fill)
        self._memo.remember(self._url_base + rel, value, typ)
        return {"type": typ, "uri": self._url_base + rel, "ext": ext, "sha256": digest[0], "size": digest[1]}

    def put_bytes(self, key: str, name: str, data: Buffer, type: str, ext: str | None = None) -> ArtifactRef:
        """Store already-encoded bytes (e.g. from a payload-mode worker) as an artifact.

        Raises:
            StorageError: unknown ``type``, bad ``ext`` or the write failed.
        """
        if type not in EXTENSIONS:
            type = type_from_ext(ext) if type == "any" else type
            if type not in EXTENSIONS:
                raise StorageError(f"Unknown artifact type {type!r}; expected one of {', '.join(EXTENSIONS)}.")
        ext = check_ext(ext) if ext else EXTENSIONS[type]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise StorageError(f"put_bytes expects bytes; got {type_name(data)}. Use put() for objects.")
        return self._put_encoded(key, name, data, type, ext)

    def _put_encoded(self, key: str, name: str, data: Buffer, type: str, ext: str) -> ArtifactRef:
        uri = self._write(self._artifact_rel(key, name, ext), data)
        return {"type": type, "uri": uri, "ext": ext, "sha256": sha256(data), "size": memoryview(data).nbytes}

    def get(self, ref: ArtifactRef | str) -> Any:
        """The decoded object of an artifact ref (or of a uri, typed by its extension).

        A ref's bytes are checked against its ``sha256`` (objects this process wrote are not re-read).

        Raises:
            ArtifactNotFoundError: the artifact is gone.
            ArtifactCorruptError: the bytes do not match the ref's sha256.
            StorageError: the ref is malformed or the bytes cannot be decoded.
        """
        if isinstance(ref, dict):
            typ = ref.get("type") or "any"
            if "data" in ref:
                data = ref["data"]
                if not isinstance(data, (bytes, bytearray, memoryview)):
                    return data  # a JSON object carried inline
                return decode(typ, data, ref.get("ext"))
            uri = ref.get("uri")
            if not isinstance(uri, str):
                raise StorageError(f"An artifact ref needs a 'uri' or 'data'; got keys {sorted(ref)}.")
            ext = ref.get("ext") or _suffix(uri)
        else:
            uri = os.fspath(ref)
            ext = _suffix(uri)
            typ = type_from_ext(ext)
        if typ not in EXTENSIONS:
            typ = type_from_ext(ext)  # 'any' or a custom port type: the extension decides
        rel = self._rel(uri)
        hit, obj = self._memo.recall(self._url_base + rel, typ)
        if hit:
            return obj  # written by this process moments ago: skip reading and decoding
        expected = ref.get("sha256") if isinstance(ref, dict) else None
        if typ == "dataframe" and self._kind == "local":
            with self._guard("read", rel):
                if expected:
                    self._check_local(rel, expected)
                return _read_parquet_file(self._local(rel), self._url_base + rel, self._not_found(rel))
        data = self._read(rel)
        if expected:
            check_bytes(self._url_base + rel, data, expected)
        return decode(typ, data, ext)

    def _check_local(self, rel: str, expected: str) -> None:
        try:
            check_file(self._url_base + rel, self._local(rel), expected)
        except FileNotFoundError:
            raise self._not_found(rel) from None

    def get_bytes(self, ref: ArtifactRef | str) -> bytes:
        """The encoded bytes of an artifact ref or uri (inline ``data`` is returned as is).

        Raises:
            ArtifactCorruptError: the ref records a sha256 and the bytes read do not match it.
        """
        if isinstance(ref, dict):
            if "data" in ref:
                data = ref["data"]
                if isinstance(data, bytes):
                    return data
                if isinstance(data, (bytearray, memoryview)):
                    return bytes(data)
                return encode_json(data)
            uri = ref.get("uri")
            if not isinstance(uri, str):
                raise StorageError(f"An artifact ref needs a 'uri' or 'data'; got keys {sorted(ref)}.")
            data = self.read_bytes(uri)
            if ref.get("sha256"):
                check_bytes(uri, data, ref["sha256"])
            return data
        return self.read_bytes(ref)

    # ------------------------------------------------------------------ cache entries and previews

    def write_entry(self, key: str, entry: dict[str, Any]) -> str:
        """Write the cache entry of ``key`` (``artifacts/{key}/_meta.json``): the commit marker, write it last."""
        return self._write(self._key_rel(key, _META), encode_json(entry))

    def read_entry(self, key: str) -> dict[str, Any] | None:
        """The cache entry of ``key``, or None when missing or when one of its artifacts is gone."""
        if self._kind != "remote" and not self._file_exists(self._key_rel(key, _META)):
            return None  # the common miss, without raising and catching an exception
        try:
            entry = self._read_json(self._key_rel(key, _META))
        except ArtifactNotFoundError:
            return None
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get("attempt"), str) and is_abandoned(self, entry["attempt"]):
            return None  # committed by an attempt the engine had given up on (timeout, cancel)
        for group in (entry.get("outputs"), entry.get("extras")):
            if not isinstance(group, dict):
                continue
            for ref in group.values():
                if isinstance(ref, dict) and "uri" in ref and not self._uri_exists(ref["uri"]):
                    return None  # an artifact was deleted: the entry no longer holds
        return entry

    def _uri_exists(self, uri: Any) -> bool:
        try:
            return self._exists(self.relpath(uri))
        except (UnsafePathError, TypeError):
            return False  # not in this store: treat as missing so the node recomputes

    def write_preview(self, key: str, preview: Any) -> str:
        """Write the preview of ``key`` (``artifacts/{key}/_preview.json``)."""
        return self._write(self._key_rel(key, _PREVIEW), encode_json(preview))

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
        return self._write(f"{_RUNS}/{safe_name(run_id, 'run id')}.json", encode_json(manifest))

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
            known = ", ".join(runs[:5]) + (" ..." if len(runs) > 5 else "") if runs else "none"
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

    # ------------------------------------------------------------------ errors and confinement

    def _guard(self, op: str, rel: str) -> contextlib.AbstractContextManager[None]:
        return guard(op, self._url_base + rel if rel else self.url, self.options)

    def _local(self, rel: str) -> str:
        """The local path of ``rel``, checked to stay inside the opened root after resolving symlinks."""
        full = self._base + rel if rel else self.root or "/"
        confine(full, self._jail, self._url_base + rel)
        return full

    def _not_found(self, rel: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(
            f"No artifact at {self._url_base + rel}: it was never written or has been deleted. "
            "Re-run the node that produces it."
        )


# --------------------------------------------------------------------------- helpers


def _suffix(uri: str) -> str:
    name = uri.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _write_local_atomic(full: str, fill: Callable[[int, str], object]) -> None:
    """Create a temp file next to ``full``, let ``fill(fd, tmp_path)`` write it, then rename it over ``full``."""
    folder = os.path.dirname(full)
    # A dot-name in the same folder: os.replace is atomic there and listings skip it.
    tmp = f"{folder}/.tmp-{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # 0o666 & umask, like a plain open(); mkstemp would force 0o600
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        try:
            fill(fd, tmp)
        finally:
            os.close(fd)
        os.replace(tmp, full)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_fd(fd: int, data: Buffer) -> None:
    view = memoryview(data).cast("B")
    while view:  # os.write may write less than asked
        view = view[os.write(fd, view) :]


def _sha256_file(path: str) -> tuple[str, int]:
    """(hex SHA-256, size) of a local file, hashed through a memory map (no copy into Python)."""
    import mmap

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return hashlib.sha256(b"").hexdigest(), 0
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return hashlib.sha256(mm).hexdigest(), size


def _read_parquet_file(path: str, uri: str, missing: ArtifactNotFoundError) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Memory-mapped: no copy into Python bytes first; the map closes when its buffers are freed.
        return pq.read_table(pa.memory_map(path, "r")).to_pandas()
    except FileNotFoundError:
        raise missing from None
    except (pa.ArrowException, OSError) as exc:
        if not os.path.exists(path):
            raise missing from None
        raise StorageError(
            f"Could not decode {uri} as a 'dataframe' artifact (parquet): {exc}. "
            "The artifact is corrupt or was saved with another type."
        ) from exc
