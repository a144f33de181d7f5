"""A 2x3 grid over the regression pipeline: one plan, shared upstream once, results equal to separate runs."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("sklearn")

import tensorrag as tr
from tensorrag.demo import build

SPACE = {"define.model_type": ["ridge", "lasso"], "define.hyperparameters.alpha": [0.1, 1, 10]}
METRIC = ("evaluate", "eval_report", "R2")
R2 = "evaluate.eval_report.R2"


def _runs(run: tr.Run) -> dict[str, int]:
    """How many times each node of the run executed (its ``running`` events)."""
    counts: dict[str, int] = {}
    for e in run.events:
        if e["type"] == "node_status" and e["status"] == "running":
            counts[e["node_id"]] = counts.get(e["node_id"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    store = tmp_path_factory.mktemp("grid")
    sweep = build().sweep(SPACE, metric=METRIC, mode="max")
    return store, sweep, sweep.run(storage=store, echo=False)


def test_the_grid_is_one_plan_with_the_upstream_shared(grid):
    _, sweep, result = grid
    assert len(sweep) == 6 and sweep.shared_nodes == ["load", "split"]
    assert sweep.branch_nodes == ["define", "train", "evaluate", "inference"]
    assert result.ok
    counts = _runs(result.run)
    assert counts["load"] == 1 and counts["split"] == 1  # shared: executed once for all six branches
    branch_ids = {f"{n}:{i}" for n in sweep.branch_nodes for i in range(6)}
    assert set(counts) == {"load", "split"} | branch_ids and set(counts.values()) == {1}
    assert set(result.run.manifest()["nodes"]) == {"load", "split"} | branch_ids  # valid ids in the manifest


def test_table_and_best_match_the_branches_run_one_by_one(grid, tmp_path):
    _, _, result = grid
    table = result.table
    assert list(table.columns) == [*SPACE, R2, "status", "time", "error"]
    assert table.index.name == "branch" and len(table) == 6
    assert list(zip(table["define.model_type"], table["define.hyperparameters.alpha"], strict=True)) == [
        ("ridge", 0.1), ("ridge", 1), ("ridge", 10), ("lasso", 0.1), ("lasso", 1), ("lasso", 10)]
    assert set(table["status"]) == {"completed"} and table["error"].isna().all()
    alone = {}
    for i, (model, alpha) in enumerate(zip(table["define.model_type"], table["define.hyperparameters.alpha"],
                                           strict=True)):
        p = build()
        p.configure("define", model_type=model, hyperparameters={"alpha": alpha})
        run = p.run(storage=tmp_path, echo=False).raise_for_status()
        alone[i] = run.output("evaluate", "eval_report")["R2"]
        assert table.loc[i, R2] == pytest.approx(alone[i], rel=1e-12)
    best = max(alone, key=alone.get)
    assert result.best.index == best
    assert result.best.metrics[R2] == pytest.approx(alone[best])
    assert result.best.output("evaluate", "eval_report")["R2"] == pytest.approx(alone[best])
    assert set(result.best.outputs) == {"load", "split", "define", "train", "evaluate", "inference"}
    assert result.best.run is result.run
    spec = result.best.output("define", "model_spec")
    assert spec["model_type"] == result.best.config["define.model_type"]


def test_best_pipeline_has_the_best_config_filled_in(grid, tmp_path):
    _, _, result = grid
    best = result.best
    p = result.best_pipeline
    assert isinstance(p, tr.Pipeline) and len(p) == 6 and p.name == "regression"
    assert p.node("define").config == {"model_type": best.config["define.model_type"],
                                       "hyperparameters": {"alpha": best.config["define.hyperparameters.alpha"]}}
    assert p.node("load").config == build().node("load").config  # the rest is the swept pipeline's
    assert p.run(storage=tmp_path, echo=False).output("evaluate", "eval_report")["R2"] == pytest.approx(
        best.metrics[R2])


def test_min_mode_picks_the_other_end(grid):
    _, _, result = grid
    worst = build().sweep(SPACE, metric=METRIC, mode="min")
    again = worst.run(storage=grid[0], echo=False)  # all cached
    assert set(again.table["status"]) == {"cached"}
    assert again.best.index == int(result.table[R2].idxmin())
    assert not math.isnan(again.best.metrics[R2])


def test_one_more_value_runs_only_the_new_branch(grid):
    store, _, _ = grid
    more = build().sweep({"define.model_type": ["ridge"], "define.hyperparameters.alpha": [0.1, 1, 10, 100]},
                         metric=METRIC)
    result = more.run(storage=store, echo=False)
    assert list(result.table["status"]) == ["cached", "cached", "cached", "completed"]
    assert set(_runs(result.run)) == {f"{n}:3" for n in more.branch_nodes}  # only the new branch executed
    assert result.table.loc[0, "time"] == 0 and result.table.loc[3, "time"] > 0
