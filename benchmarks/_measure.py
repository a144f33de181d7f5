"""Timing and memory helpers for ``overhead.py``: interleaved medians, resident memory, machine load."""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fn``."""
    return statistics.median(timed(fn) for _ in range(repeats))


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds per system, running each once per round, the order rotated every round.

    Alternating the systems inside each round spreads a burst of machine load over all of them
    instead of one; rotating the order keeps any "runs second" effect from favouring one system.
    """
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            times[name].append(timed(fns[name]))
    return {name: statistics.median(ts) for name, ts in times.items()}


def rss_bytes() -> tuple[int, str]:
    """This process's resident memory now, after a full garbage collection, and how it was read.

    psutil gives the current RSS; without it ``resource``'s ``ru_maxrss`` (the peak so far) stands in.
    """
    gc.collect()
    try:
        import psutil
    except ImportError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "ru_maxrss (peak; psutil missing)"
    return int(psutil.Process().memory_info().rss), "RSS (psutil)"


def peak_rss_bytes() -> int:
    """The peak resident memory of this process so far (``ru_maxrss``, in bytes on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def peak_rss_added(interval: float = 0.005) -> Iterator[dict[str, Any]]:
    """Measure the peak resident memory the block adds over the level at its start.

    With psutil a thread polls the current RSS every ``interval`` seconds (no garbage collection
    in between: that would slow the block down); without it the growth of ``ru_maxrss`` stands in,
    which misses a peak lower than an earlier one.

    Yields:
        A dict filled in on exit: ``before`` (bytes), ``added`` (bytes) and ``how``.
    """
    before, how = rss_bytes()
    out: dict[str, Any] = {"before": before, "added": 0, "how": how}
    try:
        import psutil
    except ImportError:
        peak = peak_rss_bytes()
        yield out
        out["added"] = max(0, peak_rss_bytes() - peak)
        return
    proc, samples, stop = psutil.Process(), [before], threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            samples.append(proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield out
    finally:
        stop.set()
        sampler.join()
        samples.append(proc.memory_info().rss)
        out["added"] = max(0, max(samples) - before)
        out["how"] = f"RSS polled every {interval * 1e3:.0f} ms (psutil)"


def load() -> str:
    """The machine's 1/5/15-minute load averages, as text."""
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # not available on this platform
        return "n/a"
