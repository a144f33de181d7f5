"""The step-by-step training cards really train: one training-state artifact, gradients recomputed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tensorrag.cards.torch.define import ModelDefineGpuCard
from tensorrag.cards.torch.loop import TrainingLoopCard
from tensorrag.cards.torch.state import TrainingState, full_loss
from tensorrag.cards.torch.steps import (
    BackwardCard,
    BuildModelCard,
    ForwardCard,
    InitOptimizerCard,
    LossCard,
    OptimizerStepCard,
    PrepareBatchCard,
    ZeroGradCard,
)
from tensorrag.errors import CardConfigError
from tensorrag.storage.codecs import decode, encode
from tests.cards.torch.helpers import S2_SPEC, data, train

if TYPE_CHECKING:
    from tests.cards.runner import Runner


def _setup(runner: Runner, optimizer: str = "adam", **spec: Any) -> None:
    data(runner)
    runner.run(ModelDefineGpuCard, "define", {**S2_SPEC, "epochs": 5, **spec})
    runner.run(BuildModelCard, "build", {"input_size": 13}, model_spec=("define", "model_spec"))
    runner.run(
        InitOptimizerCard, "init", {"optimizer_type": optimizer, "learning_rate": 0.001}, model=("build", "model")
    )


def _pass(
    runner: Runner,
    suffix: str,
    model: tuple[str, str],
    optimizer: tuple[str, str],
    batch_index: int = 0,
    loss_type: str = "mse",
    clip: float = 0.0,
) -> None:
    """One pass of the original wiring: zero, batch, forward, loss, backward, step (nodes named ``*{suffix}``)."""
    runner.run(ZeroGradCard, f"zero{suffix}", {}, optimizer=optimizer)
    runner.run(
        PrepareBatchCard,
        f"batch{suffix}",
        {"batch_index": batch_index, "batch_size": 32, "target_column": "MEDV"},
        train_dataset=("split", "train_dataset"),
    )
    runner.run(ForwardCard, f"forward{suffix}", {}, model=model, batch_data=(f"batch{suffix}", "batch_data"))
    runner.run(
        LossCard,
        f"loss{suffix}",
        {"loss_type": loss_type},
        predictions=(f"forward{suffix}", "predictions"),
        batch_data=(f"batch{suffix}", "batch_data"),
    )
    runner.run(
        BackwardCard, f"backward{suffix}", {}, loss=(f"loss{suffix}", "loss"), model=(f"forward{suffix}", "model")
    )
    runner.run(
        OptimizerStepCard,
        f"step{suffix}",
        {"gradient_clip": clip},
        optimizer=(f"zero{suffix}", "optimizer"),
        model=(f"backward{suffix}", "model"),
    )


def _batch_loss(runner: Runner, state: TrainingState, batch_node: str, loss_type: str = "mse") -> float:
    batch = runner.load(batch_node, "batch_data")
    return full_loss(state, np.asarray(batch["X"]), np.asarray(batch["y"]), loss_type)


@pytest.mark.parametrize(
    ("optimizer", "loss_type", "clip"),
    [("adam", "mse", 0.0), ("sgd", "mae", 0.0), ("rmsprop", "huber", 0.0), ("adam", "mse", 1.0)],
)
def test_one_pass_through_the_chain_lowers_the_loss_on_that_batch(
    runner: Runner, optimizer: str, loss_type: str, clip: float
) -> None:
    _setup(runner, optimizer, dropout=0.0)
    _pass(runner, "", ("init", "model"), ("init", "optimizer"), loss_type=loss_type, clip=clip)
    before = _batch_loss(runner, runner.load("init", "model"), "batch", loss_type)
    after = _batch_loss(runner, runner.load("step", "model"), "batch", loss_type)
    assert after < before
    assert runner.load("loss", "loss_value")["value"] == pytest.approx(before, rel=1e-5)
    grads = runner.load("backward", "gradients_computed")
    assert grads["has_gradients"] and all(v > 0 for v in grads["gradient_norms"].values())
    assert runner.load("step", "step_info")["step"] == 1


def test_inputs_are_never_changed_in_place(runner: Runner) -> None:
    _setup(runner)
    init = runner.load("init", "model")
    weights = {k: v.clone() for k, v in init.module.state_dict().items()}
    _pass(runner, "", ("init", "model"), ("init", "optimizer"))
    assert all((init.module.state_dict()[k] == v).all() for k, v in weights.items())
    assert init.batch is None and init.grads is None and init.info["step"] == 0


def test_chained_passes_over_batches_keep_training(runner: Runner) -> None:
    """The original's multi-batch variant: step.model -> next forward.model, step.optimizer -> next zero."""
    _setup(runner, dropout=0.0)
    _pass(runner, "0", ("init", "model"), ("init", "optimizer"), batch_index=0)
    _pass(runner, "1", ("step0", "model"), ("step0", "optimizer"), batch_index=1)
    _pass(runner, "2", ("step1", "model"), ("step1", "optimizer"), batch_index=2)
    state = runner.load("step2", "model")
    assert state.info["step"] == 3
    assert state.optimizer_state["state"][0]["step"].item() == 3  # Adam's moments carried through every card


def test_the_training_state_round_trips_through_its_bytes_with_the_optimizer(runner: Runner) -> None:
    _setup(runner, dropout=0.0)
    _pass(runner, "", ("init", "model"), ("init", "optimizer"))
    state = runner.load("backward", "model")
    data, ext = encode("model", state, "trstate")
    assert ext == "trstate" and data[:2] == b"PK"
    back = decode("model", data, ext)
    assert isinstance(back, TrainingState) and back.info["step"] == state.info["step"]
    assert set(back.grads) == set(state.grads) and (back.batch["X"] == state.batch["X"]).all()
    stepped = runner.load("step", "model")
    # Apply the step to the decoded state: the same weights as the card's step on the live object.
    from tensorrag.cards.torch.state import apply_step

    again = apply_step(
        back, decode("model", encode("model", runner.load("zero", "optimizer"), "trstate")[0], "trstate"), 0.0
    )
    for key, value in stepped.module.state_dict().items():
        assert again.module.state_dict()[key] == pytest.approx(value, rel=1e-6, abs=1e-7)
    step2 = decode("model", encode("model", stepped, "trstate")[0], "trstate")
    assert step2.optimizer_state["state"][0]["exp_avg"].shape == stepped.optimizer_state["state"][0]["exp_avg"].shape


def test_a_loss_from_another_batch_is_refused(runner: Runner) -> None:
    _setup(runner)
    _pass(runner, "", ("init", "model"), ("init", "optimizer"), batch_index=0)
    runner.run(
        PrepareBatchCard,
        "batch1",
        {"batch_index": 1, "target_column": "MEDV"},
        train_dataset=("split", "train_dataset"),
    )
    runner.run(ForwardCard, "forward1", {}, model=("init", "model"), batch_data=("batch1", "batch_data"))
    with pytest.raises(CardConfigError, match=r"different steps or batches"):
        runner.run(BackwardCard, "bad", {}, loss=("loss", "loss"), model=("forward1", "model"))


def test_optimizer_and_model_from_different_steps_are_refused(runner: Runner) -> None:
    _setup(runner)
    _pass(runner, "0", ("init", "model"), ("init", "optimizer"))
    _pass(runner, "1", ("step0", "model"), ("step0", "optimizer"), batch_index=1)
    with pytest.raises(CardConfigError, match=r"optimizer input is at step 0 but the model at step 1"):
        runner.run(OptimizerStepCard, "bad", {}, optimizer=("init", "optimizer"), model=("backward1", "model"))


def test_step_without_backward_says_what_to_connect(runner: Runner) -> None:
    _setup(runner)
    with pytest.raises(CardConfigError, match=r"no gradients.*Backward Pass"):
        runner.run(OptimizerStepCard, "bad", {}, optimizer=("init", "optimizer"), model=("init", "model"))


def test_forward_refuses_a_train_gpu_model_and_a_wrong_input_size(runner: Runner) -> None:
    data(runner)
    train(runner, {**S2_SPEC, "epochs": 1})
    runner.run(PrepareBatchCard, "batch", {"target_column": "MEDV"}, train_dataset=("split", "train_dataset"))
    with pytest.raises(CardConfigError, match=r"must be a training state"):
        runner.run(ForwardCard, "forward", {}, model=("train", "trained_model"), batch_data=("batch", "batch_data"))
    runner.run(BuildModelCard, "build", {"input_size": 5}, model_spec=("define", "model_spec"))
    with pytest.raises(CardConfigError, match=r"input_size 5; set Build Model's input_size to 13"):
        runner.run(ForwardCard, "forward", {}, model=("build", "model"), batch_data=("batch", "batch_data"))


def test_prepare_batch_past_the_end_names_the_range(runner: Runner) -> None:
    data(runner)
    with pytest.raises(CardConfigError, match=r"indices 0..124"):
        runner.run(
            PrepareBatchCard,
            "batch",
            {"batch_index": 500, "target_column": "MEDV"},
            train_dataset=("split", "train_dataset"),
        )


def test_training_loop_halves_the_loss_and_gives_an_evaluable_model(runner: Runner) -> None:
    from tensorrag.cards.ml.evaluate import EvaluateCard

    _setup(runner)
    _pass(runner, "", ("init", "model"), ("init", "optimizer"))
    _, _preview, _ = runner.run(
        TrainingLoopCard,
        "loop",
        {"epochs": 5, "target_column": "MEDV"},
        model=("step", "model"),
        train_dataset=("split", "train_dataset"),
    )
    metrics = runner.load("loop", "train_metrics")
    assert metrics["loss_after"] < 0.5 * metrics["loss_before"]
    assert metrics["steps"] == 1 + 5 * 125 and len(metrics["loss_history"]) == 5
    _, report, _ = runner.run(
        EvaluateCard,
        "eval",
        {"target_column": "MEDV"},
        trained_model=("loop", "trained_model"),
        test_dataset=("split", "test_dataset"),
    )
    assert report["metrics"]["R2"] > 0.5
