"""Count filesystem metadata operations, and time one raw atomic file write to compare against.

:func:`count_fs_ops` replaces the path-level functions of the ``os`` module (``os.stat``,
``os.open``, ``os.mkdir``, ``os.replace``, ...) and ``builtins.open`` / ``io.open`` with counting
wrappers for the duration of a ``with`` block, and restores them after it. Only these leaves are
wrapped: ``os.makedirs``, ``os.path.exists``, ``pathlib``, ``shutil`` and ``tempfile`` reach the
filesystem through them (they look the function up on the ``os`` module at call time), so a call
of ``os.path.exists`` counts once, as the ``os.stat`` it makes, and ``os.makedirs`` counts as the
``mkdir`` and ``stat`` calls it really makes. Reading and writing file contents is not counted;
opening or creating a file counts as one operation.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The ``os`` functions that touch a path's metadata (``remove`` and ``unlink`` are the same call).
OS_FUNCTIONS = (
    "stat", "lstat", "open", "mkdir", "rmdir", "rename", "replace", "unlink", "remove", "listdir", "scandir",
    "fsync", "fdatasync", "link", "symlink", "readlink", "access", "chmod", "utime", "truncate",
)  # fmt: skip


@dataclass
class FsOps:
    """What :func:`count_fs_ops` saw: operations per function and per calling site."""

    by_function: Counter[str] = field(default_factory=Counter)
    by_site: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_function.values())

    def top(self, n: int, per: float = 1.0, sites: bool = False) -> str:
        """The ``n`` most frequent functions (or calling sites), each with its count divided by ``per``."""
        counts = self.by_site if sites else self.by_function
        return ", ".join(f"{name} {count / per:.2f}" for name, count in counts.most_common(n)) or "none"


def _site(package: str) -> str:
    """``module.py:line`` of the innermost frame inside ``package``'s folder (where the call is made)."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if package in filename:
            return f"{filename.rsplit(package, 1)[1].lstrip(os.sep)}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "(elsewhere)"


@contextlib.contextmanager
def count_fs_ops(package: str = f"{os.sep}tensorrag{os.sep}") -> Iterator[FsOps]:
    """Count filesystem metadata calls made by every thread inside the block.

    Args:
        package: a path fragment; each call is also attributed to the innermost calling frame whose
            file name contains it (by default tensorrag's own modules).

    Yields:
        The counts, filled in as the block runs.
    """
    ops = FsOps()
    lock = threading.Lock()

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            site = _site(package)
            with lock:
                ops.by_function[name] += 1
                ops.by_site[site] += 1
            return fn(*args, **kwargs)

        return counted

    saved: list[tuple[Any, str, Any]] = [(os, name, getattr(os, name)) for name in OS_FUNCTIONS if hasattr(os, name)]
    real_open = builtins.open
    saved += [(builtins, "open", real_open), (io, "open", io.open)]
    opener = wrap("open()", real_open)  # one wrapper for both names: io.open is builtins.open
    try:
        for module, name, fn in saved:
            setattr(module, name, opener if fn is real_open else wrap(name, fn))
        yield ops
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)


def raw_atomic_write(folder: str, data: bytes, name: str = "raw.json") -> None:
    """Write ``data`` the way an atomic local write must: a temporary file, then ``os.replace``."""
    tmp = os.path.join(folder, f".{name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, name))
