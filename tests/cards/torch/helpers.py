"""Pipelines of the torch tests, run node by node with the shared card runner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.data.load import DataLoadCard
from tensorrag.cards.data.split import DataSplitCard
from tensorrag.cards.torch.define import ModelDefineGpuCard
from tensorrag.cards.torch.train import TrainGpuCard

if TYPE_CHECKING:
    from tests.cards.runner import Runner

S2_SPEC = {
    "model_type": "deep_neural_network",
    "hidden_layers": [64, 32],
    "activation": "relu",
    "dropout": 0.2,
    "learning_rate": 0.001,
    "epochs": 20,
    "batch_size": 32,
}


def data(runner: Runner, sample: str = "boston_housing") -> None:
    """``load`` + ``split`` nodes of a sample (iris stratified)."""
    runner.run(DataLoadCard, "load", {"source": "sample", "sample_name": sample})
    stratify = "target" if sample == "iris" else ""
    runner.run(DataSplitCard, "split", {"random_seed": 42, "stratify_column": stratify}, dataset=("load", "dataset"))


def train(runner: Runner, spec: dict[str, Any], target: str = "MEDV", **config: Any) -> dict[str, Any]:
    """``define`` + ``train`` nodes; returns the train preview."""
    runner.run(ModelDefineGpuCard, "define", spec)
    _, preview, _ = runner.run(
        TrainGpuCard,
        "train",
        {"target_column": target, **config},
        train_dataset=("split", "train_dataset"),
        model_spec=("define", "model_spec"),
    )
    return preview
