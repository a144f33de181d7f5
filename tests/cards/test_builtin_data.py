"""The built-in data cards: data_load and data_split, run like the engine runs them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import fsspec
import pandas as pd
import pytest

from tensorrag.cards.data.load import BOSTON_FEATURES, BOSTON_ROWS, DataLoadCard
from tensorrag.cards.data.split import DataSplitCard, resolve_ratios, split_sizes
from tensorrag.cards.schema import validate_config
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner

# --- data_load ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "label"),
    [
        ("diabetes", (442, 11), "target"),
        ("iris", (150, 5), "target"),
        ("wine", (178, 14), "target"),
        ("breast_cancer", (569, 31), "target"),
        ("boston_housing", (BOSTON_ROWS, 14), "MEDV"),
    ],
)
def test_data_load_samples(runner: Runner, name: str, shape: tuple[int, int], label: str) -> None:
    _, preview, _ = runner.run(DataLoadCard, "load", {"source": "sample", "sample_name": name})
    df = runner.load("load", "dataset")
    assert df.shape == shape
    assert df.columns[-1] == label
    assert preview["shape"] == {"rows": shape[0], "cols": shape[1]}
    assert len(preview["rows"]) == min(100, shape[0])
    assert [c["name"] for c in preview["columns"]] == [str(c) for c in df.columns]
    assert preview["null_counts"] == {str(c): 0 for c in df.columns}


def test_data_load_defaults_to_diabetes_and_keeps_sklearn_names(runner: Runner) -> None:
    runner.run(DataLoadCard, "load", {})
    df = runner.load("load", "dataset")
    assert list(df.columns) == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"]


def test_boston_housing_is_the_seeded_synthetic_set(runner: Runner) -> None:
    runner.run(DataLoadCard, "a", {"sample_name": "boston_housing"})
    runner.run(DataLoadCard, "b", {"sample_name": "boston_housing"})
    a, b = runner.load("a", "dataset"), runner.load("b", "dataset")
    assert list(a.columns) == [*BOSTON_FEATURES, "MEDV"]
    pd.testing.assert_frame_equal(a, b)


def test_data_load_csv_from_a_local_file(runner: Runner, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,age,score\nann,31,1.5\nbob,,2.5\ncid,40,\n")
    _, preview, _ = runner.run(DataLoadCard, "load", {"source": "csv", "path": str(path)})
    df = runner.load("load", "dataset")
    assert df.shape == (3, 3)
    assert preview["null_counts"] == {"name": 0, "age": 1, "score": 1}
    assert preview["rows"][1] == {"name": "bob", "age": None, "score": 2.5}  # NaN -> null
    assert {c["name"]: c["dtype"] for c in preview["columns"]}["age"] == "float64"


def test_data_load_csv_from_an_fsspec_url(runner: Runner) -> None:
    url = f"memory://data-{uuid.uuid4().hex}/x.csv"
    with fsspec.open(url, "w") as fh:
        fh.write("a,b\n1,2\n3,4\n")
    runner.run(DataLoadCard, "load", {"source": "csv", "path": url})
    assert runner.load("load", "dataset").to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    runner.run(DataLoadCard, "load2", {"source": "url", "url": url})
    assert runner.load("load2", "dataset").shape == (2, 2)


def test_data_load_missing_path_is_a_clear_error(runner: Runner, tmp_path) -> None:
    with pytest.raises(CardConfigError, match=r"path is required when source is 'csv'") as info:
        runner.run(DataLoadCard, "load", {"source": "csv"})
    assert info.value.problems[0]["field"] == "path"
    missing = tmp_path / "nope.csv"
    with pytest.raises(CardConfigError, match=r"does not exist") as info:
        runner.run(DataLoadCard, "load", {"source": "csv", "path": str(missing)})
    assert "nope.csv" in str(info.value) and info.value.node_id == "load"
    with pytest.raises(ValueError, match=r"url is required"):
        runner.run(DataLoadCard, "load", {"source": "url"})


def test_data_load_rejects_an_unknown_sample_in_config_validation() -> None:
    _, problems = validate_config(DataLoadCard.json_schema(), {"source": "sample", "sample_name": "irs"})
    assert problems and "iris" in problems[0]["message"]


# --- data_split ---------------------------------------------------------------------------------


def _frame(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n), "label": ["a" if i % 4 else "b" for i in range(n)]})


def _split(runner: Runner, raw: dict[str, Any], df: pd.DataFrame | None = None, node: str = "split"):
    src = f"src-{node}"
    runner.put(src, "dataset", df if df is not None else _frame(), "dataframe")
    return runner.run(DataSplitCard, node, raw, dataset=(src, "dataset"))


def test_data_split_sizes_and_preview(runner: Runner) -> None:
    _, preview, _ = _split(runner, {})
    train, test = runner.load("split", "train_dataset"), runner.load("split", "test_dataset")
    assert (len(train), len(test)) == (80, 20)
    assert sorted(pd.concat([train, test])["x"]) == list(range(100))
    assert preview["train"]["row_count"] == 80 and preview["test"]["row_count"] == 20
    assert len(preview["train"]["rows"]) == 20 and len(preview["test"]["rows"]) == 20
    assert preview["split_ratio"] == {"train": 0.8, "test": 0.2}


def test_data_split_ten_rows_like_the_original_test(runner: Runner) -> None:
    df = pd.DataFrame({"feature1": range(1, 11), "target": range(2, 21, 2)})
    _split(runner, {"train_ratio": 0.8, "test_ratio": 0.2, "random_seed": 42}, df)
    assert len(runner.load("split", "test_dataset")) == 2
    assert len(runner.load("split", "train_dataset")) == 8


@pytest.mark.parametrize(
    ("raw", "n_train"),
    [
        ({"train_ratio": 0.7}, 70),  # only train changed: test follows
        ({"test_ratio": 0.25}, 75),  # only test changed: train follows
        ({"train_ratio": 0.7, "test_ratio": 0.3}, 70),  # both, consistent
        ({"train_ratio": 0.9, "test_ratio": 0.2}, 90),  # test still at its default: train wins
    ],
)
def test_data_split_uses_the_ratio_that_was_given(runner: Runner, raw: dict[str, Any], n_train: int) -> None:
    _split(runner, raw)
    assert len(runner.load("split", "train_dataset")) == n_train
    assert len(runner.load("split", "test_dataset")) == 100 - n_train


def test_data_split_inconsistent_ratios_are_an_error(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"must sum to 1 but sum to 0\.9"):
        _split(runner, {"train_ratio": 0.6, "test_ratio": 0.3})
    _, problems = validate_config(DataSplitCard.json_schema(), {"test_ratio": 1.5})
    assert problems and problems[0]["field"] == "test_ratio"
    with pytest.raises(ValueError, match="between 0 and 1"):
        resolve_ratios(0.0, None)


def test_data_split_is_deterministic_per_seed(runner: Runner) -> None:
    _split(runner, {"random_seed": 7}, node="a")
    _split(runner, {"random_seed": 7}, node="b")
    _split(runner, {"random_seed": 8}, node="c")
    a, b, c = (runner.load(n, "test_dataset")["x"].tolist() for n in "abc")
    assert a == b
    assert a != c


def test_data_split_without_shuffle_keeps_order(runner: Runner) -> None:
    _split(runner, {"shuffle": False})
    assert runner.load("split", "train_dataset")["x"].tolist() == list(range(80))
    assert runner.load("split", "test_dataset")["x"].tolist() == list(range(80, 100))


def test_data_split_stratifies(runner: Runner) -> None:
    _split(runner, {"stratify_column": "label", "test_ratio": 0.2})
    test = runner.load("split", "test_dataset")
    assert (test["label"] == "b").sum() == 5  # 25 % of 20, exactly


def test_data_split_unknown_stratify_column_is_named(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"stratify_column 'lable' is not a column.*Did you mean 'label'"):
        _split(runner, {"stratify_column": "lable"})


def test_data_split_needs_two_rows(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match="at least 2"):
        _split(runner, {}, pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize(
    ("raw", "sk"),
    [
        ({}, {"test_size": 0.2}),
        ({"test_ratio": 0.2}, {"test_size": 0.2}),
        ({"test_ratio": 0.33}, {"test_size": 0.33}),
        ({"train_ratio": 0.7}, {"train_size": 0.7}),
        ({"train_ratio": 0.65, "random_seed": 3}, {"train_size": 0.65, "random_state": 3}),
    ],
)
def test_data_split_picks_the_rows_train_test_split_picks(runner: Runner, raw: dict[str, Any], sk: dict) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    df = load_diabetes(as_frame=True).frame  # 442 rows: 0.2 gives 89 test rows there (ceil), not 88
    _split(runner, raw, df)
    want_train, want_test = train_test_split(df, **{"random_state": 42, **sk})
    got_train, got_test = runner.load("split", "train_dataset"), runner.load("split", "test_dataset")
    pd.testing.assert_frame_equal(got_test, want_test.reset_index(drop=True))
    pd.testing.assert_frame_equal(got_train, want_train.reset_index(drop=True))


def test_split_sizes_keep_a_row_on_each_side() -> None:
    assert split_sizes(2, None, 0.01) == (1, 1)
    assert split_sizes(3, 0.99, None) == (2, 1)
    assert split_sizes(442, None, None) == (353, 89)
