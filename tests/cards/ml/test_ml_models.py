"""model_define's new model types train and score exactly as scikit-learn does on the same split."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tensorrag.cards.data.load import DataLoadCard
from tensorrag.cards.data.split import DataSplitCard
from tensorrag.cards.ml.define import ModelDefineCard, estimator_class, resolve_task
from tensorrag.cards.ml.evaluate import EvaluateCard
from tensorrag.cards.ml.train import TrainCard

if TYPE_CHECKING:
    from tests.cards.runner import Runner

SKLEARN = {
    ("gradient_boosting", "regression"): ("sklearn.ensemble", "GradientBoostingRegressor"),
    ("gradient_boosting", "classification"): ("sklearn.ensemble", "GradientBoostingClassifier"),
    ("svm", "regression"): ("sklearn.svm", "SVR"),
    ("svm", "classification"): ("sklearn.svm", "SVC"),
    ("knn", "regression"): ("sklearn.neighbors", "KNeighborsRegressor"),
    ("knn", "classification"): ("sklearn.neighbors", "KNeighborsClassifier"),
    ("decision_tree", "regression"): ("sklearn.tree", "DecisionTreeRegressor"),
    ("decision_tree", "classification"): ("sklearn.tree", "DecisionTreeClassifier"),
}


def _sklearn_score(model_type: str, task: str, sample: str) -> float:
    import importlib

    from sklearn import datasets
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split

    df = getattr(datasets, f"load_{sample}")(as_frame=True).frame
    stratify = df["target"] if task == "classification" else None
    train, test = train_test_split(df, test_size=0.2, random_state=42, stratify=stratify)
    module, name = SKLEARN[(model_type, task)]
    cls = getattr(importlib.import_module(module), name)
    params = {"random_state": 42} if "random_state" in cls().get_params() else {}
    model = cls(**params).fit(train.drop(columns="target"), train["target"])
    pred = model.predict(test.drop(columns="target"))
    return accuracy_score(test["target"], pred) if task == "classification" else r2_score(test["target"], pred)


@pytest.mark.parametrize(("model_type", "task"), sorted(SKLEARN))
def test_new_model_types_match_sklearn(runner: Runner, model_type: str, task: str) -> None:
    sample = "iris" if task == "classification" else "diabetes"
    assert estimator_class(model_type, task).__name__ == SKLEARN[(model_type, task)][1]
    runner.run(DataLoadCard, "load", {"source": "sample", "sample_name": sample})
    strat = "target" if task == "classification" else ""
    runner.run(DataSplitCard, "split", {"stratify_column": strat}, dataset=("load", "dataset"))
    runner.run(ModelDefineCard, "define", {"model_type": model_type, "task": task})
    runner.run(TrainCard, "train", {}, train_dataset=("split", "train_dataset"), model_spec=("define", "model_spec"))
    metric = "accuracy" if task == "classification" else "r2"
    runner.run(
        EvaluateCard,
        "eval",
        {"metrics": [metric]},
        trained_model=("train", "trained_model"),
        test_dataset=("split", "test_dataset"),
    )
    assert runner.load("eval", "eval_report")[metric.upper()] == _sklearn_score(model_type, task, sample)


def test_auto_task_for_the_new_models() -> None:
    import pandas as pd

    for model_type in ("gradient_boosting", "svm", "knn", "decision_tree"):
        assert resolve_task(model_type, "auto", pd.Series(["a", "b"])) == "classification"
        assert resolve_task(model_type, "auto", pd.Series([1.5, 2.5])) == "regression"
