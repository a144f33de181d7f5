"""Scenarios S2-S4 of the original (its torch pipelines) end to end, from the scripts in examples/."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tensorrag.registry import card_registry
from tests.cards.torch.conftest import example

if TYPE_CHECKING:
    from pathlib import Path

torch = pytest.importorskip("torch")
needs_scale = pytest.mark.skipif(
    "scale" not in card_registry, reason="the 'scale' card comes with the data cards (issue 12, data half)"
)


def _s2(tmp_path: Path, device: str = "auto") -> None:
    run = example("s2_gpu_mlp")["build"](device=device).run(storage=tmp_path / "store")
    assert run.ok, run.status
    assert run.output("evaluate", "eval_report")["R2"] >= 0.5
    assert len(run.output("predict")) == len(run.output("split", "test_dataset"))
    metrics = run.output("train", "train_metrics")
    assert metrics["device_used"] == ("cuda" if device == "cuda" else metrics["device_used"])
    progress = [e for e in run.events if e["type"] == "progress" and e["node_id"] == "train"]
    assert [e["current"] for e in progress][-1] == 20 and progress[-1]["total"] == 20


def test_s2_gpu_mlp_on_boston_housing(tmp_path: Path) -> None:
    _s2(tmp_path)


def test_s3_step_by_step_chain_then_training_loop(tmp_path: Path) -> None:
    run = example("s3_step_by_step")["build"]().run(storage=tmp_path / "store")
    assert run.ok, run.status
    metrics = run.output("loop", "train_metrics")
    assert metrics["loss_after"] < 0.5 * metrics["loss_before"]
    assert run.output("step", "step_info")["status"] == "Parameters updated"
    assert run.output("evaluate", "eval_report")["R2"] > 0.5


def test_s3_on_the_process_executor_trains_the_same_through_its_state_artifacts() -> None:
    """Each step in another process: the .trstate bytes carry weights, Adam's moments and the batch."""
    import uuid

    build = example("s3_step_by_step")["build"]
    local = build(epochs=1).run(storage=f"memory://s3-local-{uuid.uuid4().hex}", echo=False)
    process = build(epochs=1).run(
        executor="process", storage=f"memory://s3-process-{uuid.uuid4().hex}", echo=False, max_workers=2
    )
    assert local.ok and process.ok, (local.status, process.status)
    assert process.outputs("step")["model"]["ext"] == "trstate"
    assert process.output("loop", "train_metrics")["loss_after"] == pytest.approx(
        local.output("loop", "train_metrics")["loss_after"], rel=1e-6
    )


def _s4(scale: bool, storage: Path, **run_options: object) -> dict[str, float]:
    run = example("s4_torch_classifier")["build"](scale=scale).run(storage=storage, **run_options)
    assert run.ok, run.status
    report = run.output("evaluate", "eval_report")
    assert report["ACCURACY"] >= 0.9
    assert run.output("evaluate", "eval_chart")[:8] == b"\x89PNG\r\n\x1a\n"
    return {k: v for k, v in report.items() if isinstance(v, float)}  # also a nested report and matrix


def test_s4_torch_classifier_on_iris_without_scale(tmp_path: Path) -> None:
    _s4(scale=False, storage=tmp_path / "store")


@needs_scale
def test_s4_torch_classifier_on_iris(tmp_path: Path) -> None:
    _s4(scale=True, storage=tmp_path / "store")


def test_s4_gives_the_same_metrics_on_the_process_executor(tmp_path: Path) -> None:
    scale = "scale" in card_registry
    local = _s4(scale=scale, storage=tmp_path / "local")
    process = _s4(scale=scale, storage=tmp_path / "process", executor="process", max_workers=2)
    assert process == pytest.approx(local, rel=1e-6)


@pytest.mark.gpu
def test_s2_on_cuda(tmp_path: Path) -> None:
    _s2(tmp_path, device="cuda")


@pytest.mark.gpu
def test_s4_on_cuda_matches_the_accuracy_bar(tmp_path: Path) -> None:
    run = example("s4_torch_classifier")["build"](scale="scale" in card_registry).run(storage=tmp_path / "store")
    assert run.ok, run.status
    assert run.output("train", "train_metrics")["device_used"] == "cuda"
    assert run.output("evaluate", "eval_report")["ACCURACY"] >= 0.9
