"""``inference``: predict with a trained model on a table (any model with ``predict(X)``, see ``ml.scoring``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.evaluate import model_predict
from tensorrag.cards.ml.scoring import model_feature_columns
from tensorrag.cards.ml.train import check_feature_frame
from tensorrag.cards.previews import json_safe

__all__ = ["InferenceCard"]


class InferenceCard(BaseCard):
    """Run a trained model over a table and output its predictions."""

    card_type = "inference"
    display_name = "Inference"
    description = "Predict with a trained model on a table; outputs the predictions (optionally with the features)."
    category = "inference"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "include_features": {
                "type": "boolean",
                "default": True,
                "description": "Keep the feature columns next to the prediction column.",
            },
            "target_column": {
                "type": "string",
                "default": "prediction",
                "description": "Name of the prediction column (a dataset column of that name is never a feature).",
            },
            "feature_columns": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Columns the model takes (default: those it was trained on, else all columns).",
            },
            "output_format": {
                "type": "string",
                "enum": ["parquet", "csv"],
                "default": "parquet",
                "description": "Kept for pipelines saved by the original system; predictions are always a table.",
            },
        },
    }
    input_schema = {"trained_model": "model", "dataset": "dataframe"}
    output_schema = {"predictions": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Predict on ``dataset`` and save the ``predictions`` table.

        Feature columns: ``feature_columns`` from the config, else the model's
        (``feature_columns`` or ``feature_names_in_``), else every column; a column named like the prediction column is
        never used as a feature.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: ``{"trained_model": ref, "dataset": ref}`` (``test_dataset`` is accepted
                for ``dataset``, as in the original).
            storage: the card storage handle.

        Returns:
            ``{"predictions": ref}``: the feature columns (when ``include_features``) plus the
            prediction column.
        """
        data_ref = inputs.get("dataset") or inputs.get("test_dataset")
        if data_ref is None:
            raise card_error(self.card_type, config, "dataset", "the dataset input is not connected.")
        model = storage.load_model(inputs["trained_model"])
        df = storage.load_dataframe(data_ref)
        name = str(config.get("target_column") or "prediction")

        configured = [str(c) for c in config.get("feature_columns") or []]
        if configured:
            features, origin = configured, "feature_columns"
        else:
            learned = model_feature_columns(model)
            if learned:
                features, origin = learned, "the model's training features"
            else:
                features, origin = [str(c) for c in df.columns if str(c) != name], "the dataset columns"
        if name in features:
            raise card_error(
                self.card_type,
                config,
                "target_column",
                f"the prediction column {name!r} is also one of {origin}; a prediction cannot be its own "
                f"feature. Set target_column to another name (e.g. '{name}_prediction') or fix feature_columns.",
            )
        x = check_feature_frame(self.card_type, config, df, features, "dataset")
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and int(expected) != len(features):
            raise card_error(
                self.card_type,
                config,
                "feature_columns",
                f"the model takes {int(expected)} features but {len(features)} were selected from {origin} "
                f"({', '.join(features)}). Set feature_columns to the training columns.",
            )
        pred = model_predict(self.card_type, config, model, x)

        out = x.copy() if config.get("include_features", True) else pd.DataFrame(index=x.index)
        out[name] = list(pred) if getattr(pred, "ndim", 1) > 1 else pred
        out = out.reset_index(drop=True)
        print(f"predicted {len(out)} rows into column {name!r}")
        ref = storage.save_dataframe(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "predictions", out)
        return {"predictions": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{rows (first 100), columns: [{name, dtype}], row_count}``."""
        df = storage.load_dataframe(outputs["predictions"])
        head = df.head(100)
        names = [str(c) for c in df.columns]
        return {
            "rows": [
                {n: json_safe(v) for n, v in zip(names, row, strict=True)}
                for row in head.itertuples(index=False, name=None)
            ],
            "columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()],
            "row_count": len(df),
        }
