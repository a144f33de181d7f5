"""``fill_missing``: replace missing values per column (mean / median / mode / constant)."""

from __future__ import annotations

from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data._common import card_error, check_columns, parse_columns, save_frame
from tensorrag.cards.data.fitted import apply_spec, sorted_categories
from tensorrag.cards.previews import json_safe, table_preview

__all__ = ["STRATEGIES", "FillMissingCard"]

STRATEGIES = ("mean", "median", "mode", "constant")


class FillMissingCard(BaseCard):
    """Fill missing values; the values used are an output, so test data can be filled the same way."""

    card_type = "fill_missing"
    display_name = "Fill Missing"
    description = "Fill missing values with the column mean, median, mode or a constant (per column if you like)."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "strategy": {
                "type": "string",
                "enum": list(STRATEGIES),
                "default": "mean",
                "description": "How to fill: mean / median (numeric columns; text columns left to their mode when "
                "columns is empty), mode (most frequent, the smallest on ties) or constant (fill_value).",
            },
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Columns to fill; empty: every column with missing values.",
            },
            "fill_value": {
                "type": "string",
                "default": "0",
                "description": "The constant for strategy 'constant' (converted to a number in numeric columns).",
            },
            "per_column": {
                "type": "object",
                "default": {},
                "description": 'Per-column strategies overriding strategy, e.g. {"age": "median", '
                '"city": {"strategy": "constant", "value": "unknown"}}.',
            },
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"dataset": "dataframe", "fill_values": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Compute the fill value of each column, fill, and save the table and ``fill_values``.

        Raises:
            CardConfigError: unknown column or strategy, mean/median on a text column, a constant that is
                not a number for a numeric column, or a column with no values to take a statistic from.
        """
        df = storage.load_dataframe(inputs["dataset"])
        default = str(config.get("strategy") or "mean")
        per_column = config.get("per_column") or {}
        if not isinstance(per_column, dict):
            raise card_error(self.card_type, config, "per_column", "per_column must be an object {column: strategy}.")
        listed = parse_columns(config.get("columns"))
        check_columns(self.card_type, config, df, listed, "columns")
        check_columns(self.card_type, config, df, [str(c) for c in per_column], "per_column")
        columns = listed or [str(c) for c in df.columns if df[c].isna().any()]
        columns += [str(c) for c in per_column if str(c) not in columns]
        values = {}
        for column in columns:
            rule = per_column.get(column, default)
            strategy, constant = (rule.get("strategy"), rule.get("value")) if isinstance(rule, dict) else (rule, None)
            values[column] = self._value(config, df, column, str(strategy), constant, implicit=not listed)
        spec = {"kind": "fill", "values": json_safe(values)}
        out = apply_spec(spec, df)
        filled = int(df[list(values)].isna().sum().sum()) if values else 0
        print(f"filled {filled} missing value(s) in {len(values)} column(s)")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "dataset": save_frame(storage, config, "dataset", out),
            "fill_values": storage.save_json(pid, nid, "fill_values", spec),
        }

    def _value(self, config: dict[str, Any], df: Any, column: str, strategy: str, constant: Any, implicit: bool) -> Any:
        import pandas as pd

        field = "per_column" if column in (config.get("per_column") or {}) else "strategy"
        if strategy not in STRATEGIES:
            raise card_error(
                self.card_type,
                config,
                field,
                f"unknown strategy {strategy!r} for {column!r}; use {', '.join(STRATEGIES)}.",
            )
        series = df[column]
        numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
        if strategy in ("mean", "median") and not numeric:
            if implicit and field == "strategy":
                strategy = "mode"  # a text column has no mean: the most frequent value is the usual stand-in
            else:
                raise card_error(
                    self.card_type,
                    config,
                    field,
                    f"{strategy} needs a numeric column but {column!r} holds {series.dtype}; use mode or constant.",
                )
        if strategy == "constant":
            value = config.get("fill_value", "0") if constant is None else constant
            if numeric:
                try:
                    return float(value)
                except (TypeError, ValueError):
                    raise card_error(
                        self.card_type,
                        config,
                        "fill_value",
                        f"column {column!r} is numeric but the constant {value!r} is not a number.",
                    ) from None
            return value
        present = series.dropna()
        if present.empty:
            raise card_error(
                self.card_type,
                config,
                field,
                f"column {column!r} has no values to take the {strategy} of; use a constant for it in per_column.",
            )
        if strategy == "mean":
            return float(present.mean())
        if strategy == "median":
            return float(present.median())
        counts = present.map(json_safe).value_counts()
        top = counts[counts == counts.max()].index
        return sorted_categories(pd.Series(list(top)))[0]

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The table preview plus ``fitted``: the fill value of each column."""
        preview = table_preview(storage.load_dataframe(outputs["dataset"]), max_rows=100)
        preview["fitted"] = json_safe(storage.load_json(outputs["fill_values"]))
        return preview
