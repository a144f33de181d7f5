"""scale, feature_scaler, encode, fill_missing and apply_transform, checked against scikit-learn on the same data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from tensorrag.cards.data.clean import FillMissingCard
from tensorrag.cards.data.transform import ApplyTransformCard, EncodeCard, FeatureScalerCard, ScaleCard
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner

rng = np.random.default_rng(0)
TRAIN = pd.DataFrame(
    {
        "a": rng.normal(5, 2, 40),
        "b": rng.exponential(3, 40),
        "c": np.r_[np.zeros(39), 1.0],
        "color": rng.choice(["red", "green", "blue"], 40),
        "target": rng.integers(0, 2, 40),
    }
)
TEST = pd.DataFrame(
    {
        "a": rng.normal(5, 2, 10),
        "b": rng.exponential(3, 10),
        "c": np.zeros(10),
        "color": ["red", "green", "blue", "purple", "red", "red", "blue", "green", "green", "red"],
        "target": rng.integers(0, 2, 10),
    }
)


def _fit(runner: Runner, cls: type, raw: dict[str, Any], df: pd.DataFrame = TRAIN) -> pd.DataFrame:
    runner.put("train", "dataset", df, "dataframe")
    runner.run(cls, "fit", raw, dataset=("train", "dataset"))
    return runner.load("fit", "dataset")


def _apply(runner: Runner, port: str, df: pd.DataFrame = TEST) -> pd.DataFrame:
    runner.put("test", "dataset", df, "dataframe")
    runner.run(ApplyTransformCard, "apply", {}, dataset=("test", "dataset"), transform=("fit", port))
    return runner.load("apply", "dataset")


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_scale_matches_sklearn_on_train_and_test(runner: Runner, method: str) -> None:
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[method]()
    cols = ["a", "b", "c"]
    scaler.fit(TRAIN[cols])
    out = _fit(runner, ScaleCard, {"method": method})
    np.testing.assert_allclose(out[cols].to_numpy(), scaler.transform(TRAIN[cols]), rtol=1e-12, atol=1e-12)
    assert out["target"].tolist() == TRAIN["target"].tolist()  # the label is excluded by default
    assert out["color"].tolist() == TRAIN["color"].tolist()
    spec = runner.load("fit", "scaler")
    assert spec["kind"] == "scale" and spec["columns"] == cols
    test_out = _apply(runner, "scaler")
    np.testing.assert_allclose(test_out[cols].to_numpy(), scaler.transform(TEST[cols]), rtol=1e-12, atol=1e-12)


def test_scale_listed_columns_must_be_numeric(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"must be numeric columns, but 'color' \(.*\) are not"):
        _fit(runner, ScaleCard, {"columns": ["a", "color"]})


def test_feature_scaler_is_the_guides_standard_scaler(runner: Runner) -> None:
    from sklearn.preprocessing import StandardScaler

    runner.put("train", "dataset", TRAIN, "dataframe")
    runner.run(FeatureScalerCard, "fs", {"columns": "a, b"}, dataset=("train", "dataset"))
    out = runner.load("fs", "scaled_dataset")
    expected = StandardScaler().fit_transform(TRAIN[["a", "b"]])
    np.testing.assert_allclose(out[["a", "b"]].to_numpy(), expected, rtol=1e-12)
    assert out["c"].tolist() == TRAIN["c"].tolist()


def test_encode_onehot_matches_sklearn_and_ignores_unknown(runner: Runner) -> None:
    from sklearn.preprocessing import OneHotEncoder

    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(TRAIN[["color"]])
    out = _fit(runner, EncodeCard, {"method": "onehot"})
    names = [f"color_{c}" for c in enc.categories_[0]]
    assert list(out.columns) == ["a", "b", "c", *names, "target"]  # in place of the column
    np.testing.assert_array_equal(out[names].to_numpy(), enc.transform(TRAIN[["color"]]))
    test_out = _apply(runner, "encoder")
    np.testing.assert_array_equal(test_out[names].to_numpy(), enc.transform(TEST[["color"]]))
    assert test_out.loc[3, names].sum() == 0  # 'purple' was never seen


def test_encode_ordinal_and_label_match_sklearn(runner: Runner) -> None:
    from sklearn.preprocessing import LabelEncoder, OrdinalEncoder

    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(TRAIN[["color"]])
    out = _fit(runner, EncodeCard, {"method": "ordinal", "columns": ["color"]})
    np.testing.assert_array_equal(out["color"].to_numpy(), ordinal.transform(TRAIN[["color"]])[:, 0])
    np.testing.assert_array_equal(_apply(runner, "encoder")["color"], ordinal.transform(TEST[["color"]])[:, 0])

    labels = LabelEncoder().fit(TRAIN["color"])
    out = _fit(runner, EncodeCard, {"method": "label", "columns": ["color"]})
    np.testing.assert_array_equal(out["color"].to_numpy(), labels.transform(TRAIN["color"]))
    with pytest.raises(CardConfigError, match=r"'purple' the label encoder never saw"):
        _apply(runner, "encoder")


def test_encode_with_nothing_to_encode_says_so(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match="no columns to encode"):
        _fit(runner, EncodeCard, {}, TRAIN[["a", "b"]])


MISSING = pd.DataFrame(
    {
        "x": [1.0, np.nan, 3.0, 10.0, np.nan],
        "y": [2.0, 2.0, np.nan, 5.0, 7.0],
        "s": ["a", None, "b", "b", "a"],
    }
)


@pytest.mark.parametrize("strategy", ["mean", "median", "mode", "constant"])
def test_fill_missing_matches_simple_imputer(runner: Runner, strategy: str) -> None:
    from sklearn.impute import SimpleImputer

    sk = {"mode": "most_frequent"}.get(strategy, strategy)
    imputer = SimpleImputer(strategy=sk, fill_value=-1.0 if strategy == "constant" else None)
    expected = imputer.fit_transform(MISSING[["x", "y"]])
    out = _fit(runner, FillMissingCard, {"strategy": strategy, "columns": ["x", "y"], "fill_value": "-1"}, MISSING)
    np.testing.assert_allclose(out[["x", "y"]].to_numpy(), expected)
    spec = runner.load("fit", "fill_values")
    assert spec["kind"] == "fill" and set(spec["values"]) == {"x", "y"}


def test_fill_missing_defaults_fill_every_incomplete_column(runner: Runner) -> None:
    out = _fit(runner, FillMissingCard, {}, MISSING)
    assert not out.isna().any().any()
    assert out["x"][1] == pytest.approx(np.nanmean(MISSING["x"]))
    assert out["s"][1] == "a"  # a text column has no mean: its mode (ties: the smallest)
    refill = _apply(runner, "fill_values", MISSING)  # the same values on other data
    pd.testing.assert_frame_equal(refill, out)


def test_fill_missing_per_column(runner: Runner) -> None:
    rules = {"x": "median", "s": {"strategy": "constant", "value": "unknown"}}
    out = _fit(runner, FillMissingCard, {"strategy": "mean", "columns": ["y"], "per_column": rules}, MISSING)
    assert out["x"][1] == 3.0 and out["s"][1] == "unknown" and out["y"][2] == pytest.approx(4.0)


def test_fill_missing_mean_of_text_is_refused_when_asked(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"mean needs a numeric column but 's' holds"):
        _fit(runner, FillMissingCard, {"columns": ["s"]}, MISSING)
    with pytest.raises(CardConfigError, match=r"column 'x' is numeric but the constant 'zero' is not a number"):
        _fit(runner, FillMissingCard, {"strategy": "constant", "fill_value": "zero"}, MISSING)


def test_apply_transform_names_a_missing_column(runner: Runner) -> None:
    _fit(runner, ScaleCard, {})
    with pytest.raises(CardConfigError, match=r"needs column\(s\) 'b', 'c', not in the table") as info:
        _apply(runner, "scaler", TEST[["a", "color"]])
    assert info.value.problems[0]["field"] == "dataset"
