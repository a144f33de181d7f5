"""The file work under an :class:`~tensorrag.storage.store.ArtifactStore`: one class per kind of filesystem.

* :class:`LocalBackend` (``file://``): plain ``os`` calls; a temp file plus ``os.replace`` per
  write, except a new artifact, created in place (exclusively, removed if the write fails); each
  folder checked once by :func:`~tensorrag.storage.paths.confine` so a symlink cannot lead out of
  the opened root.
* :class:`MemoryBackend` (``memory://``): a dict of this process freed with its stores
  (:mod:`tensorrag.storage.live`), objects kept unencoded, O(1) writes and existence checks.
* :class:`FsspecBackend` (everything else: ``s3://``, ...): one ``pipe_file`` (one PUT) per write;
  drivers that cache listings are refreshed before existence checks, listings and deletes.

Every backend works on paths relative to its store (``rel``) and raises the raw exceptions
(``FileNotFoundError``, ...); the store turns them into tensorrag errors, except for the parts of
``exists`` that each backend guards itself.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from typing import TYPE_CHECKING, Any

from tensorrag._fs import write_atomic, write_atomic_with
from tensorrag.errors import ArtifactNotFoundError, StorageError
from tensorrag.storage.codecs import Buffer, encode_to
from tensorrag.storage.faults import guard
from tensorrag.storage.integrity import file_stamp
from tensorrag.storage.paths import confine

if TYPE_CHECKING:
    import builtins
    from collections.abc import Callable

    from fsspec import AbstractFileSystem

__all__ = ["FsspecBackend", "LocalBackend", "MemoryBackend", "backend_for"]


class FsspecBackend:
    """Any fsspec filesystem (object stores and the rest): the generic backend the others specialise.

    Attributes:
        fs: the fsspec filesystem.
        root: the store's root as a path inside ``fs``.
        url: the store's root URL (for messages).
        options: the fsspec options (for the endpoint named in error messages).
        jail: the root opened first (a scoped child keeps its parent's), for symlink confinement.
    """

    #: whether a missing file is cheap to tell (no request), so a lookup can skip raising and catching
    cheap_exists = False
    #: whether paths are operating-system paths (absolute local paths are accepted as uris)
    is_local = False
    #: whether the backend can hold objects unencoded (``keep``/``kept``: memory://)
    keeps_objects = False

    def __init__(self, fs: AbstractFileSystem, root: str, url: str, options: dict[str, Any], jail: str) -> None:
        self.fs = fs
        self.root = root
        self.url = url
        self.options = options
        self.jail = jail
        self.base = root + "/"  # fs path prefix of every file
        self.url_base = url if url.endswith("/") else url + "/"
        # Object-store drivers cache listings; drop them before existence checks and listings.
        self._listing_cache = hasattr(fs, "invalidate_cache")

    def guard(self, op: str, rel: str) -> contextlib.AbstractContextManager[None]:
        """Turn non-tensorrag exceptions raised while doing ``op`` on ``rel`` into typed storage errors."""
        return guard(op, self.url_base + rel if rel else self.url, self.options)

    def full(self, rel: str) -> str:
        """The path inside ``fs`` of ``rel`` (the root for ``""``)."""
        return self.base + rel if rel else self.root or "/"

    def refresh(self, full: str) -> None:
        """Drop the driver's cached listing of ``full`` so the next call sees the store as it is."""
        if self._listing_cache:
            self.fs.invalidate_cache(full)

    def write(self, rel: str, data: Buffer) -> None:
        """Write ``data`` at ``rel`` in one piece (parents created)."""
        self.fs.pipe_file(self.base + rel, data if isinstance(data, bytes) else bytes(data))

    def write_new(self, rel: str, data: Buffer) -> None:
        """Write a new artifact at ``rel`` (one piece here; in place on local disk when the name is free)."""
        self.write(rel, data)

    def written_stamp(self, rel: str) -> str | None:
        """The stamp of the file this backend just created at ``rel`` (taken once), or None if not remembered."""
        return None

    def read(self, rel: str) -> bytes:
        """The bytes at ``rel`` (``FileNotFoundError`` / ``IsADirectoryError`` as raised)."""
        data = self.fs.cat_file(self.base + rel)
        return data if isinstance(data, bytes) else bytes(data)

    def file_exists(self, rel: str) -> bool:
        """Whether a file is at ``rel``."""
        return self.exists(rel)

    def exists(self, rel: str) -> bool:
        """Whether a file or folder is at ``rel`` (failures are typed storage errors)."""
        full = self.base + rel
        with self.guard("check", rel):
            self.refresh(full)
            return bool(self.fs.exists(full))

    def delete(self, rel: str, recursive: bool) -> None:
        """Delete the file (or, with ``recursive``, the folder) at ``rel``; ``FileNotFoundError`` if none."""
        full = self.base + rel
        try:
            self.refresh(full)
            if not self.fs.exists(full):
                raise FileNotFoundError(full)
            if self.fs.isdir(full):
                if not recursive:
                    raise _folder_error(self.url_base + rel)
                self.fs.rm(full, recursive=True)
            else:
                self.fs.rm_file(full)
        finally:
            self.refresh(full)

    def list(self, rel: str) -> builtins.list[str]:
        """Sorted paths (relative to the store) of every file under ``rel``; hidden files are skipped."""
        full = self.full(rel)
        cut = len(self.base)
        self.refresh(full)
        try:
            found = self.fs.find(full)
        except FileNotFoundError:
            return []
        return sorted(p[cut:] for p in found if p.startswith(self.base) and "/." not in "/" + p[cut:])

    def list_folders(self, rel: str) -> builtins.list[str]:
        """Sorted names of the folders directly under ``rel`` (``[]`` when it does not exist)."""
        full = self.full(rel)
        try:
            self.refresh(full)
            entries = self.fs.ls(full, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = (str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")
        return sorted(n for n in names if not n.startswith("."))


class MemoryBackend(FsspecBackend):
    """``memory://``: a :class:`~tensorrag.storage.live.LiveTable` of this process, freed with its last store.

    Objects saved through :meth:`keep` stay objects until their bytes are read.
    """

    cheap_exists = True
    keeps_objects = True

    def __init__(self, fs: AbstractFileSystem, root: str, url: str, options: dict[str, Any], jail: str) -> None:
        from tensorrag.storage.live import table_for

        super().__init__(fs, root, url, options, jail)
        self._listing_cache = False  # the dict is the listing: nothing to refresh
        self.table = table_for("/" + root.strip("/").split("/", 1)[0])  # memory://name/...: one table per name

    def keep(self, rel: str, value: Any, type: str, ext: str, encoder: Callable[[Any], bytes] | None = None) -> None:
        """Hold ``value`` at ``rel`` as it is (encoded, by ``encoder`` if given, when its bytes are first read)."""
        self.table.keep(self.base + rel, value, type, ext, encoder)

    def kept(self, rel: str) -> tuple[Any, str, str] | None:
        """The object held at ``rel`` as ``(value, type, ext)``, or None when it is bytes or absent."""
        return self.table.objects.get(self.base + rel)

    def write(self, rel: str, data: Buffer) -> None:
        self.table.put(self.base + rel, data if isinstance(data, bytes) else bytes(data))

    def read(self, rel: str) -> bytes:
        full = self.base + rel
        try:
            return self.table.read(full)
        except FileNotFoundError:
            if self._is_folder(full):
                raise IsADirectoryError(full) from None
            raise

    def file_exists(self, rel: str) -> bool:
        return self.table.has(self.base + rel)

    def exists(self, rel: str) -> bool:
        full = self.full(rel)
        return self.table.has(full) or self._is_folder(full)

    def _is_folder(self, full: str) -> bool:
        prefix = full.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in self.table.paths())

    def delete(self, rel: str, recursive: bool) -> None:
        full = self.full(rel)
        if self.table.drop(full):
            return
        prefix = full.rstrip("/") + "/"
        inside = [p for p in self.table.paths() if p.startswith(prefix)]
        if not inside:
            raise FileNotFoundError(full)
        if not recursive:
            raise _folder_error(self.url_base + rel)
        for path in inside:
            self.table.drop(path)

    def list(self, rel: str) -> builtins.list[str]:
        prefix = self.full(rel).rstrip("/") + "/"
        cut = len(self.base)
        found = (p[cut:] for p in self.table.paths() if p.startswith(prefix) and p.startswith(self.base))
        return sorted(p for p in found if "/." not in "/" + p)

    def list_folders(self, rel: str) -> builtins.list[str]:
        prefix = self.full(rel).rstrip("/") + "/"
        names = {p[len(prefix):].split("/", 1)[0] for p in self.table.paths() if p.startswith(prefix)
                 and "/" in p[len(prefix):]}
        return sorted(n for n in names if not n.startswith("."))


class LocalBackend(FsspecBackend):
    """``file://``: direct ``os`` calls on paths confined to the opened root.

    Confinement is checked once per folder, not per operation: a folder this backend created, or
    found by ``lstat`` to be a real folder (or a symlink resolving inside the root), is remembered.
    The last part of a path is never followed out of the root: reads open it with ``O_NOFOLLOW``
    (a symlink is then resolved and checked), existence checks ``lstat`` it, and writes never write
    through it (an exclusive create fails on a symlink; a replace swaps the link itself). A folder
    swapped for a symlink *after* it was checked, while the store is open, is not noticed.
    """

    cheap_exists = True
    is_local = True

    def __init__(self, fs: AbstractFileSystem, root: str, url: str, options: dict[str, Any], jail: str) -> None:
        super().__init__(fs, root, url, options, jail)
        self._listing_cache = False  # os calls see the disk as it is
        self._dirs: set[str] = set()  # folders checked to stay inside the root
        self._stamps: dict[str, str] = {}  # full path -> stamp of a file created in place here (until taken)

    # ------------------------------------------------------------------ confinement, once per folder

    def _uri(self, full: str) -> str:
        return self.url_base + full[len(self.base) :] if full.startswith(self.base) else self.url

    def _check_dir(self, folder: str) -> None:
        """Check (once) that the existing part of ``folder`` stays inside the opened root."""
        if folder in self._dirs or len(folder) <= len(self.jail):
            return
        self._check_dir(folder.rsplit("/", 1)[0])
        try:
            st = os.lstat(folder)
        except OSError:
            return  # missing: nothing below it exists either, and nothing to remember
        if stat.S_ISLNK(st.st_mode):
            confine(folder, self.jail, self._uri(folder))  # raises when it leads out of the root
        elif not stat.S_ISDIR(st.st_mode):
            return
        self._remember(folder)

    def _remember(self, folder: str) -> None:
        if len(self._dirs) > 100_000:
            self._dirs.clear()  # bounded: forgetting only costs one lstat per folder again
        self._dirs.add(folder)

    def _forget(self, full: str) -> None:
        prefix = full + "/"
        self._dirs -= {d for d in self._dirs if d == full or d.startswith(prefix)}

    def _ensure_dir(self, folder: str) -> None:
        """Create ``folder`` (and its parents) unless known; an existing one is checked instead."""
        if folder in self._dirs:
            return
        if len(folder) <= len(self.jail):
            os.makedirs(folder or "/", exist_ok=True)  # the opened root itself (may be a symlink: fine)
            self._remember(folder)
            return
        self._ensure_dir(folder.rsplit("/", 1)[0])  # the parent is checked before anything is made in it
        try:
            os.mkdir(folder)
        except FileExistsError:
            self._check_dir(folder)
            return
        except FileNotFoundError:  # the parent was removed since it was checked
            self._forget(folder.rsplit("/", 1)[0])
            self._ensure_dir(folder.rsplit("/", 1)[0])
            os.makedirs(folder, exist_ok=True)
        self._remember(folder)

    def path(self, rel: str) -> str:
        """The local path of ``rel``, checked to stay inside the opened root after resolving symlinks."""
        full = self.full(rel)
        if rel and full not in self._dirs:
            self._check_dir(full.rsplit("/", 1)[0])
            try:
                st = os.lstat(full)
            except OSError:
                return full
            if stat.S_ISLNK(st.st_mode):
                confine(full, self.jail, self.url_base + rel)
        return full

    # ------------------------------------------------------------------ writes

    def write(self, rel: str, data: Buffer) -> None:
        full = self.full(rel)
        self._ensure_dir(full.rsplit("/", 1)[0])
        self._stamps.pop(full, None)
        write_atomic(full, data)

    def write_new(self, rel: str, data: Buffer) -> None:
        # In place when the name is free (an immutable artifact in its attempt's folder); else atomically.
        if not self.create(rel, data):
            self.write(rel, data)

    def create(self, rel: str, data: Buffer) -> bool:
        """Write ``data`` at ``rel`` in place if nothing is there (False, nothing written, if something is).

        Nothing refers to the new file until this returns, and a failed write removes it, so a reader
        that finds it through a cache entry (written later) never sees half of it.
        """
        full = self.full(rel)
        folder = full.rsplit("/", 1)[0]
        self._ensure_dir(folder)
        try:
            fd = os.open(full, _CREATE, 0o666)
        except FileExistsError:
            return False
        except FileNotFoundError:  # the folder was removed since it was checked
            self._forget(folder)
            self._ensure_dir(folder)
            fd = os.open(full, _CREATE, 0o666)
        try:
            try:
                view = memoryview(data).cast("B")
                while view:  # os.write may write less than asked
                    view = view[os.write(fd, view) :]
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(full)
            raise
        if len(self._stamps) > 10_000:
            self._stamps.clear()
        self._stamps[full] = file_stamp(st)
        return True

    def written_stamp(self, rel: str) -> str | None:
        return self._stamps.pop(self.full(rel), None)

    def link_folder(self, rel: str, target: str) -> bool:
        """Point the folder link ``rel`` at its sibling folder ``target``, atomically (replacing a link).

        Returns:
            False when nothing was linked: ``rel`` is a real folder, or this file system has no symlinks.
        """
        full = self.full(rel)
        folder = full.rsplit("/", 1)[0]
        self._ensure_dir(folder)
        try:
            os.symlink(target, full, target_is_directory=True)
        except FileExistsError:
            tmp = f"{folder}/.tmp-{os.urandom(8).hex()}"
            try:
                os.symlink(target, tmp, target_is_directory=True)
                os.replace(tmp, full)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                if exc.errno in _NOT_A_LINK:
                    return False  # a real folder (an older layout): the caller writes the entry into it
                raise
        except (NotImplementedError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in _NO_SYMLINKS:
                raise
            return False
        self._remember(full)  # ours, pointing at a folder just written inside the root
        return True

    def read_link(self, rel: str) -> str | None:
        """The target of the link at ``rel``: None when nothing is there, "" when it is not a link."""
        full = self.full(rel)
        self._check_dir(full.rsplit("/", 1)[0])
        try:
            return os.readlink(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                return ""
            raise

    def write_encoded(self, rel: str, type: str, value: Any, ext: str) -> tuple[str, int]:
        """Encode ``value`` natively (pyarrow/joblib write the temp file) and return its (sha256, size)."""
        digest: tuple[str, int] = ("", 0)

        def fill(fd: int, tmp: str) -> None:
            nonlocal digest
            encode_to(type, value, tmp, ext)
            digest = _sha256_file(tmp)

        full = self.full(rel)
        self._ensure_dir(full.rsplit("/", 1)[0])
        self._stamps.pop(full, None)
        write_atomic_with(full, fill)
        return digest

    # ------------------------------------------------------------------ reads

    def read(self, rel: str) -> bytes:
        full = self.full(rel)
        self._check_dir(full.rsplit("/", 1)[0])
        if not _NOFOLLOW:
            confine(full, self.jail, self.url_base + rel)  # no O_NOFOLLOW here: resolve the path first
        try:
            fd = os.open(full, _READ | _NOFOLLOW)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            confine(full, self.jail, self.url_base + rel)  # a symlink: follow it only inside the root
            fd = os.open(full, _READ)
        with open(fd, "rb") as f:
            return f.read()

    def read_parquet(self, rel: str, missing: ArtifactNotFoundError) -> Any:
        """The dataframe in the parquet file at ``rel``, memory-mapped (``missing`` raised if it is gone)."""
        return _read_parquet_file(self.path(rel), self.url_base + rel, missing)

    def _lstat(self, rel: str) -> os.stat_result | None:
        full = self.full(rel)
        if not rel:
            return os.stat(full) if os.path.exists(full) else None
        self._check_dir(full.rsplit("/", 1)[0])
        try:
            st = os.lstat(full)
        except OSError:
            return None
        if not stat.S_ISLNK(st.st_mode):
            return st
        confine(full, self.jail, self.url_base + rel)
        try:
            return os.stat(full)
        except OSError:
            return None

    def file_exists(self, rel: str) -> bool:
        st = self._lstat(rel)
        return st is not None and stat.S_ISREG(st.st_mode)

    def exists(self, rel: str) -> bool:
        return self._lstat(rel) is not None

    def delete(self, rel: str, recursive: bool) -> None:
        full = self.base + rel
        confine(full, self.jail, self.url_base + rel)
        self._stamps.pop(full, None)
        if os.path.isdir(full) and not os.path.islink(full):
            if not recursive:
                raise _folder_error(self.url_base + rel)
            import shutil

            self._forget(full)
            shutil.rmtree(full)
        else:
            self._forget(full)
            os.remove(full)

    def list(self, rel: str) -> builtins.list[str]:
        full = self.full(rel)
        self._check_dir(full)
        cut = len(self.base)
        if os.path.isfile(full):
            return [rel]
        out: builtins.list[str] = []
        for dirpath, dirnames, filenames in os.walk(full):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            base = dirpath.replace(os.sep, "/") + "/"
            out.extend((base + f)[cut:] for f in filenames if not f.startswith("."))
        return sorted(out)

    def list_folders(self, rel: str) -> builtins.list[str]:
        full = self.full(rel)
        self._check_dir(full)
        try:
            with os.scandir(full) as it:
                found = [e for e in it if e.is_dir() and not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        # A symlinked folder leading out of the root cannot be opened: do not offer it.
        jail = os.path.join(os.path.realpath(self.jail or "/"), "")
        return sorted(
            e.name for e in found if not e.is_symlink() or os.path.join(os.path.realpath(e.path), "").startswith(jail)
        )


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
_READ = os.O_RDONLY | _CLOEXEC
# rename(link, real folder) fails with one of these; symlink() with one of _NO_SYMLINKS where there are none.
_NOT_A_LINK = frozenset({errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR})
_NO_SYMLINKS = frozenset({errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)})


def backend_for(protocol: str) -> type[FsspecBackend]:
    """The backend class for a store's normalised protocol (``file``, ``memory``, anything else)."""
    return LocalBackend if protocol == "file" else MemoryBackend if protocol == "memory" else FsspecBackend


# --------------------------------------------------------------------------- local helpers


def _folder_error(uri: str) -> StorageError:
    return StorageError(f"{uri} is a folder; pass recursive=True to delete it and its contents.")


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
