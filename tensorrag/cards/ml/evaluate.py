"""``evaluate``: score a trained model on a test table; report metrics and a PNG chart."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.train import check_feature_frame, check_target, is_classifier_model, model_feature_names
from tensorrag.cards.previews import json_safe

__all__ = ["CLASSIFICATION_METRICS", "METRICS", "REGRESSION_METRICS", "EvaluateCard", "render_chart"]

REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
CLASSIFICATION_METRICS = ("accuracy", "f1")
DEFAULT_METRICS = ("mse", "r2")
METRICS = REGRESSION_METRICS + CLASSIFICATION_METRICS


def _compute(name: str, y: Any, pred: Any) -> float:
    from sklearn import metrics as m

    if name == "mse":
        return float(m.mean_squared_error(y, pred))
    if name == "rmse":
        return math.sqrt(float(m.mean_squared_error(y, pred)))
    if name == "mae":
        return float(m.mean_absolute_error(y, pred))
    if name == "r2":
        return float(m.r2_score(y, pred)) if len(y) > 1 else float("nan")
    if name == "accuracy":
        return float(m.accuracy_score(y, pred))
    if name == "f1":
        return float(m.f1_score(y, pred, average="macro", zero_division=0))
    raise ValueError(f"unknown metric {name!r}")  # pragma: no cover - checked before


def render_chart(y_true: Any, y_pred: Any, classification: bool, labels: list[Any] | None = None) -> bytes:
    """Draw the evaluation chart as PNG bytes.

    Regression: predicted vs actual scatter (6x6 in, 100 dpi) with a red dashed y = x line.
    Classification: the confusion matrix (rows actual, columns predicted) with counts.

    The figure is drawn with ``matplotlib.figure.Figure`` on an Agg canvas directly: no pyplot,
    no global backend switch, so it is safe in threads and leaves a notebook's backend alone.

    Args:
        y_true: actual values.
        y_pred: predicted values.
        classification: which chart to draw.
        labels: class order for the confusion matrix (default: sorted union of both).

    Returns:
        The PNG file's bytes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if classification:
        from sklearn.metrics import confusion_matrix

        if labels is None:
            labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()), key=repr)
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        image = ax.imshow(matrix, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ticks = range(len(labels))
        names = [str(label) for label in labels]
        ax.set_xticks(list(ticks), names, rotation=45 if max((len(n) for n in names), default=0) > 3 else 0)
        ax.set_yticks(list(ticks), names)
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in ticks:
            for j in ticks:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    color="white" if matrix[i, j] > threshold else "black",
                )
        ax.set_xlabel("Predicted")
        ax.set_ylabel("Actual")
        ax.set_title("Confusion matrix")
    else:
        actual = np.asarray(y_true, dtype=float)
        predicted = np.asarray(y_pred, dtype=float)
        ax.scatter(actual, predicted, alpha=0.5, s=12)
        if actual.size:
            lo = float(np.nanmin([actual.min(), predicted.min()]))
            hi = float(np.nanmax([actual.max(), predicted.max()]))
            ax.plot([lo, hi], [lo, hi], "r--", linewidth=1.5, label="y = x")
            ax.legend(loc="upper left")
        ax.set_xlabel("Actual")
        ax.set_ylabel("Predicted")
        ax.set_title("Predicted vs actual")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


class EvaluateCard(BaseCard):
    """Score a trained model on the test table: metrics report plus a chart."""

    card_type = "evaluate"
    display_name = "Evaluate"
    description = "Score a trained model on a test table (MSE, RMSE, MAE, R2 or accuracy, F1) with a chart."
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
                "description": "Regression: mse, rmse, mae, r2. Classification: accuracy, f1 (macro). "
                "Empty: all metrics of the model's task.",
            },
            "target_column": {"type": "string", "default": "target", "description": "The label column."},
            "feature_columns": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Columns the model takes (default: those it was trained on).",
            },
        },
        "required": ["target_column"],
    }
    input_schema = {"trained_model": "model", "test_dataset": "dataframe"}
    output_schema = {"eval_report": "json", "eval_chart": "bytes"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Predict on the test table, compute the chosen metrics and draw the chart.

        Feature columns: ``feature_columns`` from the config, else the model's own
        ``feature_names_in_``, else every column except the target.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: ``{"trained_model": ref, "test_dataset": ref}``.
            storage: the card storage handle.

        Returns:
            ``{"eval_report": ref, "eval_chart": ref}``; the report maps upper-case metric names
            (``MSE``, ``RMSE``, ``MAE``, ``R2``, ``ACCURACY``, ``F1``) to numbers.
        """
        model = storage.load_model(inputs["trained_model"])
        df = storage.load_dataframe(inputs["test_dataset"])
        if len(df) == 0:
            raise card_error(self.card_type, config, "test_dataset", "test_dataset has no rows.")
        classification = is_classifier_model(model)
        task = "classification" if classification else "regression"
        valid = CLASSIFICATION_METRICS if classification else REGRESSION_METRICS
        wanted = [str(m).strip().lower() for m in (config.get("metrics") or valid)]
        if classification and wanted == list(DEFAULT_METRICS):
            wanted = list(valid)  # the regression default was never chosen for a classifier: score it as one
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
        features = [str(c) for c in config.get("feature_columns") or []]
        if not features:
            features = model_feature_names(model) or [str(c) for c in df.columns if c != target]
        if target in features:
            raise card_error(
                self.card_type,
                config,
                "feature_columns",
                f"the feature columns include the target column {target!r}; remove it from feature_columns "
                "(or check target_column).",
            )
        x = check_feature_frame(self.card_type, config, df, features, "test_dataset")
        try:
            pred = model.predict(x)
        except ValueError as exc:
            raise card_error(
                self.card_type, config, "feature_columns", f"{type(model).__name__}.predict failed: {exc}"
            ) from exc
        if not classification and not np.issubdtype(np.asarray(y).dtype, np.number):
            raise card_error(
                self.card_type,
                config,
                "target_column",
                f"target_column {target!r} is not numeric ({y.dtype}) but the model is a regressor; "
                "check target_column.",
            )

        report = {name.upper(): _compute(name, y, pred) for name in dict.fromkeys(wanted)}
        labels = None
        if classification and hasattr(model, "classes_"):
            known = list(np.asarray(model.classes_).tolist())
            extra = [v for v in dict.fromkeys(np.asarray(y).tolist()) if v not in known]
            labels = known + extra
        png = render_chart(y, pred, classification, labels)
        print(f"scored {len(y)} rows: " + ", ".join(f"{k} {v:.4g}" for k, v in report.items()))

        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        report_ref = storage.save_json(pid, nid, "eval_report", json_safe(report))
        chart_ref = storage.save_bytes(pid, nid, "eval_chart", png, "png")
        return {"eval_report": report_ref, "eval_chart": chart_ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: report, chart_ref: <eval_chart ref>}``."""
        report = storage.load_json(outputs["eval_report"])
        return {"metrics": json_safe(report), "chart_ref": json_safe(outputs.get("eval_chart"))}
