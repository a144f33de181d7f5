"""model_define_gpu + train_gpu: regression and classification, checked against a plain torch loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from tensorrag.cards.ml.define import ModelDefineCard
from tensorrag.cards.ml.evaluate import EvaluateCard
from tensorrag.cards.ml.inference import InferenceCard
from tensorrag.cards.torch.artifact import TorchModel
from tensorrag.cards.torch.define import ModelDefineGpuCard
from tensorrag.cards.torch.train import TrainGpuCard
from tensorrag.errors import CardConfigError, CardExecutionError
from tests.cards.torch.helpers import S2_SPEC, data, train

if TYPE_CHECKING:
    from tests.cards.runner import Runner

torch = pytest.importorskip("torch")


def test_model_define_gpu_emits_the_original_fields_and_preview(runner: Runner) -> None:
    _refs, preview, _ = runner.run(ModelDefineGpuCard, "define", {"model_type": "deep_neural_network"})
    spec = runner.load("define", "model_spec")
    assert spec == {
        "model_type": "deep_neural_network",
        "task": "auto",
        "hidden_layers": [64, 32],
        "activation": "relu",
        "dropout": 0.2,
        "learning_rate": 0.001,
        "epochs": 50,
        "batch_size": 32,
    }
    assert preview["architecture"] == {"hidden_layers": [64, 32], "activation": "relu", "dropout": 0.2}
    assert preview["training"] == {"learning_rate": 0.001, "epochs": 50, "batch_size": 32}


def _plain_loop(
    x: np.ndarray, y: np.ndarray, seed: int, epochs: int, lr: float, batch: int
) -> tuple[list[float], object]:
    """The same training written as a plain script (no tensorrag code): z-score, Adam, shuffled batches."""
    nn = torch.nn
    xm, xs = x.mean(0), x.std(0)
    ym, ys = y.mean(), y.std()
    xt = torch.from_numpy(((x - xm) / xs).astype(np.float32))
    yt = torch.from_numpy(((y - ym) / ys).astype(np.float32))
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(x.shape[1], 64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(32, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for start in range(0, len(xt), batch):
            idx = perm[start : start + batch]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xt[idx]).squeeze(-1), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(xt))
    net.eval()
    with torch.no_grad():
        pred = net(xt).squeeze(-1).numpy() * ys + ym
    return history, pred


def test_train_gpu_gives_the_loss_and_predictions_of_a_plain_torch_loop(runner: Runner) -> None:
    data(runner)
    train(runner, {**S2_SPEC, "epochs": 3}, seed=7)
    metrics = runner.load("train", "train_metrics")
    df = runner.load("split", "train_dataset")
    features = [c for c in df.columns if c != "MEDV"]
    history, pred = _plain_loop(df[features].to_numpy(np.float64), df["MEDV"].to_numpy(np.float64), 7, 3, 0.001, 32)
    assert metrics["loss_history"] == pytest.approx(history, rel=1e-4)
    model = runner.load("train", "trained_model")
    assert model.predict(df) == pytest.approx(pred, rel=1e-4, abs=1e-3)
    mse = float(np.mean((pred - df["MEDV"].to_numpy()) ** 2))
    assert metrics["train_mse"] == pytest.approx(mse, rel=1e-4)
    assert metrics["device_used"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert metrics["epochs_trained"] == 3


def test_s2_trains_a_model_evaluate_and_inference_score(runner: Runner) -> None:
    data(runner)
    preview = train(runner, S2_SPEC)
    assert len(preview["loss_history"]) == 10 and preview["epochs_trained"] == 20
    _, report, _ = runner.run(
        EvaluateCard,
        "eval",
        {"target_column": "MEDV", "metrics": ["mse", "r2"]},
        trained_model=("train", "trained_model"),
        test_dataset=("split", "test_dataset"),
    )
    assert report["metrics"]["R2"] >= 0.5
    runner.run(
        InferenceCard, "predict", {}, trained_model=("train", "trained_model"), dataset=("split", "test_dataset")
    )
    predictions = runner.load("predict", "predictions")
    test = runner.load("split", "test_dataset")
    assert len(predictions) == len(test) and "MEDV" not in predictions.columns


def test_classification_by_task_reports_accuracy_and_probabilities(runner: Runner) -> None:
    data(runner, "iris")
    spec = {
        "model_type": "neural_network",
        "task": "classification",
        "hidden_layers": [16, 8],
        "dropout": 0.0,
        "learning_rate": 0.01,
        "epochs": 60,
        "batch_size": 16,
    }
    preview = train(runner, spec, target="target")
    assert preview["task"] == "classification" and preview["metrics"]["train_accuracy"] >= 0.9
    model = runner.load("train", "trained_model")
    test = runner.load("split", "test_dataset")
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(np.asarray(model.predict(test)).tolist()) <= {0, 1, 2}
    assert list(model.classes_) == [0, 1, 2]
    _, report, _ = runner.run(
        EvaluateCard,
        "eval",
        {"target_column": "target", "metrics": ["accuracy", "f1"]},
        trained_model=("train", "trained_model"),
        test_dataset=("split", "test_dataset"),
    )
    assert report["metrics"]["ACCURACY"] >= 0.9


def test_string_labels_train_as_classes(runner: Runner) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")})
    runner.put("src", "train_dataset", frame, "dataframe")
    runner.run(ModelDefineGpuCard, "define", {"model_type": "neural_network", "hidden_layers": [8], "epochs": 30})
    runner.run(
        TrainGpuCard,
        "train",
        {"target_column": "label"},
        train_dataset=("src", "train_dataset"),
        model_spec=("define", "model_spec"),
    )
    model = runner.load("train", "trained_model")
    assert model.task == "classification" and list(model.classes_) == ["no", "yes"]
    assert float(np.mean(model.predict(frame) == frame["label"])) > 0.9


def test_early_stopping_stops_when_the_loss_stops_improving(runner: Runner) -> None:
    data(runner)
    train(runner, {**S2_SPEC, "epochs": 200, "learning_rate": 0.1, "dropout": 0.5}, early_stopping_patience=2)
    metrics = runner.load("train", "train_metrics")
    assert metrics["stopped_early"] is True
    assert metrics["epochs_trained"] < 200 and len(metrics["loss_history"]) == metrics["epochs_trained"]


def test_a_scikit_learn_spec_is_refused_with_the_fix(runner: Runner) -> None:
    data(runner)
    runner.run(ModelDefineCard, "define", {"model_type": "ridge"})
    with pytest.raises(CardConfigError, match=r"Model Define \(GPU\)") as info:
        runner.run(
            TrainGpuCard,
            "train",
            {"target_column": "MEDV"},
            train_dataset=("split", "train_dataset"),
            model_spec=("define", "model_spec"),
        )
    assert info.value.problems[0]["field"] == "model_spec"


def test_a_missing_target_names_the_columns(runner: Runner) -> None:
    data(runner)
    with pytest.raises(CardConfigError, match=r"'MEDVV'.*Did you mean 'MEDV'"):
        train(runner, S2_SPEC, target="MEDVV")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_says_what_to_do(runner: Runner) -> None:
    data(runner)
    with pytest.raises(CardExecutionError, match=r"no CUDA GPU.*device 'auto'"):
        train(runner, {**S2_SPEC, "epochs": 1}, device="cuda")


def test_trained_model_is_a_torch_model_with_feature_columns(runner: Runner) -> None:
    data(runner)
    train(runner, {**S2_SPEC, "epochs": 1})
    model = runner.load("train", "trained_model")
    assert isinstance(model, TorchModel)
    assert model.feature_columns == [c for c in runner.load("split", "test_dataset").columns if c != "MEDV"]
    assert model.n_features_in_ == 13 and model.description["normalization"]["y_std"] > 0
    assert not hasattr(model, "classes_")
