"""Inputs of the guide's cards, which pass data as JSON (``{"X": [[...]], "y": [...]}``) or as a table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tensorrag.cards.ml.define import card_error

__all__ = ["as_frame", "as_values"]


def as_frame(card_type: str, config: dict[str, Any], value: Any, port: str, target: str) -> pd.DataFrame:
    """A training/test table from a port: a DataFrame as is, or the guide's JSON ``{X, y, feature_names?}``.

    JSON features are named by ``feature_names`` (else ``x0``, ``x1``, ...); ``y`` becomes column ``target``.

    Raises:
        CardConfigError: neither a table nor ``{X, y}``, or X and y of different lengths.
    """
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict) and "X" in value and "y" in value:
        x = np.asarray(value["X"], dtype=float)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        names = [str(n) for n in value.get("feature_names") or [f"x{i}" for i in range(x.shape[1])]]
        if len(names) != x.shape[1] or len(value["y"]) != x.shape[0]:
            raise card_error(
                card_type,
                config,
                port,
                f"{port}: X is {x.shape[0]} x {x.shape[1]} but there are {len(value['y'])} y values and "
                f"{len(names)} feature_names; they must match.",
            )
        df = pd.DataFrame(x, columns=names)
        df[target] = list(value["y"])
        return df
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        return pd.DataFrame(value)
    raise card_error(
        card_type,
        config,
        port,
        f"{port} must be a table or JSON {{'X': [[...]], 'y': [...]}}; got {type(value).__name__}. Connect a "
        "data_split output (train_dataset / test_dataset).",
    )


def as_values(card_type: str, config: dict[str, Any], value: Any, port: str, column: str) -> list[Any]:
    """A column of values from a port: the guide's ``{"values": [...]}``, a list, or a table column.

    For a table, ``column`` is used (or the only column of a one-column table).

    Raises:
        CardConfigError: the value holds no such column or list.
    """
    if isinstance(value, dict) and isinstance(value.get("values"), list):
        return list(value["values"])
    if isinstance(value, list):
        return value
    if isinstance(value, pd.DataFrame):
        if column in value.columns:
            return value[column].tolist()
        if value.shape[1] == 1:
            return value.iloc[:, 0].tolist()
        raise card_error(
            card_type,
            config,
            port,
            f"{port} has no column {column!r}; columns are {[str(c) for c in value.columns]}. Set the column "
            "name in the config.",
        )
    raise card_error(
        card_type,
        config,
        port,
        f"{port} must be JSON {{'values': [...]}}, a list or a table; got {type(value).__name__}.",
    )
