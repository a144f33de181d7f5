"""The built-in scikit-learn cards: model_define, train, evaluate, inference (real sklearn, real storage)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tensorrag.cards.data.load import DataLoadCard
from tensorrag.cards.data.split import DataSplitCard
from tensorrag.cards.ml.define import ModelDefineCard, build_estimator, check_hyperparameters, resolve_task
from tensorrag.cards.ml.evaluate import EvaluateCard
from tensorrag.cards.ml.inference import InferenceCard
from tensorrag.cards.ml.train import TrainCard
from tensorrag.cards.schema import validate_config
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner


def _data(runner: Runner, sample: str) -> None:
    runner.run(DataLoadCard, "load", {"source": "sample", "sample_name": sample})
    runner.run(
        DataSplitCard,
        "split",
        {"random_seed": 42, "stratify_column": "target" if sample == "iris" else ""},
        dataset=("load", "dataset"),
    )


def _fit(runner: Runner, sample: str, model: dict[str, Any], target: str = "target", **train_cfg: Any):
    _data(runner, sample)
    runner.run(ModelDefineCard, "define", model)
    return runner.run(
        TrainCard,
        "train",
        {"target_column": target, **train_cfg},
        train_dataset=("split", "train_dataset"),
        model_spec=("define", "model_spec"),
    )


# --- model_define -------------------------------------------------------------------------------


def test_model_define_emits_the_spec(runner: Runner) -> None:
    _, preview, _ = runner.run(ModelDefineCard, "define", {"model_type": "ridge", "hyperparameters": {"alpha": 0.5}})
    assert runner.load("define", "model_spec") == {
        "model_type": "ridge",
        "task": "auto",
        "hyperparameters": {"alpha": 0.5},
    }
    assert preview["model_type"] == "ridge" and preview["hyperparameters"] == {"alpha": 0.5}
    runner.run(ModelDefineCard, "define2", {})
    assert runner.load("define2", "model_spec")["model_type"] == "linear_regression"
    assert runner.load("define2", "model_spec")["task"] == "regression"  # single-task models resolve at once


def test_model_define_unknown_type_is_a_value_error_listing_the_valid_ones(runner: Runner) -> None:
    card = ModelDefineCard()
    cfg = {"model_type": "xgboost", "hyperparameters": {}, "_pipeline_id": "p", "_node_id": "n", "_run_id": "r"}
    with pytest.raises(ValueError, match="Unknown model type 'xgboost'") as info:
        card.execute(cfg, {}, None)
    assert (
        "linear_regression, ridge, lasso, logistic_regression, random_forest, gradient_boosting, svm, knn, "
        "decision_tree" in str(info.value)
    )
    _, problems = validate_config(ModelDefineCard.json_schema(), {"model_type": "xgboost"})
    assert problems and problems[0]["field"] == "model_type"


def test_model_define_bad_hyperparameter_gets_did_you_mean(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"Unknown hyperparameter 'alpah' \(did you mean 'alpha'\?\)") as info:
        runner.run(ModelDefineCard, "define", {"model_type": "ridge", "hyperparameters": {"alpah": 1}})
    assert info.value.problems[0]["field"] == "hyperparameters"
    with pytest.raises(ValueError, match="n_estimators"):
        runner.run(ModelDefineCard, "d2", {"model_type": "random_forest", "hyperparameters": {"n_estimator": 5}})
    with pytest.raises(ValueError, match="Invalid hyperparameter value"):
        check_hyperparameters("ridge", "regression", {"alpha": "lots"})


def test_model_define_task_must_fit_the_model(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match="supports only regression") as info:
        runner.run(ModelDefineCard, "define", {"model_type": "lasso", "task": "classification"})
    assert "logistic_regression" in str(info.value)


def test_task_auto_follows_the_target_type() -> None:
    import pandas as pd

    assert resolve_task("random_forest", "auto") == "regression"
    assert resolve_task("random_forest", "auto", pd.Series(["a", "b"])) == "classification"
    assert resolve_task("random_forest", "auto", pd.Series([0.5, 1.5])) == "regression"
    assert resolve_task("logistic_regression", "auto", pd.Series([0.5])) == "classification"
    assert build_estimator("random_forest", "classification", {"n_estimators": 3}).random_state == 42


# --- train --------------------------------------------------------------------------------------


def test_train_linear_regression_on_diabetes(runner: Runner) -> None:
    _, preview, storage = _fit(runner, "diabetes", {"model_type": "linear_regression"})
    metrics = runner.load("train", "train_metrics")
    assert metrics["train_r2"] > 0.4
    assert {"train_mse", "train_rmse", "train_mae", "train_r2"} <= set(metrics)
    assert metrics["train_rmse"] == pytest.approx(metrics["train_mse"] ** 0.5)
    features = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert list(metrics["coefficients"]) == features
    assert isinstance(metrics["intercept"], float)
    assert set(preview["metrics"]) == {"train_mse", "train_rmse", "train_mae", "train_r2"}
    assert preview["feature_columns"] == features and preview["target_column"] == "target"
    assert list(preview["coefficients"]) == features
    model = runner.load("train", "trained_model")
    assert type(model).__name__ == "LinearRegression"
    assert list(model.feature_names_in_) == features
    assert set(storage.saved) == {"trained_model", "train_metrics", "model_meta"}  # model_meta: an extra
    assert storage.load(storage.saved["model_meta"]["uri"]) == {
        "feature_columns": features,
        "target_column": "target",
        "model_type": "linear_regression",
        "task": "regression",
    }


@pytest.mark.parametrize(
    "model",
    [
        {"model_type": "logistic_regression", "hyperparameters": {"max_iter": 500}},
        {"model_type": "random_forest", "task": "classification", "hyperparameters": {"n_estimators": 25}},
    ],
)
def test_train_classifiers_on_iris(runner: Runner, model: dict[str, Any]) -> None:
    _, preview, _ = _fit(runner, "iris", model)
    metrics = runner.load("train", "train_metrics")
    assert metrics["train_accuracy"] > 0.8 and metrics["train_f1"] > 0.8
    assert set(preview["metrics"]) == {"train_accuracy", "train_f1"}
    assert "coefficients" not in preview


def test_train_feature_columns_subset(runner: Runner) -> None:
    _fit(runner, "diabetes", {"model_type": "ridge"}, feature_columns=["bmi", "s5"])
    assert list(runner.load("train", "trained_model").feature_names_in_) == ["bmi", "s5"]


def test_train_missing_target_lists_the_columns(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"target_column 'MEDV' is not a column of train_dataset.*bmi") as info:
        _fit(runner, "diabetes", {"model_type": "linear_regression"}, target="MEDV")
    assert info.value.problems[0]["field"] == "target_column"


def test_train_non_numeric_features_are_named(runner: Runner) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": [1.0, 2, 3, 4], "city": ["a", "b", "a", "b"], "target": [1.0, 2, 3, 4]})
    runner.put("src", "train_dataset", df, "dataframe")
    runner.run(ModelDefineCard, "define", {"model_type": "linear_regression"})
    with pytest.raises(CardConfigError, match=r"must be numeric, but 'city' \((object|str)\) is not"):
        runner.run(TrainCard, "train", {}, train_dataset=("src", "train_dataset"), model_spec=("define", "model_spec"))


def test_train_classification_on_a_continuous_target_is_explained(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"continuous numbers.*task 'regression'"):
        _fit(runner, "diabetes", {"model_type": "logistic_regression"})


# --- evaluate -----------------------------------------------------------------------------------


def _evaluate(runner: Runner, raw: dict[str, Any]):
    return runner.run(
        EvaluateCard, "eval", raw, trained_model=("train", "trained_model"), test_dataset=("split", "test_dataset")
    )


def test_evaluate_regression_report_and_chart(runner: Runner) -> None:
    _fit(runner, "diabetes", {"model_type": "linear_regression"})
    _, preview, _ = _evaluate(runner, {"metrics": ["mse", "rmse", "mae", "r2"], "target_column": "target"})
    report = runner.load("eval", "eval_report")
    assert list(report) == ["MSE", "RMSE", "MAE", "R2"]
    assert report["R2"] > 0.3 and report["RMSE"] == pytest.approx(report["MSE"] ** 0.5)
    png = runner.load("eval", "eval_chart")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _png_size(png) == (600, 600)  # 6 x 6 in at 100 dpi
    assert preview["metrics"] == report
    assert preview["chart_ref"] == json.loads(json.dumps(runner.refs["eval"]["eval_chart"]))


def test_evaluate_defaults_and_feature_columns_from_the_model(runner: Runner) -> None:
    _fit(runner, "diabetes", {"model_type": "lasso"}, feature_columns=["bmi", "bp", "s5"])
    _evaluate(runner, {})  # default metrics [mse, r2]; features come from model.feature_names_in_
    assert list(runner.load("eval", "eval_report")) == ["MSE", "R2"]


def test_evaluate_classifier_confusion_matrix(runner: Runner) -> None:
    _fit(runner, "iris", {"model_type": "logistic_regression", "hyperparameters": {"max_iter": 500}})
    _evaluate(runner, {"metrics": ["accuracy", "f1"]})
    report = runner.load("eval", "eval_report")
    assert {"ACCURACY", "F1", "classification_report", "confusion_matrix"} == set(report)
    assert report["ACCURACY"] > 0.8
    assert runner.load("eval", "eval_chart").startswith(b"\x89PNG")


def test_evaluate_classifier_with_default_metrics_scores_it_as_a_classifier(runner: Runner) -> None:
    _fit(runner, "iris", {"model_type": "logistic_regression", "hyperparameters": {"max_iter": 500}})
    _evaluate(runner, {})  # the default [mse, r2] is a regression default: a classifier gets its own metrics
    numbers = [k for k, v in runner.load("eval", "eval_report").items() if not isinstance(v, dict)]
    assert numbers == ["ACCURACY", "F1", "ROC_AUC"]


def test_evaluate_metric_that_does_not_fit_the_task(runner: Runner) -> None:
    _fit(runner, "iris", {"model_type": "logistic_regression", "hyperparameters": {"max_iter": 500}})
    with pytest.raises(CardConfigError, match=r"'r2' do not apply to a classification model.*accuracy, f1, roc_auc"):
        _evaluate(runner, {"metrics": ["accuracy", "r2"]})


def test_evaluate_missing_target(runner: Runner) -> None:
    _fit(runner, "diabetes", {"model_type": "linear_regression"})
    with pytest.raises(CardConfigError, match=r"target_column 'y' is not a column of test_dataset"):
        _evaluate(runner, {"target_column": "y"})


# --- inference ----------------------------------------------------------------------------------


def _infer(runner: Runner, raw: dict[str, Any]):
    return runner.run(
        InferenceCard, "infer", raw, trained_model=("train", "trained_model"), dataset=("split", "test_dataset")
    )


def test_inference_adds_the_prediction_column(runner: Runner) -> None:
    _fit(runner, "diabetes", {"model_type": "linear_regression"})
    _, preview, _ = _infer(runner, {})
    out = runner.load("infer", "predictions")
    test = runner.load("split", "test_dataset")
    assert len(out) == len(test)
    assert list(out.columns) == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "prediction"]
    model = runner.load("train", "trained_model")
    np.testing.assert_allclose(out["prediction"], model.predict(test[list(model.feature_names_in_)]))
    assert preview["row_count"] == len(test) and len(preview["rows"]) == min(100, len(test))
    assert preview["columns"][-1] == {"name": "prediction", "dtype": "float64"}


def test_inference_without_features_and_custom_name(runner: Runner) -> None:
    _fit(
        runner,
        "iris",
        {"model_type": "random_forest", "task": "classification", "hyperparameters": {"n_estimators": 10}},
    )
    _infer(runner, {"include_features": False, "target_column": "species"})
    out = runner.load("infer", "predictions")
    assert list(out.columns) == ["species"]
    assert set(out["species"]) <= {0, 1, 2}


def test_inference_prediction_column_named_like_the_target_is_never_a_feature(runner: Runner) -> None:
    # The original's S1 #8 sets target_column to the label; the label must not leak into the features.
    _fit(runner, "diabetes", {"model_type": "linear_regression"})
    _infer(runner, {"target_column": "target"})
    out = runner.load("infer", "predictions")
    assert out.columns[-1] == "target" and len(out.columns) == 11
    with pytest.raises(CardConfigError, match="prediction column 'bmi' is also one of"):
        _infer(runner, {"target_column": "bmi"})


# --- helpers ------------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
