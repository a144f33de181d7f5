"""A cancelled run whose card is still running when the next run starts (issue 15, bug 6).

A thread cannot be killed: the engine stops waiting on the card at once, and the card's late
output and late log lines must never reach the next run (not as ``cached``, not in its events).
"""

from __future__ import annotations

import threading
import time

import pytest

import tensorrag as tr
from tensorrag.executors import LocalExecutor

GO = threading.Event()


@tr.card(category="data")
def e_ticker(n: int = 1) -> dict:
    """Print a line every 10 ms until ``GO`` is set, then return ``{"n": n}``."""
    i = 0
    while not GO.wait(0.01):
        print(f"tick {i}")
        i += 1
    print("late end")
    return {"n": n}


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_a_cancelled_cards_late_result_and_lines_never_reach_the_next_run(tmp_path, storage):
    GO.clear()
    where = str(tmp_path / "s") if storage == "file" else "memory://"
    p = tr.Pipeline(f"overlap-{storage}")
    p.add(e_ticker, id="t")
    exe = LocalExecutor(max_workers=2)
    first = p.run(storage=where, executor=exe, wait=False)
    deadline = time.monotonic() + 10
    while not any(e["type"] == "log" for e in first.events) and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    first.cancel().wait(10)
    assert time.monotonic() - t0 < 5  # the engine stopped waiting on the card (generous bound)
    assert first.state == "cancelled" and first.status == {"t": "failed"}
    store = first.store if storage == "memory" else where
    # the next run starts while the abandoned card still prints; then the card returns
    heard: list[dict] = []
    second = p.run(storage=store, executor=exe, wait=False, on_event=heard.append)
    time.sleep(0.1)
    GO.set()
    second.wait(10)
    assert second.status == {"t": "completed"}  # its own attempt, not the cancelled one's output
    logs = [e for e in heard if e["type"] == "log"]
    assert logs and {e["run_id"] for e in logs} == {second.run_id}
    assert [e["text"] for e in logs].count("late end") == 1  # one card's end: the second's, not the first's
    third = p.run(storage=store, executor=exe)
    assert third.status == {"t": "cached"}
    assert third.store.read_entry(third._state.nodes["t"].key)["run_id"] == second.run_id
