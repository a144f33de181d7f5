"""A failed branch stops only itself; the table says why; metrics that cannot be read are reported, not raised."""

from __future__ import annotations

import math

import pytest

import tensorrag as tr
from tests.sweep import cards as C


def pipe(**score) -> tr.Pipeline:
    p = tr.Pipeline("fails")
    p.add(C.source, id="src")
    p.add(C.score, id="fit", **score)
    p.add(C.summarise, id="sum")
    p.connect("src", "data", "fit", "data")
    p.connect("fit", "report", "sum", "report")
    return p


def test_a_failing_branch_does_not_stop_the_others(tmp_path):
    sweep = pipe(fail_above=0.5).sweep({"fit.lr": [0.1, 0.9, 0.3]}, metric=("sum", "summary", "loss"), mode="min")
    result = sweep.run(storage=tmp_path, echo=False)
    assert not result.ok and result.run.state == "failed"
    table = result.table
    assert list(table["status"]) == ["completed", "failed", "completed"]
    assert table.loc[1, "error"] == "fit: ValueError: lr 0.9 is above 0.5"
    assert math.isnan(table.loc[1, "sum.summary.loss"])
    assert result.run.status["sum:1"] == "skipped" and result.run.status["sum:2"] == "completed"
    assert result.best.index == 2  # the best of those that finished
    assert "failed" in repr(result) and "2 completed" in repr(result)


def test_a_failed_shared_node_skips_every_branch_and_says_which(tmp_path):
    p = tr.Pipeline("shared-fails")
    p.add(C.source, id="src")
    p.add(C.score, id="up", fail_above=0.0, lr=1.0)  # shared, and it fails
    p.add(C.summarise, id="sum")
    p.connect("src", "data", "up", "data")
    p.connect("up", "report", "sum", "report")
    p.add(C.score, id="side")  # swept, needs only src: its branches finish
    p.connect("src", "data", "side", "data")
    sweep = p.sweep({"side.lr": [0.1, 0.2]}, metric=("side", "report", "loss"))
    assert sweep.shared_nodes == ["src", "up", "sum"]
    result = sweep.run(storage=tmp_path, echo=False)
    assert list(result.table["status"]) == ["completed", "completed"] and result.run.status["up"] == "failed"
    below = tr.Pipeline("below-up")
    below.add(C.source, id="src")
    below.add(C.score, id="up", fail_above=0.0, lr=1.0)
    below.add(C.score, id="fit")  # swept below the failing shared node: its branches never start
    below.connect("src", "data", "up", "data")
    below.connect("up", "report", "fit", "data")
    result = below.sweep({"fit.lr": [0.1, 0.2]}, metric=("fit", "report", "loss")).run(storage=tmp_path, echo=False)
    assert list(result.table["status"]) == ["skipped", "skipped"]
    assert result.table.loc[1, "error"] == "skipped: shared up: ValueError: lr 1.0 is above 0.0"


def test_branches_skipped_by_a_shared_failure(tmp_path):
    p = tr.Pipeline("upstream-fails")
    p.add(C.source, id="src")
    p.add(C.score, id="up", fail_above=0.0, lr=1.0)
    p.add(C.summarise, id="sum")
    p.connect("src", "data", "up", "data")
    p.connect("up", "report", "sum", "report")
    p.add(C.score, id="side")
    p.connect("src", "data", "side", "data")
    sweep = tr.Sweep(p, {"src.n": [2, 3]}, metric=("sum", "summary", "loss"))
    assert sweep.shared_nodes == []  # src is swept: everything is per branch
    result = sweep.run(storage=tmp_path, echo=False)
    assert list(result.table["status"]) == ["failed", "failed"]
    assert result.table.loc[0, "error"] == "up: ValueError: lr 1.0 is above 0.0"
    with pytest.raises(tr.RunError, match=r"No branch of the sweep has a value for 'sum.summary.loss' \(up: Value"):
        _ = result.best


def test_a_metric_key_that_is_not_there_is_reported_with_did_you_mean(tmp_path):
    result = pipe().sweep({"fit.lr": [0.1]}, metric=("fit", "report", "los")).run(storage=tmp_path, echo=False)
    assert result.ok and list(result.table["status"]) == ["completed"]
    assert "no key 'los' in the output; did you mean 'loss'?" in result.table.loc[0, "error"]
    with pytest.raises(tr.RunError, match="did you mean 'loss'"):
        _ = result.best
    nometric = pipe().sweep({"fit.lr": [0.1]}).run(storage=tmp_path, echo=False)
    assert list(nometric.table.columns) == ["fit.lr", "status", "time", "error"]
    with pytest.raises(tr.RunError, match="no metric"):
        _ = nometric.best
