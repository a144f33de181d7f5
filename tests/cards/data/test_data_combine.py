"""join, concat and train_val_test_split (the same rows as pandas / scikit-learn give)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tensorrag.cards.data.combine import ConcatCard, JoinCard
from tensorrag.cards.data.split3 import TrainValTestSplitCard, three_way_sizes
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner

LEFT = pd.DataFrame({"id": [1, 2, 3, 4], "x": [10, 20, 30, 40]})
RIGHT = pd.DataFrame({"key": [2, 3, 5], "id": [2, 3, 5], "x": [0.2, 0.3, 0.5]})


def _two(runner: Runner, cls: type, raw: dict, a: pd.DataFrame, b: pd.DataFrame, ports=("left", "right")):
    runner.put("a", "t", a, "dataframe")
    runner.put("b", "t", b, "dataframe")
    runner.run(cls, "node", raw, **{ports[0]: ("a", "t"), ports[1]: ("b", "t")})
    return runner.load("node", "dataset")


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_join_is_pandas_merge(runner: Runner, how: str) -> None:
    out = _two(runner, JoinCard, {"on": ["id"], "how": how}, LEFT, RIGHT)
    expected = LEFT.merge(RIGHT, on=["id"], how=how, suffixes=("_left", "_right"))
    pd.testing.assert_frame_equal(out, expected.reset_index(drop=True))


def test_join_on_differently_named_keys(runner: Runner) -> None:
    out = _two(runner, JoinCard, {"left_on": ["id"], "right_on": ["key"]}, LEFT, RIGHT)
    assert out["id_left"].tolist() == [2, 3] and list(out.columns) == [
        "id_left",
        "x_left",
        "key",
        "id_right",
        "x_right",
    ]


def test_join_key_errors(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match="no key columns"):
        _two(runner, JoinCard, {}, LEFT, RIGHT)
    with pytest.raises(CardConfigError, match=r"on: column 'key'.* not found in left"):
        _two(runner, JoinCard, {"on": ["key"]}, LEFT, RIGHT)
    with pytest.raises(CardConfigError, match="left_on has 1 column"):
        _two(runner, JoinCard, {"left_on": ["id"], "right_on": ["key", "id"]}, LEFT, RIGHT)


def test_concat_rows_and_columns(runner: Runner) -> None:
    ports = ("first", "second")
    out = _two(runner, ConcatCard, {}, LEFT, LEFT[["x", "id"]], ports)  # same columns, other order: aligned
    pd.testing.assert_frame_equal(out, pd.concat([LEFT, LEFT], ignore_index=True))
    with pytest.raises(CardConfigError, match=r"only in first: \['id'\]; only in second: \['key'\]"):
        _two(runner, ConcatCard, {}, LEFT, RIGHT[["key", "x"]], ports)
    out = _two(runner, ConcatCard, {"join": "outer"}, LEFT, RIGHT[["key", "x"]], ports)
    assert out.shape == (7, 3) and out["key"].isna().sum() == 4
    out = _two(runner, ConcatCard, {"join": "inner"}, LEFT, RIGHT[["key", "x"]], ports)
    assert list(out.columns) == ["x"]
    out = _two(runner, ConcatCard, {"axis": "columns"}, LEFT, pd.DataFrame({"y": [1, 2, 3, 4]}), ports)
    assert list(out.columns) == ["id", "x", "y"]
    with pytest.raises(CardConfigError, match="same number of rows"):
        _two(runner, ConcatCard, {"axis": "columns"}, LEFT, pd.DataFrame({"y": [1]}), ports)


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame


@pytest.mark.parametrize("stratify", ["", "target"])
def test_train_val_test_split_picks_the_rows_sklearn_picks(runner: Runner, stratify: str) -> None:
    from sklearn.model_selection import train_test_split

    df = _iris()
    runner.put("src", "dataset", df, "dataframe")
    _, preview, _ = runner.run(
        TrainValTestSplitCard, "tvt", {"stratify_column": stratify, "random_seed": 7}, dataset=("src", "dataset")
    )
    rest, test = train_test_split(df, test_size=23, random_state=7, stratify=df["target"] if stratify else None)
    train, val = train_test_split(rest, test_size=23, random_state=7, stratify=rest["target"] if stratify else None)
    for part, expected in (("train", train), ("val", val), ("test", test)):
        pd.testing.assert_frame_equal(runner.load("tvt", f"{part}_dataset"), expected.reset_index(drop=True))
        assert preview[part]["row_count"] == len(expected)
    if stratify:
        assert runner.load("tvt", "test_dataset")["target"].value_counts().tolist() in ([8, 8, 7], [8, 7, 8], [7, 8, 8])


def test_train_val_test_split_ratio_errors(runner: Runner) -> None:
    runner.put("src", "dataset", _iris(), "dataframe")
    with pytest.raises(CardConfigError, match=r"must be 1 but 0.7 \+ 0.2 \+ 0.2 = 1.1"):
        runner.run(TrainValTestSplitCard, "tvt", {"val_ratio": 0.2, "test_ratio": 0.2}, dataset=("src", "dataset"))
    with pytest.raises(ValueError, match="every part needs at least one row"):
        three_way_sizes(3, 0.4, 0.4)
    assert three_way_sizes(100, 0.15, 0.15) == (70, 15, 15)
