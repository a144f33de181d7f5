"""Sweeps: one pipeline over many configs, as one plan on any executor (docs/sweeps.md, design.md §10).

::

    sweep = p.sweep({"define.model_type": ["ridge", "lasso"], "define.hyperparameters.alpha": [0.1, 1, 10]},
                    metric=("evaluate", "eval_report", "R2"), mode="max")
    result = sweep.run(executor="local", max_parallel=8)
    result.table           # one row per branch: values, metrics, status, time, error
    result.best            # the best Branch: .config, .run, .outputs, .output(node, port)
    result.best_pipeline   # the pipeline with the best values filled in

Modules: ``_space`` (keys, values, metric: parsed, checked and drawn), ``_expand`` (the one
expanded pipeline), ``_result`` (branches, table, best), ``_sweep`` (:class:`Sweep`).
"""

from tensorrag.sweep._result import Branch, SweepResult
from tensorrag.sweep._space import MAX_BRANCHES, Metric
from tensorrag.sweep._sweep import Sweep

__all__ = ["MAX_BRANCHES", "Branch", "Metric", "Sweep", "SweepResult"]
