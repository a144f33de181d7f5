"""Atomic local writes: the one temp-file-plus-``os.replace`` used by stores and ``Pipeline.save``.

A reader sees the old file or the new one, never half of one, and a failed write leaves no temp
file behind.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["write_atomic", "write_atomic_with"]


def write_atomic(path: str, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to the local file ``path`` atomically, creating its parent folders.

    Raises:
        OSError: the file cannot be written (no temp file is left behind).
    """
    write_atomic_with(path, lambda fd, tmp: _write_fd(fd, data))


def write_atomic_with(path: str, fill: Callable[[int, str], object]) -> None:
    """Create a temp file next to ``path``, let ``fill(fd, tmp_path)`` write it, then rename it over ``path``.

    Raises:
        OSError: the file cannot be written; anything ``fill`` raises. No temp file is left behind.
    """
    folder = os.path.dirname(path) or "."
    # A dot-name in the same folder: os.replace is atomic there and listings skip it.
    tmp = f"{folder}/.tmp-{os.urandom(8).hex()}"
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
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_fd(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data).cast("B")
    while view:  # os.write may write less than asked
        view = view[os.write(fd, view) :]
