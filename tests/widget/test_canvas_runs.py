"""Run status on the canvas (issue 15): shared by every canvas of a pipeline, marked stale by edits,
and a cancelled run's console lines kept with that run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.widget._canvas import Canvas

from . import cards

if TYPE_CHECKING:
    from pathlib import Path


def wait_for(pred: Any, timeout: float = 20.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def chain() -> tr.Pipeline:
    """src -> dbl -> dbl2, and an independent other."""
    p = tr.Pipeline("chain")
    p.add(cards.w_source, id="src", n=4)
    p.add(cards.w_double, id="dbl", factor=3)
    p.add(cards.w_double, id="dbl2", factor=2)
    p.add(cards.w_source, id="other", n=2)
    p.connect("src", "output", "dbl", "data")
    p.connect("dbl", "output", "dbl2", "data")
    return p


def statuses(c: Canvas) -> dict[str, str]:
    return {nid: rec["status"] for nid, rec in c.status["nodes"].items()}


def test_two_canvases_of_one_pipeline_show_the_same_run(store: str) -> None:
    p = chain()
    first, second = p.canvas(storage=store), p.canvas(storage=store)
    try:
        run = first.run()
        first.wait(30)
        second.wait(30)
        assert second.status["run_id"] == run.run_id and second.status["state"] == "completed"
        assert statuses(second) == dict.fromkeys(["src", "dbl", "dbl2", "other"], "completed")
        assert set(second.previews) == {"src", "dbl", "dbl2", "other"}
        assert second.last_run is run
        later = Canvas(p)  # made after the run: shows it too
        try:
            assert later.status["run_id"] == run.run_id and statuses(later) == statuses(first)
        finally:
            later.close()
    finally:
        first.close()
        second.close()


def test_a_run_from_one_canvas_blocks_another_run_from_the_other(store: str) -> None:
    p = tr.Pipeline("slow")
    p.add(cards.w_source, id="src")
    p.add(cards.w_slow, id="slow", seconds=30)
    p.connect("src", "output", "slow", "data")
    first, second = p.canvas(storage=store), p.canvas(storage=store)
    cards.RELEASE.clear()
    try:
        first.run()
        wait_for(lambda: second.status["nodes"].get("slow", {}).get("status") == "running", what="slow running")
        with pytest.raises(tr.errors.RunError, match="still going"):
            second.run()
        second.cancel()  # the other canvas's Cancel stops the run the first started
        first.wait(30)
        assert first.status["state"] == second.status["state"] == "cancelled"
    finally:
        cards.RELEASE.set()
        first.close()
        second.close()


def test_config_and_edge_changes_mark_the_node_and_its_descendants_stale(store: str) -> None:
    p = chain()
    c = p.canvas(storage=store)
    try:
        c.run()
        c.wait(30)
        assert set(statuses(c).values()) == {"completed"}
        p.set_config("dbl", {"factor": 5})
        c._run_throttle.flush()
        assert statuses(c) == {"src": "completed", "dbl": "stale", "dbl2": "stale", "other": "completed"}
        assert "run again" in c.status["nodes"]["dbl"]["message"]
        # an input edge removed (here from the browser: the same pipeline methods) marks its target
        doc = {**c.graph, "edges": [e for e in c.graph["edges"] if e["target"] != "dbl"]}
        c.set_state({"graph": doc})
        c._run_throttle.flush()
        assert statuses(c)["dbl"] == "stale" and statuses(c)["src"] == "completed"
        p.move("other", 10, 10)  # a move changes no result
        p.connect("src", "output", "dbl", "data")
        c._run_throttle.flush()
        assert statuses(c)["other"] == "completed"
        # the next run replaces every status
        c.run()
        c.wait(30)
        assert set(statuses(c).values()) <= {"completed", "cached"} and "stale" not in statuses(c).values()
    finally:
        c.close()


def test_a_cancelled_runs_console_lines_stay_with_it(store: str) -> None:
    p = tr.Pipeline("cancel-console")
    p.add(cards.w_source, id="src")
    p.add(cards.w_chatty, id="chat", lines=400, seconds=4.0)
    p.connect("src", "output", "chat", "data")
    c = p.canvas(storage=store)
    try:
        first = c.run()
        wait_for(lambda: any(line["node_id"] == "chat" for line in c.logs), what="first lines")
        c.cancel()
        first.wait(30)
        c.wait(10)
        assert c.status["state"] == "cancelled"
        assert {line["run_id"] for line in c.logs} == {first.run_id}
        # the abandoned card still prints (a thread cannot be killed); none of it shows under the next run
        second = c.run(cache=False)
        c.wait(60)
        assert second.status == {"src": "completed", "chat": "completed"}
        assert c.logs and {line["run_id"] for line in c.logs} == {second.run_id}
        lines = [line["text"] for line in c.logs if line["node_id"] == "chat"]
        assert lines[:3] == ["line 0", "line 1", "line 2"] and len(lines) == len(set(lines))
        third = c.run()  # the cancelled attempt committed nothing: this is the second run's result
        c.wait(30)
        assert third.status["chat"] == "cached"
    finally:
        c.close()
