"""``train_val_test_split``: split a table into train, validation and test parts (seeded, optionally stratified)."""

from __future__ import annotations

import math
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data._common import card_error, check_columns, save_frame
from tensorrag.cards.previews import table_preview

__all__ = ["TrainValTestSplitCard", "three_way_sizes"]

_PARTS = ("train", "val", "test")


def three_way_sizes(n: int, val_ratio: float, test_ratio: float) -> tuple[int, int, int]:
    """``(train, val, test)`` row counts of ``n`` rows: test and validation rounded up, as ``train_test_split`` does.

    Raises:
        ValueError: a part would be empty.
    """
    n_test = math.ceil(test_ratio * n)
    n_val = math.ceil(val_ratio * n)
    n_train = n - n_test - n_val
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(
            f"{n} rows cannot be split into {n_train} train / {n_val} val / {n_test} test rows; every part "
            "needs at least one row. Use more data or other ratios."
        )
    return n_train, n_val, n_test


class TrainValTestSplitCard(BaseCard):
    """Split into train / validation / test with two seeded ``train_test_split`` calls (test first)."""

    card_type = "train_val_test_split"
    display_name = "Train/Val/Test Split"
    description = "Split a table into train, validation and test tables (seeded, optionally stratified)."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "train_ratio": {
                "type": "number",
                "default": 0.7,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of rows for training; the three ratios must sum to 1.",
            },
            "val_ratio": {
                "type": "number",
                "default": 0.15,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of rows for validation (rounded up).",
            },
            "test_ratio": {
                "type": "number",
                "default": 0.15,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of rows for testing (rounded up).",
            },
            "random_seed": {"type": "integer", "default": 42, "description": "Seed of both shuffles."},
            "stratify_column": {
                "type": "string",
                "default": "",
                "description": "Keep this column's class proportions equal in the three parts (e.g. the label).",
            },
            "shuffle": {
                "type": "boolean",
                "default": True,
                "description": "Shuffle before splitting (off: first rows train, then val, then test).",
            },
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"train_dataset": "dataframe", "val_dataset": "dataframe", "test_dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Split ``dataset``: the test part first, then the validation part from the rest (same seed).

        Raises:
            CardConfigError: ratios that do not sum to 1, a part that would be empty, an unknown or
                incomplete stratify column, or classes too small to stratify.
        """
        from sklearn.model_selection import train_test_split

        df = storage.load_dataframe(inputs["dataset"])
        ratios = [float(config.get(f"{p}_ratio") or 0) for p in _PARTS]
        if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
            raise card_error(
                self.card_type,
                config,
                "train_ratio",
                f"train_ratio + val_ratio + test_ratio must be 1 but {' + '.join(f'{r:g}' for r in ratios)} = "
                f"{sum(ratios):g}; adjust them.",
            )
        try:
            _, n_val, n_test = three_way_sizes(len(df), ratios[1], ratios[2])
        except ValueError as exc:
            raise card_error(self.card_type, config, "dataset", str(exc)) from exc
        shuffle = bool(config.get("shuffle", True))
        seed = config.get("random_seed", 42) if shuffle else None
        column = str(config.get("stratify_column") or "").strip()
        if column:
            check_columns(self.card_type, config, df, [column], "stratify_column")
            if not shuffle:
                raise card_error(self.card_type, config, "stratify_column", "a stratified split needs shuffle on.")
            if df[column].isna().any():
                raise card_error(
                    self.card_type, config, "stratify_column", f"stratify_column {column!r} has missing values."
                )
        try:
            rest, test = train_test_split(
                df, test_size=n_test, random_state=seed, shuffle=shuffle, stratify=df[column] if column else None
            )
            train, val = train_test_split(
                rest, test_size=n_val, random_state=seed, shuffle=shuffle, stratify=rest[column] if column else None
            )
        except ValueError as exc:
            raise card_error(self.card_type, config, "stratify_column" if column else "dataset", str(exc)) from exc
        print(f"split {len(df)} rows: {len(train)} train, {len(val)} val, {len(test)} test")
        return {
            f"{part}_dataset": save_frame(storage, config, f"{part}_dataset", frame.reset_index(drop=True))
            for part, frame in zip(_PARTS, (train, val, test), strict=True)
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{train: {rows (first 20), row_count}, val: {...}, test: {...}}``."""
        preview: dict[str, Any] = {}
        for part in _PARTS:
            table = table_preview(storage.load_dataframe(outputs[f"{part}_dataset"]), max_rows=20)
            preview[part] = {"rows": table["rows"], "row_count": table["shape"]["rows"]}
        return preview
