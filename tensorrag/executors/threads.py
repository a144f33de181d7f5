"""The process's spare card threads: a thread a run lets go serves the next run's executor.

Starting a thread costs 0.1–1 ms (more on a loaded machine), and every run on a fresh
:class:`~tensorrag.executors.LocalExecutor` used to start its own: 16 workers put the first wave of a
wide run ~10 ms late. A thread whose executor no longer needs it (shut down, or idle) parks here
and is handed the next worker loop that asks; one parked for ``idle_s`` seconds exits, so nothing
lingers once runs stop.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["start"]

_lock = threading.Lock()
_Job = tuple["Callable[[], None]", "Callable[[], float]"]
_parked: list[queue.SimpleQueue[_Job]] = []  # one mailbox per parked thread, newest last


def start(loop: Callable[[], None], idle_s: Callable[[], float], name: str = "tensorrag-card") -> None:
    """Run ``loop()`` on a parked thread, or on a new one; ``idle_s()``: how long the thread waits afterwards."""
    with _lock:
        box = _parked.pop() if _parked else None
    if box is not None:
        box.put((loop, idle_s))
        return
    threading.Thread(target=_serve, args=((loop, idle_s),), name=name, daemon=True).start()


def _serve(job: _Job | None) -> None:
    box: queue.SimpleQueue[_Job] = queue.SimpleQueue()
    while job is not None:
        loop, idle_s = job
        loop()
        job = loop = None  # type: ignore[assignment]  # a parked thread must not keep its last loop alive
        with _lock:
            _parked.append(box)
        try:
            job = box.get(timeout=idle_s())
        except queue.Empty:
            with _lock:
                if box in _parked:  # nobody took this thread: leave
                    _parked.remove(box)
                    return
            job = box.get()  # taken just now: its loop is on the way
