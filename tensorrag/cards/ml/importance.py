"""``feature_importance``: which features a trained model leans on, as JSON and a bar chart PNG."""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.charts import bar_chart
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.scoring import model_feature_columns
from tensorrag.cards.previews import json_safe

__all__ = ["FeatureImportanceCard", "importances_of"]


def importances_of(model: Any) -> tuple[np.ndarray, str] | None:
    """``(values, source)``: ``feature_importances_``, else ``|coef_|`` (averaged over classes); None if neither."""
    values = getattr(model, "feature_importances_", None)
    if values is not None:
        return np.asarray(values, dtype=float).reshape(-1), "feature_importances_"
    coef = getattr(model, "coef_", None)
    if coef is not None:
        coef = np.abs(np.asarray(coef, dtype=float))
        return (coef.mean(axis=0) if coef.ndim == 2 else coef.reshape(-1)), "abs(coef_)"
    return None


class FeatureImportanceCard(BaseCard):
    """Rank a model's features by importance (tree importances, or absolute linear coefficients)."""

    card_type = "feature_importance"
    display_name = "Feature Importance"
    description = "Rank a trained model's features by importance; JSON plus a bar chart PNG."
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "top_k": {
                "type": "integer",
                "default": 20,
                "minimum": 1,
                "description": "How many of the most important features to chart (the JSON lists all).",
            },
        },
    }
    input_schema = {"trained_model": "model"}
    output_schema = {"importances": "json", "chart": "bytes"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Read the importances, sort them and save the JSON and the chart.

        Returns:
            ``{"importances": ref, "chart": ref}``; importances: ``{importances: {feature: value}
            (largest first), source}``.

        Raises:
            CardConfigError: the model has neither ``feature_importances_`` nor ``coef_``.
        """
        model = storage.load_model(inputs["trained_model"])
        found = importances_of(model)
        if found is None:
            raise card_error(
                self.card_type,
                config,
                "trained_model",
                f"{type(model).__name__} has neither feature_importances_ (trees, forests, boosting) nor coef_ "
                "(linear models, linear SVM); use one of those models.",
            )
        values, source = found
        names = model_feature_columns(model) or [f"feature_{i}" for i in range(len(values))]
        if len(names) != len(values):
            names = [f"feature_{i}" for i in range(len(values))]
        order = sorted(range(len(values)), key=lambda i: (-values[i], names[i]))
        ranked = {names[i]: float(values[i]) for i in order}
        top = order[: int(config.get("top_k") or 20)]
        png = bar_chart([names[i] for i in top], [float(values[i]) for i in top], "Feature importance", source)
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "importances": storage.save_json(pid, nid, "importances", {"importances": ranked, "source": source}),
            "chart": storage.save_bytes(pid, nid, "chart", png, "png"),
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {feature: value}, source, chart_ref}``."""
        data = storage.load_json(outputs["importances"])
        return json_safe({"metrics": data["importances"], "source": data["source"], "chart_ref": outputs["chart"]})
