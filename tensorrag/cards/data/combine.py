"""Combine two tables: ``join`` (on key columns) and ``concat`` (stack rows or columns)."""

from __future__ import annotations

from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data._common import card_error, check_columns, parse_columns, save_frame
from tensorrag.cards.previews import table_preview

__all__ = ["ConcatCard", "JoinCard"]


class _TwoTables(BaseCard):
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    output_schema = {"dataset": "dataframe"}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{rows (first 100), columns: [{name, dtype}], shape: {rows, cols}, null_counts}``."""
        return table_preview(storage.load_dataframe(outputs["dataset"]), max_rows=100)


class JoinCard(_TwoTables):
    """Join two tables on key columns (pandas ``merge``)."""

    card_type = "join"
    display_name = "Join"
    description = "Join two tables on key columns (inner, left, right or outer)."
    config_schema = {
        "type": "object",
        "properties": {
            "on": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Key columns present in both tables.",
            },
            "left_on": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Key columns of left, when the names differ (pair with right_on).",
            },
            "right_on": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Key columns of right, in the order of left_on.",
            },
            "how": {
                "type": "string",
                "enum": ["inner", "left", "right", "outer"],
                "default": "inner",
                "description": "Which rows to keep: matching in both, all of left, all of right, or all.",
            },
            "suffixes": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["_left", "_right"],
                "minItems": 2,
                "maxItems": 2,
                "description": "Added to non-key columns that both tables have.",
            },
        },
    }
    input_schema = {"left": "dataframe", "right": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Merge ``left`` and ``right`` and save ``dataset``.

        Raises:
            CardConfigError: no keys, keys missing from a table, or left_on/right_on of different lengths.
        """
        left = storage.load_dataframe(inputs["left"])
        right = storage.load_dataframe(inputs["right"])
        on = parse_columns(config.get("on"))
        left_on, right_on = parse_columns(config.get("left_on")), parse_columns(config.get("right_on"))
        if on and (left_on or right_on):
            raise card_error(self.card_type, config, "on", "set either on or left_on/right_on, not both.")
        if not on and not left_on:
            raise card_error(
                self.card_type, config, "on", "no key columns: set on (shared names) or left_on and right_on."
            )
        if not on and len(left_on) != len(right_on):
            raise card_error(
                self.card_type,
                config,
                "right_on",
                f"left_on has {len(left_on)} column(s) but right_on has {len(right_on)}; pair them one to one.",
            )
        check_columns(self.card_type, config, left, on or left_on, "on" if on else "left_on", "left")
        check_columns(self.card_type, config, right, on or right_on, "on" if on else "right_on", "right")
        suffixes = tuple(config.get("suffixes") or ("_left", "_right"))
        kwargs: dict[str, Any] = {"on": on} if on else {"left_on": left_on, "right_on": right_on}
        try:
            out = left.merge(right, how=str(config.get("how") or "inner"), suffixes=suffixes, **kwargs)
        except (ValueError, TypeError) as exc:  # e.g. keys of incompatible types
            raise card_error(self.card_type, config, "on", f"cannot join on these keys: {exc}") from exc
        print(f"joined {len(left)} x {len(right)} rows -> {len(out)} rows")
        return {"dataset": save_frame(storage, config, "dataset", out)}


class ConcatCard(_TwoTables):
    """Stack two tables: rows of ``second`` after ``first``, or side by side."""

    card_type = "concat"
    display_name = "Concat"
    description = "Stack two tables: the rows of second after first, or their columns side by side."
    config_schema = {
        "type": "object",
        "properties": {
            "axis": {
                "type": "string",
                "enum": ["rows", "columns"],
                "default": "rows",
                "description": "rows: append second's rows; columns: put second's columns next to first's.",
            },
            "join": {
                "type": "string",
                "enum": ["same", "outer", "inner"],
                "default": "same",
                "description": "For rows: same (both must have the same columns), outer (union, missing "
                "values filled with null) or inner (shared columns only).",
            },
        },
    }
    input_schema = {"first": "dataframe", "second": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Concatenate ``first`` and ``second`` and save ``dataset``.

        Raises:
            CardConfigError: rows with different columns under join 'same'; columns of different
                lengths, or with a name in both.
        """
        import pandas as pd

        first = storage.load_dataframe(inputs["first"]).reset_index(drop=True)
        second = storage.load_dataframe(inputs["second"]).reset_index(drop=True)
        axis = str(config.get("axis") or "rows")
        join = str(config.get("join") or "same")
        if axis == "columns":
            if len(first) != len(second):
                raise card_error(
                    self.card_type,
                    config,
                    "axis",
                    f"side by side needs the same number of rows; first has {len(first)}, second {len(second)}.",
                )
            shared = [str(c) for c in first.columns if c in second.columns]
            if shared:
                raise card_error(
                    self.card_type,
                    config,
                    "axis",
                    f"both tables have column(s) {', '.join(map(repr, shared))}; drop or rename them first, "
                    "or use the join card.",
                )
            out = pd.concat([first, second], axis=1)
        else:
            if join == "same" and list(map(str, first.columns)) != list(map(str, second.columns)):
                only_first = [str(c) for c in first.columns if c not in second.columns]
                only_second = [str(c) for c in second.columns if c not in first.columns]
                detail = f"only in first: {only_first}; only in second: {only_second}"
                if not only_first and not only_second:
                    detail = "same columns in a different order"
                    second = second[list(first.columns)]
                else:
                    raise card_error(
                        self.card_type,
                        config,
                        "join",
                        f"the tables have different columns ({detail}). Set join to 'outer' (keep all) or "
                        "'inner' (keep shared).",
                    )
            out = pd.concat([first, second], axis=0, join="inner" if join == "inner" else "outer", ignore_index=True)
        print(f"concatenated {len(first)} + {len(second)} rows -> {out.shape[0]} x {out.shape[1]}")
        return {"dataset": save_frame(storage, config, "dataset", out)}
