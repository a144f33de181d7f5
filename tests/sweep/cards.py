"""Test cards of the sweep tests: importable, so any executor finds them by reference.

``score`` records how many of its calls overlap (module state: in-process executors and the
thread transport of test_modal only) and can be told to fail or to wait for :data:`RELEASE`.
"""

from __future__ import annotations

import threading
import time

import tensorrag as tr

_LOCK = threading.Lock()
#: now: calls running; max: most at once; calls: how many ran.
ACTIVE = {"now": 0, "max": 0, "calls": 0}
#: ``score(hold=True)`` waits for this (set it to let held calls finish).
RELEASE = threading.Event()


def reset() -> None:
    """Zero the counters once calls held or abandoned by an earlier test have ended (they count down)."""
    RELEASE.set()
    deadline = time.monotonic() + 30
    while ACTIVE["now"] > 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    with _LOCK:
        ACTIVE.update(now=0, max=0, calls=0)
    RELEASE.clear()


@tr.card(outputs={"data": "json"})
def source(n: int = 4) -> dict:
    return {"values": list(range(n))}


@tr.card(outputs={"report": "json"}, output_view_type="metrics")
def score(data: dict, lr: float = 0.1, hp: dict | None = None, sleep: float = 0.0, fail_above: float = 1e9,
          hold: bool = False) -> dict:
    with _LOCK:
        ACTIVE["now"] += 1
        ACTIVE["calls"] += 1
        ACTIVE["max"] = max(ACTIVE["max"], ACTIVE["now"])
    try:
        if hold:
            RELEASE.wait(60)
        time.sleep(sleep)
        if lr > fail_above:
            raise ValueError(f"lr {lr} is above {fail_above}")
        return {"loss": (lr - 0.3) ** 2 + len(data["values"]), "lr": lr, "nested": {"k": lr * 2}}
    finally:
        with _LOCK:
            ACTIVE["now"] -= 1


@tr.card(outputs={"summary": "json"})
def summarise(report: dict) -> dict:
    return {"loss": report["loss"]}
