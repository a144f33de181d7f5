"""``data_split``: split a table into train and test parts (optionally stratified)."""

from __future__ import annotations

import difflib
import math
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.previews import split_preview
from tensorrag.errors import CardConfigError

__all__ = ["DataSplitCard", "resolve_ratios", "split_sizes"]

_DEFAULT_TRAIN = 0.8
_DEFAULT_TEST = 0.2
_TOLERANCE = 1e-6


def resolve_ratios(train_ratio: float | None, test_ratio: float | None) -> tuple[float, float]:
    """Decide the (train, test) fractions from the two config fields.

    The UI and config validation fill both fields with their defaults (0.8 / 0.2), so a field
    still at its default counts as "not given":

    * both at their defaults -> 0.8 / 0.2;
    * only one changed (or only one given) -> that one, and the other is ``1 - it``;
    * both changed -> they must sum to 1.

    Args:
        train_ratio: fraction of rows for training, ``None`` when absent.
        test_ratio: fraction of rows for testing, ``None`` when absent.

    Returns:
        ``(train, test)`` summing to 1.

    Raises:
        ValueError: a ratio is outside (0, 1), or both were given and do not sum to 1.
    """
    for name, value in (("train_ratio", train_ratio), ("test_ratio", test_ratio)):
        if value is not None and not (0 < float(value) < 1):
            raise ValueError(f"{name} must be between 0 and 1 (exclusive); got {value}.")
    train_given = train_ratio is not None and not math.isclose(train_ratio, _DEFAULT_TRAIN, abs_tol=_TOLERANCE)
    test_given = test_ratio is not None and not math.isclose(test_ratio, _DEFAULT_TEST, abs_tol=_TOLERANCE)
    if train_given and test_given:
        assert train_ratio is not None and test_ratio is not None
        if not math.isclose(train_ratio + test_ratio, 1.0, abs_tol=_TOLERANCE):
            raise ValueError(
                f"train_ratio ({train_ratio}) and test_ratio ({test_ratio}) must sum to 1 but sum to "
                f"{train_ratio + test_ratio:g}. Set only one of them (the other follows) or make them add up to 1."
            )
        return float(train_ratio), float(test_ratio)
    if train_given:
        assert train_ratio is not None
        return float(train_ratio), 1.0 - float(train_ratio)
    if test_given:
        assert test_ratio is not None
        return 1.0 - float(test_ratio), float(test_ratio)
    return _DEFAULT_TRAIN, _DEFAULT_TEST


def split_sizes(n: int, train_ratio: float | None, test_ratio: float | None) -> tuple[int, int]:
    """``(train rows, test rows)`` of ``n`` rows, counted as ``train_test_split`` counts them.

    scikit-learn rounds the test part up (``ceil(test_size * n)``) and the train part down
    (``floor(train_size * n)``); the ratio that was given (see :func:`resolve_ratios`) is the one
    rounded, so ``test_ratio=0.2`` here matches ``test_size=0.2`` there and ``train_ratio=0.7``
    matches ``train_size=0.7``. Each part keeps at least one row.

    Raises:
        ValueError: as :func:`resolve_ratios`.
    """
    train, test = resolve_ratios(train_ratio, test_ratio)
    only_train = _changed(train_ratio, _DEFAULT_TRAIN) and not _changed(test_ratio, _DEFAULT_TEST)
    # No tolerance on purpose: the same float product as scikit-learn gives the same count.
    n_train = math.floor(train * n) if only_train else n - math.ceil(test * n)
    n_train = min(max(n_train, 1), n - 1)
    return n_train, n - n_train


def _changed(value: float | None, default: float) -> bool:
    return value is not None and not math.isclose(value, default, abs_tol=_TOLERANCE)


class DataSplitCard(BaseCard):
    """Split a dataset into train and test datasets with scikit-learn's ``train_test_split``."""

    card_type = "data_split"
    display_name = "Data Split"
    description = "Split a table into train and test tables (seeded, optionally shuffled and stratified)."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "train_ratio": {
                "type": "number",
                "default": _DEFAULT_TRAIN,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of rows for training. Change one ratio and the other follows.",
            },
            "test_ratio": {
                "type": "number",
                "default": _DEFAULT_TEST,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of rows for testing. If both ratios are changed they must sum to 1.",
            },
            "random_seed": {"type": "integer", "default": 42, "description": "Seed of the shuffle."},
            "stratify_column": {
                "type": "string",
                "description": "Keep this column's class proportions equal in both parts (e.g. the label).",
            },
            "shuffle": {
                "type": "boolean",
                "default": True,
                "description": "Shuffle before splitting (off: the first rows train, the last rows test).",
            },
        },
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"train_dataset": "dataframe", "test_dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Split ``dataset`` into ``train_dataset`` and ``test_dataset``.

        Row counts follow ``sklearn.model_selection.train_test_split`` given the same fraction: with
        ``test_ratio`` (or the defaults) the test part has ``ceil(test * n)`` rows; with only
        ``train_ratio`` changed the train part has ``floor(train * n)`` rows. Either way at least one
        row lands on each side, and the same ``random_seed`` picks the same rows as scikit-learn.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: ``{"dataset": ref}``.
            storage: the card storage handle.

        Returns:
            ``{"train_dataset": ref, "test_dataset": ref}``.
        """
        from sklearn.model_selection import train_test_split

        df = storage.load_dataframe(inputs["dataset"])
        try:
            train_raw, test_raw = _number(config.get("train_ratio")), _number(config.get("test_ratio"))
            resolve_ratios(train_raw, test_raw)
        except ValueError as exc:
            raise _error(config, "train_ratio", str(exc)) from exc
        n = len(df)
        if n < 2:
            raise _error(config, "dataset", f"dataset has {n} row(s); at least 2 are needed to split it.")
        n_test = n - split_sizes(n, train_raw, test_raw)[0]
        shuffle = bool(config.get("shuffle", True))
        seed = config.get("random_seed", 42)
        stratify = None
        column = config.get("stratify_column")
        if isinstance(column, str) and column.strip():
            column = column.strip()
            if column not in df.columns:
                names = [str(c) for c in df.columns]
                close = difflib.get_close_matches(column, names, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise _error(
                    config,
                    "stratify_column",
                    f"stratify_column {column!r} is not a column of the dataset.{hint} Columns: {', '.join(names)}.",
                )
            if not shuffle:
                raise _error(
                    config,
                    "stratify_column",
                    "a stratified split needs shuffle on; turn shuffle on or clear stratify_column.",
                )
            stratify = df[column]
            if stratify.isna().any():
                raise _error(
                    config,
                    "stratify_column",
                    f"stratify_column {column!r} has {int(stratify.isna().sum())} missing value(s); "
                    "drop or fill them before splitting.",
                )
        try:
            train, test = train_test_split(
                df,
                test_size=n_test,
                train_size=n - n_test,
                random_state=seed if shuffle else None,
                shuffle=shuffle,
                stratify=stratify,
            )
        except ValueError as exc:
            field = "stratify_column" if stratify is not None else "test_ratio"
            raise _error(
                config, field, f"cannot split {n} rows into {n - n_test} train / {n_test} test: {exc}"
            ) from exc
        print(f"split {n} rows: {len(train)} train, {len(test)} test" + (f" (seed {seed})" if shuffle else ""))
        train = train.reset_index(drop=True)
        test = test.reset_index(drop=True)
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        return {
            "train_dataset": storage.save_dataframe(pid, nid, "train_dataset", train),
            "test_dataset": storage.save_dataframe(pid, nid, "test_dataset", test),
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{train: {rows (first 20), row_count}, test: {...}, split_ratio: {train, test}}``."""
        train = storage.load_dataframe(outputs["train_dataset"])
        test = storage.load_dataframe(outputs["test_dataset"])
        return split_preview(train, test, rows=20)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _error(config: dict[str, Any], field: str, message: str) -> CardConfigError:
    node = config.get("_node_id")
    return CardConfigError(
        f"data_split: {message}",
        node_id=node,
        card_type="data_split",
        problems=[{"node_id": node, "field": field, "message": message}],
    )
