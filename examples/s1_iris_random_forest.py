"""Scenario S1: iris classification with a random forest.

data_load (iris) -> data_split (stratified, seed 42) -> random_forest -> evaluate
(accuracy, F1, ROC-AUC, classification report, confusion-matrix PNG), plus the guide's
confusion_matrix card, feature_importance and a 5-fold cross_validate of the same model.

Run it with ``python examples/s1_iris_random_forest.py [CHART.png]``: it prints the metrics and
writes the confusion matrix to ``s1_confusion_matrix.png`` (or CHART.png). Storage follows
``TENSORRAG_STORAGE`` (default ``./.tensorrag``); run it twice and every node is ``cached``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tensorrag as tr


def build() -> tr.Pipeline:
    """The S1 pipeline."""
    p = tr.Pipeline("s1-iris-random-forest")
    p.add("data_load", id="load", source="sample", sample_name="iris")
    p.add("data_split", id="split", test_ratio=0.2, random_seed=42, stratify_column="target")
    p.add("random_forest", id="forest", n_estimators=100, max_depth=0, random_seed=42)
    p.add("evaluate", id="evaluate", target_column="target", metrics=["accuracy", "f1", "roc_auc"])
    p.add("confusion_matrix", id="confusion", target_column="target")
    p.add("feature_importance", id="importance")
    p.add("model_define", id="define", model_type="random_forest", task="classification")
    p.add("cross_validate", id="cv", target_column="target", folds=5)
    p.connect("load", "dataset", "split", "dataset")
    p.connect("split", "train_dataset", "forest", "train_data")
    p.connect("forest", "trained_model", "evaluate", "trained_model")
    p.connect("split", "test_dataset", "evaluate", "test_dataset")
    p.connect("forest", "trained_model", "confusion", "trained_model")
    p.connect("split", "test_dataset", "confusion", "test_data")
    p.connect("forest", "trained_model", "importance", "trained_model")
    p.connect("load", "dataset", "cv", "dataset")
    p.connect("define", "model_spec", "cv", "model_spec")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run S1, print its metrics and save the confusion-matrix PNG."""
    args = sys.argv[1:] if argv is None else argv
    chart = Path(args[0] if args else "s1_confusion_matrix.png")
    run = build().run().raise_for_status()
    report = run.output("evaluate", "eval_report")
    for name in ("ACCURACY", "F1", "ROC_AUC"):
        print(f"  {name:<9}{report[name]:.4f}")
    matrix = report["confusion_matrix"]
    print(f"  confusion matrix (rows actual {matrix['labels']}): {matrix['matrix']}")
    cv = run.output("cv", "cv_scores")
    print(f"  5-fold accuracy {cv['mean']:.4f} +/- {cv['std']:.4f}")
    top = next(iter(run.output("importance", "importances")["importances"]))
    print(f"  most important feature: {top}")
    chart.write_bytes(run.output("evaluate", "eval_chart"))
    print(f"Confusion matrix: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
