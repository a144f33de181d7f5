"""Config-schema fields that many built-in cards share: the target and feature columns, gradient clipping."""

from __future__ import annotations

from typing import Any

__all__ = ["LEARN_FROM", "MODEL_TAKES", "column_fields", "gradient_clip_field"]

#: ``feature_columns`` of a card that fits a model.
LEARN_FROM = "Columns to learn from (default: every column except the target)."
#: ``feature_columns`` of a card that scores a fitted model.
MODEL_TAKES = "Columns the model takes (default: those it was trained on)."


def column_fields(
    features: str = LEARN_FROM, target: str = "The label column.", default: str = "target"
) -> dict[str, dict[str, Any]]:
    """``{"target_column": ..., "feature_columns": ...}`` schema properties (fresh dicts each call).

    Args:
        features: the description of ``feature_columns``.
        target: the description of ``target_column``.
        default: the default of ``target_column``.
    """
    return {
        "target_column": {"type": "string", "default": default, "description": target},
        "feature_columns": {"type": "array", "items": {"type": "string"}, "description": features},
    }


def gradient_clip_field() -> dict[str, Any]:
    """The ``gradient_clip`` schema property of the torch training cards."""
    return {"type": "number", "default": 0, "minimum": 0, "description": "Max gradient norm (0: off)."}
