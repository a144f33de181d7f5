"""Scenario S1, swept: the iris random forest over 12 configs, as one plan.

The S1 pipeline (examples/s1_iris_random_forest.py) is swept over ``forest.n_estimators`` x
``forest.max_depth`` (4 x 3 = 12 branches) and scored by the evaluation's accuracy. Loading and
splitting the data run once for all 12; each branch trains, evaluates and charts its own forest.

Run it with ``python examples/s1_sweep.py``: it prints the results table, the best config and the
best model. Storage follows ``TENSORRAG_STORAGE`` (default ``./.tensorrag``); run it twice and every
branch is ``cached``; add a value and only the new branches run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the S1 example beside this file

from s1_iris_random_forest import build

SPACE = {"forest.n_estimators": [5, 10, 25, 50], "forest.max_depth": [1, 2, 0]}  # max_depth 0: unlimited
METRIC = ("evaluate", "eval_report", "ACCURACY")


def main() -> int:
    """Sweep S1, print the table, the best config and the best model."""
    sweep = build().sweep(SPACE, metric=METRIC, mode="max")
    print(sweep)
    result = sweep.run(max_parallel=4, echo=False)
    print(result.table.drop(columns=["error"]).to_string())
    best = result.best
    print(f"best: branch {best.index} {best.config} accuracy {best.metrics['evaluate.eval_report.ACCURACY']:.4f}")
    model = best.output("forest", "trained_model")
    print(f"best model: {type(model).__name__} with {len(model.estimators_)} trees, max_depth={model.max_depth}")
    print(f"best pipeline: forest config {dict(result.best_pipeline.node('forest').config)}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
