"""torch_module: your own nn.Module (source + build(config)) trained by train_gpu, stored without pickle."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tensorrag.cards.ml.evaluate import EvaluateCard
from tensorrag.cards.torch.module import EXAMPLE_SOURCE, TorchModuleCard
from tensorrag.cards.torch.train import TrainGpuCard
from tensorrag.errors import CardConfigError
from tensorrag.storage.codecs import decode, encode
from tests.cards.torch.helpers import data

if TYPE_CHECKING:
    from tests.cards.runner import Runner

pytest.importorskip("torch")

WIDE = EXAMPLE_SOURCE.replace("class Net", "class WideNet").replace("return Net(", "return WideNet(")


def _train(runner: Runner, source: str, **config: object) -> None:
    data(runner)
    runner.run(
        TorchModuleCard,
        "module",
        {"source": source, "module_config": {"hidden": 48}, "epochs": 15, "learning_rate": 0.003, **config},
    )
    runner.run(
        TrainGpuCard,
        "train",
        {"target_column": "MEDV"},
        train_dataset=("split", "train_dataset"),
        model_spec=("module", "model_spec"),
    )


def test_train_gpu_trains_a_project_module_that_evaluate_scores(runner: Runner) -> None:
    _train(runner, WIDE)
    model = runner.load("train", "trained_model")
    assert type(model.module).__name__ == "WideNet" and model.module.layers[0].out_features == 48
    _, report, _ = runner.run(
        EvaluateCard,
        "eval",
        {"target_column": "MEDV"},
        trained_model=("train", "trained_model"),
        test_dataset=("split", "test_dataset"),
    )
    assert report["metrics"]["R2"] > 0.5


def test_the_module_artifact_rebuilds_from_its_stored_source(runner: Runner) -> None:
    _train(runner, WIDE, epochs=1)
    model = runner.load("train", "trained_model")
    blob, ext = encode("model", model)
    assert ext == "trtorch" and model.description["kind"] == "torch_module"
    back = decode("model", blob, ext)  # no importable WideNet anywhere: rebuilt from the description
    test = runner.load("split", "test_dataset")
    assert back.predict(test) == pytest.approx(model.predict(test), rel=1e-6)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def build(config):\n    return None\n", "must define the nn.Module subclass"),
        ("import torch.nn as nn\nclass Net(nn.Module):\n    pass\n", r"function build\(config\)"),
        ("def build(config:\n", r"syntax error at net\.py:1"),
    ],
)
def test_bad_sources_are_refused_before_training(runner: Runner, source: str, message: str) -> None:
    with pytest.raises(CardConfigError, match=message) as info:
        runner.run(TorchModuleCard, "module", {"source": source, "filename": "net.py"})
    assert info.value.problems[0]["field"] == "source"


def test_build_returning_something_else_fails_with_the_file_name(runner: Runner) -> None:
    source = "class Net:\n    pass\n\ndef build(config):\n    return Net()\n"
    with pytest.raises(
        CardConfigError,
        match=r"could not build the network: build\(config\) in torch_module.py returned a Net, not a torch.nn.Module",
    ):
        _train(runner, source)
