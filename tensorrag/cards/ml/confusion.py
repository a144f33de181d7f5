"""The guide's evaluation cards: ``confusion_matrix`` (with a PNG) and ``accuracy_calc``."""

from __future__ import annotations

from typing import Any

from tensorrag.cards._fields import MODEL_TAKES, column_fields
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.charts import render_chart
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.evaluate import model_predict, select_features
from tensorrag.cards.ml.metrics import classification_details, compute_metric, label_order
from tensorrag.cards.ml.scoring import model_classes
from tensorrag.cards.ml.tables import as_frame, as_values
from tensorrag.cards.ml.train import check_target
from tensorrag.cards.previews import json_safe

__all__ = ["AccuracyCalcCard", "ConfusionMatrixCard"]


class ConfusionMatrixCard(BaseCard):
    """Score a classifier on test data: accuracy, the confusion matrix and its PNG chart."""

    card_type = "confusion_matrix"
    display_name = "Confusion Matrix"
    description = "Evaluate a classifier with a confusion matrix (counts and a PNG chart) and accuracy."
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            **column_fields(MODEL_TAKES),
        },
    }
    input_schema = {"trained_model": "model", "test_data": "any"}
    output_schema = {"metrics": "json", "eval_chart": "bytes"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Predict on ``test_data`` and save the metrics and the chart.

        Returns:
            ``{"metrics": ref, "eval_chart": ref}``; metrics: ``{accuracy, classes, confusion_matrix:
            {labels, matrix}, classification_report}`` (matrix rows are the actual classes).
        """
        model = storage.load_model(inputs["trained_model"])
        target = str(config.get("target_column") or "target")
        df = as_frame(self.card_type, config, storage.load(inputs["test_data"]), "test_data", target)
        if len(df) == 0:
            raise card_error(self.card_type, config, "test_data", "test_data has no rows.")
        y = check_target(self.card_type, config, df, target, "test_data")
        x = select_features(self.card_type, config, model, df, target, "test_data")
        pred = model_predict(self.card_type, config, model, x)
        labels = label_order(y, pred, model_classes(model))
        details = classification_details(y, pred, labels)
        metrics = {"accuracy": compute_metric("accuracy", y, pred), "classes": len(labels), **details}
        print(f"accuracy {metrics['accuracy']:.4g} over {len(y)} rows, {len(labels)} classes")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "metrics": storage.save_json(pid, nid, "metrics", json_safe(metrics)),
            "eval_chart": storage.save_bytes(pid, nid, "eval_chart", render_chart(y, pred, True, labels), "png"),
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {accuracy, classes}, chart_ref, confusion_matrix, classification_report}``."""
        data = storage.load_json(outputs["metrics"])
        preview: dict[str, Any] = {"metrics": {k: data[k] for k in ("accuracy", "classes") if k in data}}
        preview["chart_ref"] = json_safe(outputs.get("eval_chart"))
        preview.update({k: v for k, v in data.items() if k not in ("accuracy", "classes")})
        return json_safe(preview)


class AccuracyCalcCard(BaseCard):
    """The guide's accuracy: the share of predictions equal to the ground truth."""

    card_type = "accuracy_calc"
    display_name = "Accuracy"
    description = "Calculate classification accuracy from predictions and ground truth."
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "prediction_column": {
                "type": "string",
                "default": "prediction",
                "description": "Column of predictions when predictions is a table (an inference output).",
            },
            "target_column": {
                "type": "string",
                "default": "target",
                "description": "Column of true labels when ground_truth is a table.",
            },
        },
    }
    input_schema = {"predictions": "any", "ground_truth": "any"}
    output_schema = {"metrics": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Compare the two and save ``{accuracy, samples}``.

        Each input is the guide's JSON ``{"values": [...]}``, a list, or a table (the configured column).

        Raises:
            CardConfigError: the two have different lengths, or are empty.
        """
        pred = as_values(
            self.card_type, config, storage.load(inputs["predictions"]), "predictions", config["prediction_column"]
        )
        truth = as_values(
            self.card_type, config, storage.load(inputs["ground_truth"]), "ground_truth", config["target_column"]
        )
        if len(pred) != len(truth) or not truth:
            raise card_error(
                self.card_type,
                config,
                "predictions",
                f"predictions has {len(pred)} values and ground_truth {len(truth)}; they must be the same, "
                "non-zero length (row i of one is row i of the other).",
            )
        metrics = {"accuracy": compute_metric("accuracy", truth, pred), "samples": len(truth)}
        ref = storage.save_json(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "metrics", metrics)
        return {"metrics": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {accuracy, samples}}``."""
        return {"metrics": json_safe(storage.load_json(outputs["metrics"]))}
