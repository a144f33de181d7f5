"""``ArtifactStore``: artifacts, cache entries, run manifests and pipeline documents over fsspec.

Writes are atomic: a temp file in the same folder plus ``os.replace`` on local disk, one
``pipe_file`` (one PUT) on memory and object stores, so readers never see half a file. A new
artifact (``put``) on local disk is created in place when its name is free: nothing refers to it
until ``put`` returns its ref, a failed write removes it, and a reader goes by the cache entry,
written after it (an artifact written again is replaced atomically). The file
work is done by one backend per kind of filesystem (:mod:`tensorrag.storage._backends`); the
layout under a project root (design.md §5) is :class:`~tensorrag.storage._layout.StoreLayout`.
Any fsspec URL works (``s3://`` needs ``pip install 'tensorrag[s3]'``).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, TypeVar

from tensorrag.errors import ArtifactNotFoundError, SpecError, StorageError, TensorragError, UnsafePathError
from tensorrag.spec import load_json
from tensorrag.storage import directory
from tensorrag.storage._backends import LocalBackend, MemoryBackend, backend_for
from tensorrag.storage._layout import StoreLayout
from tensorrag.storage.codecs import (
    EXTENSIONS,
    Buffer,
    check_ext,
    decode,
    encode_buffer,
    encode_json,
    infer_type,
    resolve_ext,
    sha256,
    type_from_ext,
    type_name,
)
from tensorrag.storage.faults import storage_error
from tensorrag.storage.integrity import check_bytes, check_file
from tensorrag.storage.live import live_copy, live_value, plain_json
from tensorrag.storage.memo import ObjectMemo
from tensorrag.storage.paths import check_root, safe_name, safe_relpath

if TYPE_CHECKING:
    import builtins
    import contextlib
    from collections.abc import Sequence

    from fsspec import AbstractFileSystem

    from tensorrag.storage.project import ProjectStore

__all__ = ["ArtifactRef", "ArtifactStore", "open_store"]

#: ``{"type", "uri", "ext", "sha256", "size"}`` (``"data"`` instead of ``"uri"`` in payload mode).
ArtifactRef = dict[str, Any]

_S = TypeVar("_S", bound="ArtifactStore")


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


class ArtifactStore(StoreLayout):
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
        # Local files must stay inside the opened root (not this child's root) after resolving symlinks.
        self._jail = jail
        protos = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
        self._protocols = frozenset(protos) | {protocol}
        self._backend = backend_for(protocol)(fs, root, url, options, jail)
        self._memo = ObjectMemo()
        #: The project's name on a :class:`~tensorrag.storage.project.ProjectStore`; None on other stores.
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
        return self._child(type(self), parts) if parts else self

    def _child(self, cls: type[_S], parts: Sequence[str]) -> _S:
        rel = "/".join(safe_relpath(p, "scope") for p in parts)
        child = object.__new__(cls)
        child._init(self.fs, self._base + rel, self._url_base + rel, self.options, self.protocol, self._jail)
        child._memo = self._memo  # one process-local object memo per root
        return child

    def project(self, project: str, user: str | None = None) -> ProjectStore:
        """The store of one project: ``{user}/workspace/{project}`` (user defaults to the configured one).

        Raises:
            UnsafePathError: ``user`` or ``project`` is not a safe name.
        """
        if user is None:
            from tensorrag.config import get_settings

            user = get_settings().user
        from tensorrag.storage.project import ProjectStore

        child = self._child(ProjectStore, (safe_name(user, "user"), "workspace", safe_name(project, "project")))
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
            if (sep and scheme in self._protocols) or (not sep and self._backend.is_local and os.path.isabs(s)):
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
        if isinstance(s, str) and ("://" in s or (self._backend.is_local and os.path.isabs(s))):
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
        with self._guard("write", rel):
            self._backend.write(rel, data)
        return self._url_base + rel

    def read_bytes(self, path_or_uri: str) -> bytes:
        """The bytes at a path (relative to this store) or a uri inside it.

        Raises:
            ArtifactNotFoundError: nothing is there.
            UnsafePathError: the path is unsafe or the uri is outside this store.
        """
        return self._read(self._rel(path_or_uri))

    def _read(self, rel: str) -> bytes:
        with self._guard("read", rel):
            try:
                return self._backend.read(rel)
            except FileNotFoundError:
                raise self._not_found(rel) from None
            except IsADirectoryError:
                raise StorageError(f"{self._url_base + rel} is a folder, not a file.") from None

    def exists(self, path_or_uri: str) -> bool:
        """Whether a file or folder exists at a path or uri inside this store."""
        return self._exists(self._rel(path_or_uri))

    def _file_exists(self, rel: str) -> bool:
        return self._backend.file_exists(rel)

    def _exists(self, rel: str) -> bool:
        return self._backend.exists(rel)

    def delete(self, path: str, recursive: bool = False, missing_ok: bool = False) -> None:
        """Delete the file at ``path`` (a folder with ``recursive=True``).

        Raises:
            ArtifactNotFoundError: nothing is there (unless ``missing_ok``).
            StorageError: ``path`` is a folder and ``recursive`` is False, or the delete failed.
        """
        rel = self._rel(path)
        uri = self._url_base + rel
        self._memo.forget(uri)
        try:
            self._backend.delete(rel, recursive)
        except FileNotFoundError:
            if not missing_ok:
                raise self._not_found(rel) from None
        except TensorragError:
            raise
        except Exception as exc:
            raise storage_error(exc, "delete", uri, self.options) from exc

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Sorted paths (relative to this store) of every file under ``prefix``, recursively.

        Returns ``[]`` when ``prefix`` does not exist; hidden temp files are never listed.
        """
        rel = safe_relpath(prefix, "prefix") if prefix else ""
        with self._guard("list", rel):
            return self._backend.list(rel)

    def list_folders(self, prefix: str = "") -> builtins.list[str]:
        """Sorted names of the folders directly under ``prefix`` (``[]`` when it does not exist).

        Raises:
            StorageError: the listing failed (typed: unreachable server, no access, ...).
        """
        rel = safe_relpath(prefix, "prefix") if prefix else ""
        with self._guard("list", rel):
            return self._backend.list_folders(rel)

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

    def _write_json(self, rel: str, value: Any, plain: bool = False, indent: int | None = None) -> str:
        """Write ``value`` as JSON at ``rel``; ``plain``: it holds only JSON values already (no NaN, str keys)."""
        backend = self._backend
        if isinstance(backend, MemoryBackend):
            with self._guard("write", rel):
                # Kept as reading it back as JSON would give it.
                encoder = functools.partial(encode_json, indent=indent) if indent is not None else None
                backend.keep(rel, value if plain else plain_json(value), "json", "json", encoder)
            return self._url_base + rel
        return self._write(rel, encode_json(value, indent=indent))

    def _read_json(self, rel: str) -> Any:
        backend = self._backend
        if isinstance(backend, MemoryBackend):
            kept = backend.kept(rel)
            if kept is not None and kept[1] == "json":
                return kept[0]
        data = self._read(rel)
        try:
            return load_json(data, self._url_base + rel)
        except SpecError as exc:  # the one strict reader: bad UTF-8, NaN, absurd nesting or size
            raise StorageError(f"{exc} The file is corrupt; delete or restore it.") from None

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
        if type == "directory":  # value is the local folder to copy
            return self.save_directory(key, name, value)
        backend = self._backend
        if not isinstance(backend, LocalBackend) or type in ("json", "bytes"):
            data, ext = encode_buffer(type, value, ext)
            art = self._put_encoded(key, name, data, type, ext)
            # JSON is remembered as the bytes written (encoding changes it: NaN -> null, tuples -> lists).
            self._memo.remember(art["uri"], bytes(data) if type == "json" else value, type)
            return art
        # Local parquet/joblib: pyarrow/joblib write the temp file natively, then it is hashed in place.
        ext = resolve_ext(type, ext, value)
        rel = self._artifact_rel(key, name, ext)
        with self._guard("write", rel):
            digest = backend.write_encoded(rel, type, value, ext)
        self._memo.remember(self._url_base + rel, value, type)
        return {"type": type, "uri": self._url_base + rel, "ext": ext, "sha256": digest[0], "size": digest[1]}

    def keep(self, key: str, name: str, value: Any, type: str | None = None, ext: str | None = None) -> ArtifactRef:
        """:meth:`put` for a run's own outputs: on ``memory://`` the object is kept as it is.

        There the ref has no ``sha256``/``size`` and the bytes are made only if someone reads them
        (see :mod:`tensorrag.storage.live`); on every other store this is :meth:`put`.

        Raises:
            StorageError: the value does not fit ``type``.
            UnsafePathError: ``key`` or ``name`` is unsafe.
        """
        if type is None or type == "any":
            type = infer_type(value)
        backend = self._backend
        if not isinstance(backend, MemoryBackend) or type not in EXTENSIONS:
            return self.put(key, name, value, type, ext)
        ext = resolve_ext(type, ext, value)  # a declaring model's ref names the format its bytes will have
        rel = self._artifact_rel(key, name, ext)
        backend.keep(rel, live_value(type, value), type, ext)
        return {"type": type, "uri": self._url_base + rel, "ext": ext}

    def put_bytes(self, key: str, name: str, data: Buffer, type: str, ext: str | None = None) -> ArtifactRef:
        """Store already-encoded bytes (e.g. from a payload-mode worker) as an artifact.

        Raises:
            StorageError: unknown ``type``, bad ``ext`` or the write failed.
        """
        if type == "directory":  # a folder carried as tar bytes
            return directory.put_payload(self, key, name, data)
        if type not in EXTENSIONS:
            type = type_from_ext(ext) if type == "any" else type
            if type not in EXTENSIONS:
                raise StorageError(f"Unknown artifact type {type!r}; expected one of {', '.join(EXTENSIONS)}.")
        ext = check_ext(ext) if ext else EXTENSIONS[type]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise StorageError(f"put_bytes expects bytes; got {type_name(data)}. Use put() for objects.")
        return self._put_encoded(key, name, data, type, ext)

    def _put_encoded(self, key: str, name: str, data: Buffer, type: str, ext: str) -> ArtifactRef:
        rel = self._artifact_rel(key, name, ext)
        with self._guard("write", rel):
            self._backend.write_new(rel, data)
        uri = self._url_base + rel
        return {"type": type, "uri": uri, "ext": ext, "sha256": sha256(data), "size": memoryview(data).nbytes}

    def get(self, ref: ArtifactRef | str) -> Any:
        """The decoded object of an artifact ref (or of a uri, typed by its extension).

        A ref's bytes are checked against its ``sha256`` (objects this process wrote are not re-read).

        Raises:
            ArtifactNotFoundError: the artifact is gone.
            ArtifactCorruptError: the bytes do not match the ref's sha256.
            StorageError: the ref is malformed or the bytes cannot be decoded.
        """
        if directory.is_directory_ref(ref):
            return self.load_directory(ref)  # type: ignore[arg-type]
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
        backend = self._backend
        if isinstance(backend, MemoryBackend) and uri.startswith(self._url_base):
            # Only paths this store kept are in the table, so a hit needs no parsing of the uri.
            kept = backend.kept(uri[len(self._url_base) :])
            if kept is not None and kept[1] == typ:
                return live_copy(typ, kept[0])
        rel = self._rel(uri)
        hit, obj = self._memo.recall(self._url_base + rel, typ)
        if hit:  # written by this process moments ago: skip reading (and decoding, but for JSON)
            return decode(typ, obj, ext) if typ == "json" else obj
        expected = ref.get("sha256") if isinstance(ref, dict) else None
        if typ == "dataframe" and isinstance(backend, LocalBackend):
            with self._guard("read", rel):
                if expected:
                    self._check_local(backend, rel, expected)
                return backend.read_parquet(rel, self._not_found(rel))
        data = self._read(rel)
        if expected:
            check_bytes(self._url_base + rel, data, expected)
        return decode(typ, data, ext)

    def _check_local(self, backend: LocalBackend, rel: str, expected: str) -> None:
        try:
            check_file(self._url_base + rel, backend.path(rel), expected)
        except FileNotFoundError:
            raise self._not_found(rel) from None

    def get_bytes(self, ref: ArtifactRef | str) -> bytes:
        """The encoded bytes of an artifact ref or uri (inline ``data`` is returned as is).

        Raises:
            ArtifactCorruptError: the ref records a sha256 and the bytes read do not match it.
        """
        if isinstance(ref, dict):
            if directory.is_directory_ref(ref) and "uri" in ref:
                return directory.pack_stored(self, ref)  # a folder travels as tar bytes
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

    def save_directory(self, key: str, name: str, local_path: str | os.PathLike[str]) -> ArtifactRef:
        """Store the folder ``local_path`` as the ``directory`` artifact ``artifacts/{key}/{name}/``.

        Raises:
            StorageError: ``local_path`` is not a folder, or a write failed.
            UnsafePathError: ``key`` or ``name`` is unsafe.
        """
        return directory.save(self, key, name, local_path)

    def load_directory(self, ref: ArtifactRef | str) -> str:
        """A read-only local folder with the content of a ``directory`` ref (materialised once, by content).

        Raises:
            ArtifactNotFoundError: the folder is gone.
            ArtifactCorruptError: its files no longer match the ref's sha256.
        """
        return directory.load(self, ref if isinstance(ref, dict) else {"type": "directory", "uri": os.fspath(ref)})

    # ------------------------------------------------------------------ errors

    def _guard(self, op: str, rel: str) -> contextlib.AbstractContextManager[None]:
        return self._backend.guard(op, rel)

    def _not_found(self, rel: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(
            f"No artifact at {self._url_base + rel}: it was never written or has been deleted. "
            "Re-run the node that produces it."
        )


# --------------------------------------------------------------------------- helpers


def _suffix(uri: str) -> str:
    name = uri.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1] if "." in name else ""
