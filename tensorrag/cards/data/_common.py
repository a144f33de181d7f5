"""Helpers shared by the data cards: column lists from config, column checks, saving a table."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from tensorrag.cards.ml.define import card_error

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["card_error", "check_columns", "column_list", "parse_columns", "save_frame"]


def parse_columns(value: Any) -> list[str]:
    """Column names from a config value: a list of names, or one comma-separated string (the guide's form)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(c).strip() for c in items if str(c).strip()]


def column_list(df: pd.DataFrame, limit: int = 50) -> str:
    """The table's column names for an error message (at most ``limit``)."""
    names = [str(c) for c in df.columns]
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def check_columns(
    card_type: str, config: dict[str, Any], df: pd.DataFrame, columns: list[str], field: str, port: str = "dataset"
) -> list[str]:
    """Return ``columns`` when every one is a column of ``df``; else raise naming the missing ones.

    Raises:
        CardConfigError: on ``field``, with a did-you-mean per missing column and the column list.
    """
    names = [str(c) for c in df.columns]
    absent = [c for c in columns if c not in names]
    if absent:
        parts = []
        for name in absent:
            close = difflib.get_close_matches(name, names, n=1)
            parts.append(repr(name) + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise card_error(
            card_type,
            config,
            field,
            f"{field}: column{'s' if len(absent) > 1 else ''} {', '.join(parts)} not found in {port}; "
            f"columns are: {column_list(df)}.",
        )
    return columns


def save_frame(storage: Any, config: dict[str, Any], key: str, df: pd.DataFrame) -> str:
    """Save ``df`` as output ``key`` of this node, with a fresh 0..n-1 index.

    The parquet codec drops the index but a memory:// store keeps the live object, so the reset
    makes both give the same table.
    """
    frame = df.reset_index(drop=True)
    return storage.save_dataframe(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), key, frame)
