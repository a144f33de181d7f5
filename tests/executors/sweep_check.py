"""The 2x3 grid sweep over the regression pipeline, run on a given executor and checked against the local one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tensorrag.demo import build

if TYPE_CHECKING:
    from pathlib import Path

    from tensorrag.executors import Executor

SPACE = {"define.model_type": ["ridge", "lasso"], "define.hyperparameters.alpha": [0.1, 1, 10]}
METRIC = ("evaluate", "eval_report", "R2")
R2 = "evaluate.eval_report.R2"


def executions(run) -> dict[str, int]:
    """How many times each node of ``run`` executed (its ``running`` events)."""
    counts: dict[str, int] = {}
    for e in run.events:
        if e["type"] == "node_status" and e["status"] == "running":
            counts[e["node_id"]] = counts.get(e["node_id"], 0) + 1
    return counts


def check_grid_sweep(executor: Executor, tmp_path: Path) -> None:
    """Six branches on ``executor``: shared upstream once, table and best as on the local executor, +1 value."""
    pytest.importorskip("sklearn")
    sweep = build().sweep(SPACE, metric=METRIC, mode="max")
    result = sweep.run(executor=executor, max_parallel=2, storage=tmp_path / "remote", echo=False)
    assert result.ok, result.table[["status", "error"]]
    counts = executions(result.run)
    assert counts["load"] == 1 and counts["split"] == 1  # shared by all six branches
    assert len(counts) == 2 + 6 * len(sweep.branch_nodes) and set(counts.values()) == {1}
    local = build().sweep(SPACE, metric=METRIC, mode="max").run(storage=tmp_path / "local", echo=False)
    assert list(result.table[R2]) == pytest.approx(list(local.table[R2]), rel=1e-12)
    assert result.best.index == local.best.index
    assert result.best.output("evaluate", "eval_report")["R2"] == pytest.approx(local.best.metrics[R2])
    more = build().sweep({"define.model_type": ["ridge"], "define.hyperparameters.alpha": [0.1, 1, 10, 100]},
                         metric=METRIC)
    again = more.run(executor=executor, storage=tmp_path / "remote", echo=False)
    assert list(again.table["status"]) == ["cached", "cached", "cached", "completed"]
    assert set(executions(again.run)) == {f"{n}:3" for n in more.branch_nodes}  # only the new branch ran
