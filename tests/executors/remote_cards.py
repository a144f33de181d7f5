"""Cards for the Dask and Ray executor tests (importable by module reference on the clusters' workers)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import tensorrag as tr

if TYPE_CHECKING:
    from collections.abc import Callable


@tr.card(category="data")
def t_pid_sleep(seconds: float = 30.0, pid_file: str = "") -> dict:
    """Write this process's id to ``pid_file`` (atomically), then sleep ``seconds``: a task to kill or cancel."""
    if pid_file:
        tmp = f"{pid_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(str(os.getpid()))
        os.replace(tmp, pid_file)
    time.sleep(seconds)
    return {"pid": os.getpid()}


@tr.card(category="data")
def t_where(tag: str = "") -> dict:
    """Report the process it ran in (with ``tag``, so each config is its own node and cache entry)."""
    return {"pid": os.getpid(), "tag": tag}


def wait_for_file(path: str, timeout: float = 60.0) -> str:
    """The content of ``path`` once it exists (a generous hang bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout} s")


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Return once ``condition()`` holds (a generous hang bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{condition} did not hold within {timeout} s")
        time.sleep(0.05)
