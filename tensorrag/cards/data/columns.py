"""Column and row cards: ``select_columns``, ``filter_columns``, ``filter_rows``, ``text_preprocessor``.

``filter_columns`` and ``text_preprocessor`` are the original guide's cards, same ports and config.
"""

from __future__ import annotations

import re
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data._common import card_error, check_columns, parse_columns, save_frame
from tensorrag.cards.previews import table_preview

__all__ = ["FilterColumnsCard", "FilterRowsCard", "SelectColumnsCard", "TextPreprocessorCard"]


class _TableCard(BaseCard):
    """A ``dataset -> dataset`` data card with a table preview."""

    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    input_schema = {"dataset": "dataframe"}
    output_schema = {"dataset": "dataframe"}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{rows (first 100), columns: [{name, dtype}], shape: {rows, cols}, null_counts}``."""
        return table_preview(storage.load_dataframe(outputs["dataset"]), max_rows=100)


class SelectColumnsCard(_TableCard):
    """Keep (or drop) the listed columns, in the order given."""

    card_type = "select_columns"
    display_name = "Select Columns"
    description = "Keep the listed columns in the order given, or drop them."
    config_schema = {
        "type": "object",
        "properties": {
            "columns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Column names (each must exist).",
            },
            "drop": {
                "type": "boolean",
                "default": False,
                "description": "Drop the listed columns instead of keeping them.",
            },
        },
    }

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Select the columns and save ``dataset``.

        Raises:
            CardConfigError: no columns listed, or a listed column is missing (did-you-mean).
        """
        df = storage.load_dataframe(inputs["dataset"])
        columns = parse_columns(config.get("columns"))
        if not columns:
            raise card_error(self.card_type, config, "columns", "columns is empty; list the columns to keep (or drop).")
        check_columns(self.card_type, config, df, columns, "columns")
        out = df.drop(columns=columns) if config.get("drop") else df[columns]
        print(f"{'dropped' if config.get('drop') else 'kept'} {len(columns)} column(s); {out.shape[1]} left")
        return {"dataset": save_frame(storage, config, "dataset", out)}


class FilterColumnsCard(_TableCard):
    """The guide's column filter: a comma-separated ``keep_columns`` (empty keeps every column)."""

    card_type = "filter_columns"
    display_name = "Filter Columns"
    description = "Keep only the listed columns (comma-separated; empty keeps all)."
    config_schema = {
        "type": "object",
        "properties": {
            "keep_columns": {
                "type": "string",
                "title": "Columns to keep (comma-separated)",
                "default": "",
                "description": "Comma-separated column names; empty keeps every column.",
            },
        },
    }

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Keep ``keep_columns`` and save ``dataset``.

        Raises:
            CardConfigError: a listed column is missing.
        """
        df = storage.load_dataframe(inputs["dataset"])
        columns = parse_columns(config.get("keep_columns"))
        if columns:
            df = df[check_columns(self.card_type, config, df, columns, "keep_columns")]
        return {"dataset": save_frame(storage, config, "dataset", df)}


class FilterRowsCard(_TableCard):
    """Keep the rows where a pandas ``query`` condition holds (checked before it runs)."""

    card_type = "filter_rows"
    display_name = "Filter Rows"
    description = "Keep the rows matching a condition such as \"age > 30 and city == 'Paris'\" (pandas query)."
    config_schema = {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "default": "",
                "description": "A pandas query over column names: comparisons, in / not in, and / or / not, "
                "arithmetic; `backticks` for names with spaces. No calls or @variables.",
            },
        },
        "required": ["query"],
    }

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Filter the rows and save ``dataset``.

        Raises:
            CardConfigError: the query is invalid, names a missing column, or does not give True/False per row.
        """
        from tensorrag.cards.data.query import QueryError, check_query

        df = storage.load_dataframe(inputs["dataset"])
        query = str(config.get("query") or "")
        try:
            check_query(query, [str(c) for c in df.columns])
            out = df.query(query.strip(), engine="python")
        except QueryError as exc:
            raise card_error(self.card_type, config, "query", str(exc)) from exc
        except Exception as exc:  # pandas evaluation errors: type mismatches, non-boolean results
            raise card_error(
                self.card_type,
                config,
                "query",
                f"query {query!r} failed on the data: {type(exc).__name__}: {exc}. Check the column types "
                "(quote strings: city == 'Paris') and that the condition gives True/False per row.",
            ) from exc
        print(f"kept {len(out)} of {len(df)} rows")
        return {"dataset": save_frame(storage, config, "dataset", out)}


class TextPreprocessorCard(_TableCard):
    """The guide's text cleaner: lower-case and strip a text column (optionally drop punctuation)."""

    card_type = "text_preprocessor"
    display_name = "Text Preprocessor"
    description = "Clean a text column: lower-case, trim, optionally remove punctuation and extra spaces."
    config_schema = {
        "type": "object",
        "properties": {
            "text_column": {
                "type": "string",
                "title": "Text column name",
                "default": "text",
                "description": "The column of text to clean.",
            },
            "lowercase": {"type": "boolean", "default": True, "description": "Convert to lower case."},
            "remove_punctuation": {
                "type": "boolean",
                "default": False,
                "description": "Remove punctuation characters (anything not a letter, digit, _ or space).",
            },
            "collapse_whitespace": {
                "type": "boolean",
                "default": False,
                "description": "Replace runs of spaces, tabs and newlines with one space.",
            },
        },
    }

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Clean ``text_column`` (missing values stay missing) and save ``dataset``.

        Raises:
            CardConfigError: the column is missing or does not hold text.
        """
        import pandas as pd

        df = storage.load_dataframe(inputs["dataset"]).copy()
        column = str(config.get("text_column") or "text")
        check_columns(self.card_type, config, df, [column], "text_column")
        values = df[column]
        if not (pd.api.types.is_string_dtype(values.dtype) or pd.api.types.is_object_dtype(values.dtype)):
            raise card_error(
                self.card_type,
                config,
                "text_column",
                f"text_column {column!r} holds {values.dtype} values, not text; pick a text column.",
            )
        text = values.astype("string")
        if config.get("lowercase", True):
            text = text.str.lower()
        if config.get("remove_punctuation"):
            text = text.str.replace(r"[^\w\s]", "", regex=True)
        if config.get("collapse_whitespace"):
            text = text.str.replace(re.compile(r"\s+"), " ", regex=True)
        df[column] = text.str.strip().astype(object).where(text.notna(), None)
        return {"dataset": save_frame(storage, config, "dataset", df)}
