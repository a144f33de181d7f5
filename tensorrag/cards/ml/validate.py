"""``cross_validate``: k-fold scores of a ``model_define`` spec on a table (seeded folds)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorrag.cards._fields import column_fields
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import build_estimator, card_error, resolve_task
from tensorrag.cards.ml.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, compute_metric
from tensorrag.cards.ml.train import check_feature_frame, check_target, check_target_for_task
from tensorrag.cards.previews import json_safe

__all__ = ["CV_METRICS", "CrossValidateCard"]

#: Metrics a fold can be scored with (ROC-AUC needs probabilities: use evaluate on a held-out split).
CV_METRICS = ("auto", *REGRESSION_METRICS, *(m for m in CLASSIFICATION_METRICS if m != "roc_auc"))


class CrossValidateCard(BaseCard):
    """Fit the model on k-1 folds and score it on the held-out fold, k times."""

    card_type = "cross_validate"
    display_name = "Cross Validate"
    description = "k-fold cross-validation of a Model Define spec: one score per fold, mean and std."
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            **column_fields(),
            "folds": {"type": "integer", "default": 5, "minimum": 2, "description": "Number of folds (k)."},
            "metric": {
                "type": "string",
                "enum": list(CV_METRICS),
                "default": "auto",
                "description": "Score of each fold; auto: r2 for regression, accuracy for classification.",
            },
            "shuffle": {"type": "boolean", "default": True, "description": "Shuffle the rows before cutting folds."},
            "random_seed": {"type": "integer", "default": 42, "description": "Seed of the shuffle."},
        },
        "required": ["target_column"],
    }
    input_schema = {"dataset": "dataframe", "model_spec": "json"}
    output_schema = {"cv_scores": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Score the spec with ``KFold`` (regression) or ``StratifiedKFold`` (classification).

        Returns:
            ``{"cv_scores": ref}``: ``{metric, folds, scores, mean, std, task, model_type}``.

        Raises:
            CardConfigError: bad target/features/spec, a metric that does not fit the task, or more
                folds than rows (or than the smallest class has members).
        """
        from sklearn.base import clone
        from sklearn.model_selection import KFold, StratifiedKFold

        df = storage.load_dataframe(inputs["dataset"])
        spec = storage.load_json(inputs["model_spec"])
        if not isinstance(spec, dict) or "model_type" not in spec:
            raise card_error(self.card_type, config, "model_spec", "model_spec must be a Model Define output.")
        model_type = str(spec["model_type"]).strip().lower()
        target = str(config.get("target_column") or "target")
        y = check_target(self.card_type, config, df, target, "dataset")
        features = [str(c) for c in (config.get("feature_columns") or [c for c in df.columns if c != target])]
        x = check_feature_frame(self.card_type, config, df, [f for f in features if f != target], "dataset")
        try:
            task = resolve_task(model_type, spec.get("task") or "auto", y)
            estimator = build_estimator(model_type, task, spec.get("hyperparameters") or {})
        except ValueError as exc:
            raise card_error(self.card_type, config, "model_spec", str(exc)) from exc
        y = check_target_for_task(self.card_type, config, y, target, task, model_type)
        metric = str(config.get("metric") or "auto")
        if metric == "auto":
            metric = "accuracy" if task == "classification" else "r2"
        valid = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        if metric not in valid:
            raise card_error(
                self.card_type,
                config,
                "metric",
                f"metric {metric!r} does not apply to {task}; use auto or one of {', '.join(valid)}.",
            )
        folds = int(config.get("folds") or 5)
        shuffle = bool(config.get("shuffle", True))
        seed = int(config.get("random_seed", 42)) if shuffle else None
        splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=shuffle, random_state=seed)
        scores = []
        try:
            for i, (train_idx, test_idx) in enumerate(splitter.split(x, y), start=1):
                model = clone(estimator).fit(x.iloc[train_idx], y.iloc[train_idx])
                scores.append(compute_metric(metric, y.iloc[test_idx], model.predict(x.iloc[test_idx])))
                storage.progress(i, folds)
        except ValueError as exc:
            raise card_error(
                self.card_type, config, "folds", f"cannot cross-validate with {folds} folds: {exc}"
            ) from exc
        result = {
            "metric": metric,
            "folds": folds,
            "scores": scores,
            "mean": float(np.mean(scores)),
            "std": float(np.std(scores)),
            "task": task,
            "model_type": model_type,
        }
        print(f"{folds}-fold {metric}: {result['mean']:.4g} +/- {result['std']:.3g}")
        ref = storage.save_json(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "cv_scores", result)
        return {"cv_scores": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {mean, std}, metric, folds, scores}``."""
        data = storage.load_json(outputs["cv_scores"])
        rest = {k: v for k, v in data.items() if k not in ("mean", "std")}
        return json_safe({"metrics": {"mean": data["mean"], "std": data["std"]}, **rest})
