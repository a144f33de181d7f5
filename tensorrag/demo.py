"""The demo pipeline: diabetes regression, load -> split -> define -> train -> evaluate -> inference.

Run it with ``make demo`` or ``python -m tensorrag.demo``. It uses the embedded defaults (local
executor, storage under ``./.tensorrag`` unless ``TENSORRAG_STORAGE``/``STORAGE_DIR`` say
otherwise). Run it twice: the second time every node is ``cached``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tensorrag.pipeline import Pipeline

if TYPE_CHECKING:
    from tensorrag.run import Run

__all__ = ["build", "main"]


def build(name: str = "regression") -> Pipeline:
    """The demo pipeline, built with the public API."""
    p = Pipeline(name)
    p.add("data_load", id="load", source="sample", sample_name="diabetes")
    p.add("data_split", id="split", test_ratio=0.2, random_seed=42)
    p.add("model_define", id="define", model_type="ridge", hyperparameters={"alpha": 0.5})
    p.add("train", id="train", target_column="target")
    p.add("evaluate", id="evaluate", target_column="target", metrics=["mse", "rmse", "mae", "r2"])
    p.add("inference", id="inference", target_column="prediction")
    p.connect("load", "dataset", "split", "dataset")
    p.connect("split", "train_dataset", "train", "train_dataset")
    p.connect("define", "model_spec", "train", "model_spec")
    p.connect("train", "trained_model", "evaluate", "trained_model")
    p.connect("split", "test_dataset", "evaluate", "test_dataset")
    p.connect("train", "trained_model", "inference", "trained_model")
    p.connect("split", "test_dataset", "inference", "dataset")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the demo, print node states, card output and metrics, and say where the files are."""
    del argv
    p = build()

    def show(event: dict[str, Any]) -> None:
        if event["type"] == "node_status" and event["status"] not in ("pending", "running"):
            print(f"  {event['node_id']:<10} {event['status']}", flush=True)

    print(f"Running pipeline {p.name!r} ({len(p)} nodes)")
    run: Run = p.run(on_event=show)
    print(f"\nRun {run.run_id}: {run.state} in {run.execution_time:.2f} s")
    if not run.ok:  # the run printed each failed node's error (echo)
        return 1
    report = run.output("evaluate", "eval_report")
    print("\nMetrics (test set):")
    for name, value in report.items():
        print(f"  {name:<5} {value:.4f}")
    chart = run.outputs("evaluate")["eval_chart"]["uri"]
    predictions = run.output("inference")
    print(f"\nPredictions: {len(predictions)} rows, e.g. {predictions['prediction'].head(3).round(1).tolist()}")
    where = _local(run.store.url)
    print(f"\nChart: {_local(chart)}")
    print(f"Pipeline file: {_local(run.store.uri('_pipeline.json'))}")
    print(f"Run manifest: {_local(run.store.uri(f'runs/{run.run_id}.json'))}")
    print(f"Everything (_pipeline.json, chart, artifacts, runs) is under {where}")
    return 0


def _local(uri: str) -> str:
    # Plain paths for local files: what people paste into a file browser or `open`.
    return uri[len("file://") :] if uri.startswith("file://") else uri


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
