"""random_forest, confusion_matrix, accuracy_calc, feature_importance and cross_validate against scikit-learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from tensorrag.cards.ml.confusion import AccuracyCalcCard, ConfusionMatrixCard
from tensorrag.cards.ml.define import ModelDefineCard
from tensorrag.cards.ml.forest import RandomForestCard
from tensorrag.cards.ml.importance import FeatureImportanceCard
from tensorrag.cards.ml.inference import InferenceCard
from tensorrag.cards.ml.validate import CrossValidateCard
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner


def _iris_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    df = load_iris(as_frame=True).frame
    return train_test_split(df, test_size=0.2, random_state=42, stratify=df["target"])


def _forest(train: pd.DataFrame, **params) -> object:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(random_state=42, **params).fit(train.drop(columns="target"), train["target"])


def test_random_forest_on_a_table_equals_sklearn(runner: Runner) -> None:
    train, test = _iris_split()
    runner.put("split", "train", train, "dataframe")
    _, preview, _ = runner.run(
        RandomForestCard, "rf", {"n_estimators": 20, "max_depth": 3}, train_data=("split", "train")
    )
    model = runner.load("rf", "trained_model")
    sk = _forest(train, n_estimators=20, max_depth=3)
    x = test.drop(columns="target")
    np.testing.assert_array_equal(model.predict_proba(x), sk.predict_proba(x))
    metrics = runner.load("rf", "train_metrics")
    assert metrics["n_estimators"] == 20 and metrics["n_features"] == 4
    assert metrics["train_accuracy"] == sk.score(train.drop(columns="target"), train["target"])
    assert preview["metrics"]["train_accuracy"] == metrics["train_accuracy"]


def test_random_forest_takes_the_guides_json(runner: Runner) -> None:
    train, _ = _iris_split()
    x = train.drop(columns="target")
    runner.put("src", "train", {"X": x.to_numpy().tolist(), "y": train["target"].tolist()}, "json")
    runner.run(RandomForestCard, "rf", {"n_estimators": 10}, train_data=("src", "train"))
    model = runner.load("rf", "trained_model")
    assert list(model.feature_names_in_) == ["x0", "x1", "x2", "x3"]
    sk = _forest(train.set_axis(["x0", "x1", "x2", "x3", "target"], axis=1), n_estimators=10)
    np.testing.assert_array_equal(
        model.predict(x.set_axis(["x0", "x1", "x2", "x3"], axis=1)),
        sk.predict(x.set_axis(["x0", "x1", "x2", "x3"], axis=1)),
    )
    runner.put("bad", "train", {"rows": []}, "json")
    with pytest.raises(CardConfigError, match=r"train_data must be a table or JSON"):
        runner.run(RandomForestCard, "rf2", {}, train_data=("bad", "train"))


def test_confusion_matrix_card(runner: Runner) -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix

    train, test = _iris_split()
    runner.put("split", "train", train, "dataframe")
    runner.put("split", "test", test, "dataframe")
    runner.run(RandomForestCard, "rf", {}, train_data=("split", "train"))
    _, preview, _ = runner.run(
        ConfusionMatrixCard, "cm", {}, trained_model=("rf", "trained_model"), test_data=("split", "test")
    )
    pred = _forest(train).predict(test.drop(columns="target"))
    metrics = runner.load("cm", "metrics")
    assert metrics["accuracy"] == accuracy_score(test["target"], pred) and metrics["classes"] == 3
    assert metrics["confusion_matrix"]["matrix"] == confusion_matrix(test["target"], pred).tolist()
    assert runner.load("cm", "eval_chart").startswith(b"\x89PNG")
    assert preview["metrics"] == {"accuracy": metrics["accuracy"], "classes": 3}


def test_accuracy_calc_from_json_and_from_tables(runner: Runner) -> None:
    runner.put("p", "v", {"values": [1, 0, 1, 1]}, "json")
    runner.put("t", "v", {"values": [1, 1, 1, 0]}, "json")
    runner.run(AccuracyCalcCard, "acc", {}, predictions=("p", "v"), ground_truth=("t", "v"))
    assert runner.load("acc", "metrics") == {"accuracy": 0.5, "samples": 4}

    train, test = _iris_split()
    runner.put("split", "train", train, "dataframe")
    runner.put("split", "test", test, "dataframe")
    runner.run(RandomForestCard, "rf", {}, train_data=("split", "train"))
    runner.run(InferenceCard, "inf", {}, trained_model=("rf", "trained_model"), dataset=("split", "test"))
    runner.run(AccuracyCalcCard, "acc2", {}, predictions=("inf", "predictions"), ground_truth=("split", "test"))
    expected = float((_forest(train).predict(test.drop(columns="target")) == test["target"]).mean())
    assert runner.load("acc2", "metrics") == {"accuracy": expected, "samples": len(test)}
    runner.put("short", "v", [1], "json")
    with pytest.raises(CardConfigError, match="predictions has 1 values and ground_truth 4"):
        runner.run(AccuracyCalcCard, "acc3", {}, predictions=("short", "v"), ground_truth=("t", "v"))


def test_feature_importance_ranks_the_models_importances(runner: Runner) -> None:
    train, _ = _iris_split()
    runner.put("split", "train", train, "dataframe")
    runner.run(RandomForestCard, "rf", {}, train_data=("split", "train"))
    _, preview, _ = runner.run(FeatureImportanceCard, "fi", {"top_k": 2}, trained_model=("rf", "trained_model"))
    sk = _forest(train)
    expected = dict(zip(train.columns[:4], sk.feature_importances_, strict=True))
    got = runner.load("fi", "importances")
    assert got["source"] == "feature_importances_" and got["importances"] == pytest.approx(expected)
    assert list(got["importances"]) == sorted(expected, key=lambda k: -expected[k])
    assert runner.load("fi", "chart").startswith(b"\x89PNG")
    assert preview["metrics"] == got["importances"]


def test_feature_importance_of_a_linear_model_and_of_a_model_without_any(runner: Runner) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor

    x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [0.5, 0.1, 0.9, 0.3]})
    ridge = Ridge().fit(x, [1.0, 2, 3, 5])
    runner.put("m", "model", ridge, "model")
    runner.run(FeatureImportanceCard, "fi", {}, trained_model=("m", "model"))
    assert runner.load("fi", "importances")["importances"] == pytest.approx(
        dict(zip("ab", abs(ridge.coef_), strict=True))
    )
    runner.put("k", "model", KNeighborsRegressor(n_neighbors=1).fit(x, [1, 2, 3, 4]), "model")
    with pytest.raises(CardConfigError, match="has neither feature_importances_"):
        runner.run(FeatureImportanceCard, "fi2", {}, trained_model=("k", "model"))


@pytest.mark.parametrize(
    ("sample", "model", "metric", "scoring"),
    [
        ("iris", {"model_type": "decision_tree", "task": "classification"}, "auto", "accuracy"),
        ("iris", {"model_type": "knn", "task": "classification"}, "f1", "f1_macro"),
        ("diabetes", {"model_type": "ridge"}, "auto", "r2"),
        ("diabetes", {"model_type": "ridge"}, "mse", "neg_mean_squared_error"),
    ],
)
def test_cross_validate_equals_cross_val_score(
    runner: Runner, sample: str, model: dict, metric: str, scoring: str
) -> None:
    from sklearn import datasets
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    df = getattr(datasets, f"load_{sample}")(as_frame=True).frame
    runner.put("src", "dataset", df, "dataframe")
    runner.run(ModelDefineCard, "define", model)
    _, preview, _ = runner.run(
        CrossValidateCard, "cv", {"metric": metric, "folds": 4, "random_seed": 3},
        dataset=("src", "dataset"), model_spec=("define", "model_spec"),
    )  # fmt: skip
    estimator = {"decision_tree": DecisionTreeClassifier(random_state=42), "knn": KNeighborsClassifier(),
                 "ridge": Ridge()}[model["model_type"]]  # fmt: skip
    splitter = StratifiedKFold if sample == "iris" else KFold
    expected = cross_val_score(
        estimator,
        df.drop(columns="target"),
        df["target"],
        cv=splitter(4, shuffle=True, random_state=3),
        scoring=scoring,
    )
    expected = -expected if scoring.startswith("neg_") else expected
    got = runner.load("cv", "cv_scores")
    np.testing.assert_allclose(got["scores"], expected, rtol=1e-12)
    assert got["mean"] == pytest.approx(expected.mean()) and got["folds"] == 4
    assert preview["metrics"]["mean"] == got["mean"]


def test_cross_validate_metric_must_fit_the_task(runner: Runner) -> None:
    from sklearn.datasets import load_iris

    runner.put("src", "dataset", load_iris(as_frame=True).frame, "dataframe")
    runner.run(ModelDefineCard, "define", {"model_type": "logistic_regression"})
    with pytest.raises(CardConfigError, match="metric 'r2' does not apply to classification"):
        runner.run(
            CrossValidateCard, "cv", {"metric": "r2"}, dataset=("src", "dataset"), model_spec=("define", "model_spec")
        )
