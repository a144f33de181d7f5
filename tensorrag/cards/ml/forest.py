"""``random_forest``: the guide's one-card random forest (fit and train metrics), seeded."""

from __future__ import annotations

from typing import Any

from tensorrag.cards._fields import column_fields
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.tables import as_frame
from tensorrag.cards.ml.train import TrainCard, fit_table

__all__ = ["RandomForestCard"]


class RandomForestCard(BaseCard):
    """Fit a random forest on a training table (or the guide's JSON ``{X, y}``)."""

    card_type = "random_forest"
    display_name = "Random Forest"
    description = "Train a random forest classifier (or regressor) on a training table; seeded."
    category = "training"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "n_estimators": {
                "type": "integer",
                "title": "Number of trees",
                "default": 100,
                "minimum": 1,
                "description": "How many trees to grow.",
            },
            "max_depth": {
                "type": "integer",
                "title": "Max tree depth (0 = unlimited)",
                "default": 0,
                "minimum": 0,
                "description": "Deepest level of a tree; 0 grows each tree until its leaves are pure.",
            },
            "task": {
                "type": "string",
                "enum": ["classification", "regression", "auto"],
                "default": "classification",
                "description": "classification (the guide's), regression, or auto (by the target's type).",
            },
            **column_fields(),
            "random_seed": {
                "type": "integer",
                "default": 42,
                "description": "Seed of the forest (the same seed trains the same trees).",
            },
        },
    }
    input_schema = {"train_data": "any"}
    output_schema = {"trained_model": "model", "train_metrics": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Fit ``RandomForestClassifier`` (or ``Regressor``) and save the model and its training metrics.

        Returns:
            ``{"trained_model": ref, "train_metrics": ref}``; the metrics hold ``train_accuracy`` (or
            ``train_r2`` ...), ``n_estimators``, ``n_features`` and ``feature_importances``.

        Raises:
            CardConfigError: as ``train`` (target, features, a fit that fails).
        """
        target = str(config.get("target_column") or "target")
        df = as_frame(self.card_type, config, storage.load(inputs["train_data"]), "train_data", target)
        n_estimators = int(config.get("n_estimators") or 100)
        hyperparameters = {
            "n_estimators": n_estimators,
            "max_depth": int(config.get("max_depth") or 0) or None,
            "random_state": int(config.get("random_seed", 42)),
        }
        features = config.get("feature_columns") or [c for c in df.columns if c != target]
        extra = {"n_estimators": n_estimators, "n_features": len(features)}
        task = str(config.get("task") or "classification")
        return fit_table(self, config, df, "random_forest", task, hyperparameters, storage, "train_data", extra)

    get_output_preview = TrainCard.get_output_preview
