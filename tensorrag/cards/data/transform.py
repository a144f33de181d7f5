"""Fitted column transforms: ``scale``, ``feature_scaler`` (the guide's), ``encode`` and ``apply_transform``.

``scale`` and ``encode`` output the fitted transform (a JSON spec, see
:mod:`tensorrag.cards.data.fitted`) beside the table; ``apply_transform`` applies it to other
data, so a test split is scaled with the training split's statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data._common import card_error, check_columns, parse_columns, save_frame
from tensorrag.cards.data.fitted import ENCODE_METHODS, SCALE_METHODS, apply_spec, fit_encoder, fit_scaler
from tensorrag.cards.previews import json_safe, table_preview

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ApplyTransformCard", "EncodeCard", "FeatureScalerCard", "ScaleCard", "pick_columns"]

_EXCLUDE = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["target"],
    "description": "Columns never touched when columns is empty (the label, by default); absent ones are ignored.",
}


def pick_columns(
    card_type: str, config: dict[str, Any], df: pd.DataFrame, numeric: bool, field: str = "columns"
) -> list[str]:
    """The columns a transform works on: ``config[field]`` if given (checked), else by dtype.

    With no columns given: every numeric (``numeric=True``, booleans left out) or every
    non-numeric column, minus ``exclude_columns``.

    Raises:
        CardConfigError: a listed column is missing, or a listed column has the wrong kind of values.
    """
    import pandas as pd

    def is_number(column: str) -> bool:
        dtype = df[column].dtype
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)

    given = parse_columns(config.get(field))
    if given:
        check_columns(card_type, config, df, given, field)
        wrong = [c for c in given if is_number(c) != numeric]
        if wrong and numeric:
            detail = ", ".join(f"{c!r} ({df[c].dtype})" for c in wrong)
            raise card_error(
                card_type, config, field, f"{field} must be numeric columns, but {detail} are not; encode them first."
            )
        return given
    excluded = set(parse_columns(config.get("exclude_columns")))
    return [str(c) for c in df.columns if str(c) not in excluded and is_number(str(c)) == numeric]


class _FittedCard(BaseCard):
    category = "data"
    execution_mode = "local"
    output_view_type = "table"

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The table preview, plus the fitted spec under ``fitted`` when there is one."""
        preview = table_preview(storage.load_dataframe(outputs[next(iter(self.output_schema))]), max_rows=100)
        for port, kind in self.output_schema.items():
            if kind == "json" and port in outputs:
                preview["fitted"] = json_safe(storage.load_json(outputs[port]))
        return preview


class ScaleCard(_FittedCard):
    """Scale numeric columns (standard / minmax / robust); the fitted scaler is an output."""

    card_type = "scale"
    display_name = "Scale"
    description = "Scale numeric columns (standard, minmax or robust); outputs the fitted scaler for test data."
    config_schema = {
        "type": "object",
        "properties": {
            "method": {
                "type": "string",
                "enum": list(SCALE_METHODS),
                "default": "standard",
                "description": "standard: (x - mean) / std; minmax: to [0, 1]; robust: (x - median) / IQR.",
            },
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Numeric columns to scale; empty: every numeric column but exclude_columns.",
            },
            "exclude_columns": _EXCLUDE,
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"dataset": "dataframe", "scaler": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Fit the scaler on ``dataset``, save the scaled table and the scaler.

        Raises:
            CardConfigError: a listed column is missing or not numeric, or there is nothing to scale.
        """
        df = storage.load_dataframe(inputs["dataset"])
        columns = pick_columns(self.card_type, config, df, numeric=True)
        if not columns:
            raise card_error(self.card_type, config, "columns", "no numeric columns to scale; list them in columns.")
        spec = fit_scaler(df, columns, str(config.get("method") or "standard"))
        out = apply_spec(spec, df)
        print(f"{spec['method']} scaling of {len(columns)} column(s)")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "dataset": save_frame(storage, config, "dataset", out),
            "scaler": storage.save_json(pid, nid, "scaler", spec),
        }


class FeatureScalerCard(_FittedCard):
    """The guide's standard scaler: comma-separated ``columns`` (empty: every numeric column)."""

    card_type = "feature_scaler"
    display_name = "Feature Scaler"
    description = "Standardize numeric features (zero mean, unit variance)."
    config_schema = {
        "type": "object",
        "properties": {
            "columns": {
                "type": "string",
                "title": "Columns to scale (comma-separated, empty = all numeric)",
                "default": "",
                "description": "Comma-separated column names; empty scales every numeric column (the label too).",
            },
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"scaled_dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Standardize the columns and save ``scaled_dataset`` (the fitted scaler is the extra ``scaler``)."""
        df = storage.load_dataframe(inputs["dataset"])
        columns = pick_columns(self.card_type, {**config, "exclude_columns": []}, df, numeric=True)
        if not columns:
            raise card_error(self.card_type, config, "columns", "no numeric columns to scale; list them in columns.")
        spec = fit_scaler(df, columns, "standard")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        storage.save_json(pid, nid, "scaler", spec)
        return {"scaled_dataset": save_frame(storage, config, "scaled_dataset", apply_spec(spec, df))}


class EncodeCard(_FittedCard):
    """Encode categorical columns (one-hot / ordinal / label); the fitted encoder is an output."""

    card_type = "encode"
    display_name = "Encode"
    description = "Turn categorical columns into numbers (one-hot, ordinal or label); outputs the fitted encoder."
    config_schema = {
        "type": "object",
        "properties": {
            "method": {
                "type": "string",
                "enum": list(ENCODE_METHODS),
                "default": "onehot",
                "description": "onehot: a 0/1 column per category; ordinal: category index (-1 unknown); "
                "label: category index, for a label column (unknown values are an error).",
            },
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Columns to encode; empty: every non-numeric column but exclude_columns.",
            },
            "exclude_columns": _EXCLUDE,
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"dataset": "dataframe", "encoder": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Fit the encoder on ``dataset``, save the encoded table and the encoder.

        Raises:
            CardConfigError: a listed column is missing, or there is nothing to encode.
        """
        df = storage.load_dataframe(inputs["dataset"])
        method = str(config.get("method") or "onehot")
        columns = pick_columns(self.card_type, config, df, numeric=False)
        if not columns:
            raise card_error(
                self.card_type,
                config,
                "columns",
                "no columns to encode: every column is numeric (or excluded). List the columns in columns"
                + (
                    " (label encoding is meant for the label column: columns ['target'])." if method == "label" else "."
                ),
            )
        spec = fit_encoder(df, columns, method)
        out = apply_spec(spec, df)
        print(f"{method} encoding of {len(columns)} column(s): {out.shape[1]} columns now")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "dataset": save_frame(storage, config, "dataset", out),
            "encoder": storage.save_json(pid, nid, "encoder", spec),
        }


class ApplyTransformCard(_FittedCard):
    """Apply a fitted scaler, encoder or fill spec to another table (for example the test split)."""

    card_type = "apply_transform"
    display_name = "Apply Transform"
    description = "Transform a table with a scaler/encoder/fill_values fitted by scale, encode or fill_missing."
    config_schema = {"type": "object", "properties": {}}
    input_schema = {"dataset": "dataframe", "transform": "json"}
    output_schema = {"dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Apply ``transform`` to ``dataset`` and save the result.

        Raises:
            CardConfigError: the spec is not a fitted transform, or the table lacks one of its columns.
        """
        df = storage.load_dataframe(inputs["dataset"])
        spec = storage.load_json(inputs["transform"])
        try:
            out = apply_spec(spec, df)
        except KeyError as exc:
            message = f"{exc.args[0]}; columns are {list(df.columns)}."
            raise card_error(self.card_type, config, "dataset", message) from exc
        except ValueError as exc:
            raise card_error(self.card_type, config, "transform", str(exc)) from exc
        return {"dataset": save_frame(storage, config, "dataset", out)}
