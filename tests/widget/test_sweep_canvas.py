"""A sweep on the canvas (issue 16): what the widget sends — the original graph, copies and swept values per
node, run status aggregated over each node's copies, and the results table with the best branch."""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.errors import RunError
from tensorrag.widget._sweep import SweepCanvas, aggregate, best_index
from tests.sweep import cards as C

if TYPE_CHECKING:
    from pathlib import Path


def pipe(**score: Any) -> tr.Pipeline:
    p = tr.Pipeline("sweepcanvas")
    p.add(C.source, id="src", position={"x": 0, "y": 0})
    p.add(C.score, id="fit", position={"x": 300, "y": 0}, **score)
    p.add(C.summarise, id="sum", position={"x": 600, "y": 0})
    p.connect("src", "data", "fit", "data")
    p.connect("fit", "report", "sum", "report")
    return p


def grid(**score: Any) -> tr.Sweep:
    return pipe(**score).sweep({"fit.lr": [0.1, 0.9, 0.3]}, metric=("sum", "summary", "loss"), mode="min")


def wait_for(check: Any, what: str, bound: float = 30.0) -> None:
    end = time.monotonic() + bound  # a hang bound, not a timing assertion
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def canvases():
    made: list[SweepCanvas] = []
    yield made
    for c in made:
        c.close()


def test_the_canvas_shows_the_original_graph_with_each_nodes_copies_and_swept_values(canvases) -> None:
    sweep = tr.Pipeline.sweep(pipe(hp={"k": [0]}), {"fit.lr": [0.1, 0.9], "fit.hp.k": [[1, 2], [3]]})
    c = sweep.canvas()
    canvases.append(c)
    assert isinstance(c, SweepCanvas)
    assert [n["id"] for n in c.graph["nodes"]] == ["src", "fit", "sum"]  # not the expanded fit:0 ... sum:3
    nodes = c.sweep["nodes"]
    assert nodes["src"]["copies"] == 1 and not nodes["src"]["swept"]
    assert nodes["fit"]["copies"] == 4 and nodes["fit"]["swept"]
    assert nodes["fit"]["values"] == {"fit.lr": [0.1, 0.9], "fit.hp.k": [[1, 2], [3]]}  # unhashable values too
    assert nodes["sum"]["copies"] == 4 and not nodes["sum"]["swept"] and nodes["sum"]["values"] == {}
    assert nodes["fit"]["status"] == "" and nodes["fit"]["message"] == "0/4 done"
    assert c.sweep["keys"] == ["fit.lr", "fit.hp.k"] and c.sweep["size"] == 4 and c.sweep["table"] is None
    assert [b["config"] for b in c.sweep["branches"]][1] == {"fit.lr": 0.1, "fit.hp.k": [3]}


def test_a_sweep_run_from_code_is_followed_with_status_per_node_and_the_table(canvases, tmp_path: Path) -> None:
    sweep = grid(fail_above=0.5)
    c = sweep.canvas()
    canvases.append(c)
    result = sweep.run(storage=tmp_path, echo=False)
    c.wait(30)
    assert c.result is result and c.last_run is result.run
    state = c.sweep
    json.dumps(state, allow_nan=False)  # what the browser gets is plain JSON (NaN metrics are null)
    assert state["state"] == "failed"
    fit, total = state["nodes"]["fit"], state["nodes"]["sum"]
    assert fit["counts"] == {"completed": 2, "failed": 1} and fit["status"] == "failed"
    assert fit["message"] == "3/3 done · 1 failed"
    assert total["counts"] == {"completed": 2, "skipped": 1} and total["message"] == "3/3 done · 1 skipped"
    assert state["nodes"]["src"]["status"] == "completed"
    assert state["branches"][1]["nodes"] == {"src": "completed", "fit": "failed", "sum": "skipped"}
    table = state["table"]
    frame = result.table
    assert table["columns"] == ["branch", *frame.columns]
    assert [r["branch"] for r in table["rows"]] == list(frame.index)
    assert [r["status"] for r in table["rows"]] == list(frame["status"])
    assert table["rows"][1]["sum.summary.loss"] is None and math.isnan(frame.loc[1, "sum.summary.loss"])
    assert table["rows"][1]["error"] == "fit: ValueError: lr 0.9 is above 0.5"
    assert table["rows"][2]["sum.summary.loss"] == pytest.approx(frame.loc[2, "sum.summary.loss"])
    assert table["best"] == result.best.index == 2
    assert c.previews["fit:0"]["view"] == "metrics"  # a branch copy previews as its node does


def test_the_run_button_runs_the_sweep_and_shows_each_nodes_copies_while_they_run(canvases, tmp_path: Path) -> None:
    C.reset()
    sweep = grid(hold=True)
    c = sweep.canvas(storage=str(tmp_path), max_parallel=2)
    canvases.append(c)
    try:
        c._on_message(c, {"type": "run"}, [])  # what the Run button sends
        wait_for(lambda: c.sweep["nodes"]["fit"]["counts"].get("running") == 2, "two copies of fit running")
        fit = c.sweep["nodes"]["fit"]
        assert fit["status"] == "running" and fit["message"].startswith("0/3 done · 2 running")
        assert c.sweep["state"] == "running" and C.ACTIVE["max"] <= 2
        with pytest.raises(RunError, match="still going"):
            c.run()
    finally:
        C.RELEASE.set()
    c.wait(30)
    assert c.sweep["nodes"]["fit"]["status"] == "completed" and c.sweep["nodes"]["fit"]["message"] == "3/3 done"
    assert [r["status"] for r in c.sweep["table"]["rows"]] == ["completed"] * 3
    assert c.sweep["table"]["best"] == c.result.best.index == 2  # lr 0.3: the lowest loss


def test_a_second_run_served_from_the_cache_is_shown_cached(canvases, tmp_path: Path) -> None:
    sweep = grid()
    sweep.run(storage=tmp_path, echo=False)
    c = sweep.canvas(storage=str(tmp_path))
    canvases.append(c)
    c.run()
    c.wait(30)
    fit = c.sweep["nodes"]["fit"]
    assert fit["status"] == "cached" and fit["message"] == "3/3 done · 3 cached"
    assert [r["status"] for r in c.sweep["table"]["rows"]] == ["cached"] * 3


def test_result_canvas_shows_a_finished_result(canvases, tmp_path: Path) -> None:
    result = grid(fail_above=0.5).run(storage=tmp_path, echo=False)
    c = result.canvas()
    canvases.append(c)
    assert c.status["state"] == "failed" and c.status["nodes"]["fit:1"]["status"] == "failed"
    assert c.sweep["nodes"]["fit"]["counts"] == {"completed": 2, "failed": 1}
    assert c.sweep["table"]["best"] == 2 and c.sweep["table"]["rows"][1]["status"] == "failed"
    assert "fit:2" in c.previews


def test_run_to_here_and_unknown_options_are_refused_with_the_fix(canvases) -> None:
    sweep = grid()
    with pytest.raises(TypeError, match="max_parallel"):
        sweep.canvas(max_paralel=2)
    c = sweep.canvas()
    canvases.append(c)
    with pytest.raises(RunError, match="runs the whole sweep"):
        c.run(targets=["fit"])


def test_an_edit_on_the_sweep_canvas_does_not_change_the_sweep(canvases) -> None:
    sweep = grid()
    c = sweep.canvas()
    canvases.append(c)
    c.pipeline.remove("sum")
    assert "sum" in sweep.pipeline.nodes and sweep.swept_nodes["sum"] == 3


def test_aggregate_and_best_index() -> None:
    sweep = grid()
    statuses = {"src": "completed", "fit:0": "completed", "fit:1": "running", "sum:0": "cached"}
    nodes, branches = aggregate(sweep, statuses)
    assert nodes["fit"] == {"counts": {"completed": 1, "running": 1}, "status": "running",
                            "message": "1/3 done · 1 running"}
    assert nodes["sum"]["status"] == "running" and nodes["sum"]["message"] == "1/3 done · 1 cached"
    assert branches[2] == {"src": "completed", "fit": "", "sum": ""}
    rows = [{"branch": 0, "m": 1.0}, {"branch": 1, "m": None}, {"branch": 2, "m": 3.0}, {"branch": 3, "m": 3.0}]
    assert best_index(rows, "m", "max") == 2 and best_index(rows, "m", "min") == 0
    assert best_index(rows, None, "max") is None and best_index([{"branch": 0, "m": None}], "m", "max") is None
