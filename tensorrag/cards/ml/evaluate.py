"""``evaluate``: score a trained model on a test table; report metrics and a PNG chart.

Any model with ``predict(X)`` is scored (see :mod:`tensorrag.cards.ml.scoring`): scikit-learn
estimators, a torch model wrapped by the torch cards, your own class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorrag.cards._fields import MODEL_TAKES, column_fields
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.charts import render_chart
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    classification_details,
    compute_metric,
    label_order,
    roc_auc,
)
from tensorrag.cards.ml.scoring import is_classifier_model, model_classes, model_feature_columns, predict, predict_proba
from tensorrag.cards.ml.train import check_feature_frame, check_target
from tensorrag.cards.previews import json_safe

__all__ = ["CLASSIFICATION_METRICS", "METRICS", "REGRESSION_METRICS", "EvaluateCard", "render_chart", "select_features"]

DEFAULT_METRICS = ("mse", "r2")
METRICS = REGRESSION_METRICS + CLASSIFICATION_METRICS


def select_features(card_type: str, config: dict[str, Any], model: Any, df: Any, target: str, port: str) -> Any:
    """The feature frame to score: ``feature_columns`` of the config, else the model's, else all but the target.

    Raises:
        CardConfigError: the target is among the features, or a feature is missing / not numeric / incomplete.
    """
    features = [str(c) for c in config.get("feature_columns") or []]
    if not features:
        features = model_feature_columns(model) or [str(c) for c in df.columns if c != target]
    if target in features:
        raise card_error(
            card_type,
            config,
            "feature_columns",
            f"the feature columns include the target column {target!r}; remove it from feature_columns "
            "(or check target_column).",
        )
    return check_feature_frame(card_type, config, df, features, port)


def model_predict(card_type: str, config: dict[str, Any], model: Any, x: Any) -> np.ndarray:
    """``predict(model, x)``, with a model error turned into a config error naming the model."""
    try:
        return predict(model, x)
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise card_error(card_type, config, "feature_columns", f"{type(model).__name__}.predict failed: {exc}") from exc


class EvaluateCard(BaseCard):
    """Score a trained model on the test table: metrics report plus a chart."""

    card_type = "evaluate"
    display_name = "Evaluate"
    description = (
        "Score a trained model on a test table: MSE, RMSE, MAE, R2 with a predicted-vs-actual chart, or "
        "accuracy, F1, ROC-AUC and a classification report with a confusion-matrix chart."
    )
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "metrics": {
                "type": "array",
                "items": {"type": "string", "enum": list(METRICS)},
                "default": list(DEFAULT_METRICS),
                "description": "Regression: mse, rmse, mae, r2. Classification: accuracy, f1 (macro), roc_auc "
                "(needs predict_proba). A classifier left at the regression default gets all of its metrics.",
            },
            **column_fields(MODEL_TAKES),
        },
        "required": ["target_column"],
    }
    input_schema = {"trained_model": "model", "test_dataset": "dataframe"}
    output_schema = {"eval_report": "json", "eval_chart": "bytes"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Predict on the test table, compute the chosen metrics and draw the chart.

        Feature columns: ``feature_columns`` from the config, else the model's own
        (``feature_columns`` or ``feature_names_in_``), else every column except the target.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: ``{"trained_model": ref, "test_dataset": ref}``.
            storage: the card storage handle.

        Returns:
            ``{"eval_report": ref, "eval_chart": ref}``. The report maps upper-case metric names
            (``MSE``, ``RMSE``, ``MAE``, ``R2``, ``ACCURACY``, ``F1``, ``ROC_AUC``) to numbers; for a
            classifier it also holds ``classification_report`` (per class: precision, recall,
            f1-score, support) and ``confusion_matrix`` (``{labels, matrix}``, rows actual). The chart
            is the confusion matrix for a classifier, predicted vs actual for a regressor.
        """
        model = storage.load_model(inputs["trained_model"])
        df = storage.load_dataframe(inputs["test_dataset"])
        if len(df) == 0:
            raise card_error(self.card_type, config, "test_dataset", "test_dataset has no rows.")
        classification = is_classifier_model(model)
        task = "classification" if classification else "regression"
        valid = CLASSIFICATION_METRICS if classification else REGRESSION_METRICS
        chosen = [str(m).strip().lower() for m in (config.get("metrics") or [])]
        implicit = not chosen or (classification and chosen == list(DEFAULT_METRICS))
        wanted = list(valid) if implicit else chosen  # a regression default never chosen for a classifier
        wrong = [m for m in wanted if m not in valid]
        if wrong:
            raise card_error(
                self.card_type,
                config,
                "metrics",
                f"metric(s) {', '.join(repr(m) for m in wrong)} do not apply to a {task} model "
                f"({type(model).__name__}); valid metrics for {task}: {', '.join(valid)}. Change metrics to "
                f"{list(valid)}.",
            )

        target = str(config.get("target_column") or "target")
        y = check_target(self.card_type, config, df, target, "test_dataset")
        x = select_features(self.card_type, config, model, df, target, "test_dataset")
        pred = model_predict(self.card_type, config, model, x)
        if not classification and not np.issubdtype(np.asarray(y).dtype, np.number):
            raise card_error(
                self.card_type,
                config,
                "target_column",
                f"target_column {target!r} is not numeric ({y.dtype}) but the model is a regressor; "
                "check target_column.",
            )

        report: dict[str, Any] = {
            name.upper(): compute_metric(name, y, pred) for name in dict.fromkeys(wanted) if name != "roc_auc"
        }
        labels = None
        if classification:
            classes = model_classes(model)
            labels = label_order(y, pred, classes)
            if "roc_auc" in wanted:
                report["ROC_AUC"] = self._roc_auc(config, model, x, y, classes, required=not implicit)
            report.update(classification_details(y, pred, labels))
        png = render_chart(y, pred, classification, labels)
        numbers = {k: v for k, v in report.items() if isinstance(v, float)}
        print(f"scored {len(y)} rows: " + ", ".join(f"{k} {v:.4g}" for k, v in numbers.items()))

        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        report_ref = storage.save_json(pid, nid, "eval_report", json_safe(report))
        chart_ref = storage.save_bytes(pid, nid, "eval_chart", png, "png")
        return {"eval_report": report_ref, "eval_chart": chart_ref}

    def _roc_auc(
        self, config: dict[str, Any], model: Any, x: Any, y: Any, classes: list[Any] | None, required: bool
    ) -> float | None:
        proba = predict_proba(model, x)
        if proba is None or not classes:
            if required:
                raise card_error(
                    self.card_type,
                    config,
                    "metrics",
                    f"roc_auc needs class probabilities, but {type(model).__name__} has no predict_proba (or no "
                    "classes_). Drop roc_auc from metrics, or use a model with probabilities (svm: "
                    'hyperparameters {"probability": true}).',
                )
            return None
        return roc_auc(y, proba, classes)

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {name: number}, chart_ref, classification_report?, confusion_matrix?}``."""
        report = storage.load_json(outputs["eval_report"])
        numbers = {k: v for k, v in report.items() if not isinstance(v, (dict, list))}
        preview: dict[str, Any] = {"metrics": json_safe(numbers), "chart_ref": json_safe(outputs.get("eval_chart"))}
        preview.update({k: json_safe(v) for k, v in report.items() if k not in numbers})
        return preview
