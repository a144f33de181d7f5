"""A leading + trailing edge throttle: call a function at most once per interval, never late.

The first request after a quiet period runs at once (so a single change shows immediately);
requests during the interval are merged into one call at its end (so bursts cost one update).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Throttle"]


class Throttle:
    """Call ``fn`` when asked with :meth:`request`, at most once per ``interval`` seconds.

    Args:
        fn: what to call (from the requesting thread, or from a timer thread for merged calls).
        interval: minimum seconds between two calls.
    """

    def __init__(self, fn: Callable[[], None], interval: float) -> None:
        self.fn = fn
        self.interval = interval
        self.calls = 0
        self._last = float("-inf")
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # guards _last/_timer
        self._running = threading.RLock()  # one call of fn at a time

    def request(self) -> None:
        """Ask for a call: now if the last one is at least ``interval`` old, else at the end of it."""
        with self._lock:
            if self._timer is not None:
                return  # a merged call is already scheduled
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._fire)
                self._timer.daemon = True
                self._timer.start()
                return
        self._call()

    def flush(self) -> None:
        """Call ``fn`` now, cancelling a scheduled merged call."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._call()

    def cancel(self) -> None:
        """Drop a scheduled merged call."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        self._call()

    def _call(self) -> None:
        with self._running:
            with self._lock:
                self._last = time.monotonic()
            self.calls += 1
            self.fn()
