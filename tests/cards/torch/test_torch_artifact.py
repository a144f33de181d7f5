"""Torch models as artifacts: safetensors + JSON in a .trtorch zip, read back with no unpickling."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import tensorrag as tr
from tensorrag.cards.torch.artifact import TorchModel, read_model
from tensorrag.storage.codecs import decode, encode
from tests.cards.torch.helpers import S2_SPEC, data, train

if TYPE_CHECKING:
    from tests.cards.runner import Runner

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[3]


def _model(runner: Runner, **config: object) -> TorchModel:
    data(runner)
    train(runner, {**S2_SPEC, "epochs": 2}, **config)
    model: TorchModel = runner.load("train", "trained_model")
    return model


def test_the_artifact_is_safetensors_plus_a_json_description(runner: Runner) -> None:
    from safetensors.torch import load

    model = _model(runner)
    blob, ext = encode("model", model)
    assert ext == "trtorch"
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert sorted(zf.namelist()) == ["model.json", "model.safetensors"]
        description = json.loads(zf.read("model.json"))
        weights = load(zf.read("model.safetensors"))
    assert description["format"] == "tensorrag.torch" and description["kind"] == "mlp"
    assert description["architecture"] == {
        "input_size": 13,
        "hidden_layers": [64, 32],
        "activation": "relu",
        "dropout": 0.2,
        "output_size": 1,
    }
    assert description["task"] == "regression" and description["target_column"] == "MEDV"
    assert len(description["feature_columns"]) == 13 and len(description["normalization"]["x_mean"]) == 13
    assert set(weights) == {f"param.{k}" for k in model.module.state_dict()}
    assert all(t.device.type == "cpu" for t in weights.values())
    test = runner.load("split", "test_dataset")
    back = decode("model", blob, ext)
    assert back.predict(test) == pytest.approx(model.predict(test), rel=1e-6)
    assert encode("model", back)[0] == blob  # deterministic bytes: the same weights, the same sha256


def test_reading_a_model_never_unpickles(runner: Runner, tmp_path: Path) -> None:
    """A fresh process with pickle and joblib disabled still loads and scores the stored model."""
    model = _model(runner)
    store = tr.storage.open_store(tmp_path / "store")
    ref = store.put("key", "trained_model", model, "model", "trtorch")
    assert ref["uri"].endswith(".trtorch") and ref["ext"] == "trtorch"
    runner.load("split", "test_dataset").to_parquet(tmp_path / "test.parquet")
    script = f"""
import pickle, sys
import pandas, torch, safetensors.torch  # import first: they define pickle subclasses at import
def refuse(*args, **kwargs):
    raise AssertionError("something unpickled")
pickle.loads = pickle.load = pickle.Unpickler = pickle._Unpickler = refuse
sys.modules["joblib"] = None
import tensorrag as tr
store = tr.storage.open_store({str(tmp_path / "store")!r})
model = store.get({ref!r})
pred = model.predict(pandas.read_parquet({str(tmp_path / "test.parquet")!r}))
print(type(model).__name__, len(pred), float(pred[0]))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    name, rows, first = out.stdout.split()
    test = runner.load("split", "test_dataset")
    assert (name, int(rows)) == ("TorchModel", len(test))
    assert float(first) == pytest.approx(float(model.predict(test)[0]), rel=1e-6)


def test_a_pipeline_on_local_disk_stores_trtorch_files(tmp_path: Path) -> None:
    from tests.cards.torch.conftest import example

    p = example("s2_gpu_mlp")["build"](epochs=2)
    run = p.run(storage=tmp_path / "store")
    assert run.ok, run.status
    uri = run.outputs("train")["trained_model"]["uri"]
    assert uri.endswith("trained_model.trtorch")
    assert not list((tmp_path / "store").rglob("*.joblib"))
    fresh = tr.storage.open_store(tmp_path / "store").get(run.outputs("train")["trained_model"])
    assert isinstance(fresh, TorchModel) and fresh.n_features_in_ == 13
    png = run.output("train", "loss_curve")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_newer_format_version_is_refused_with_the_fix(runner: Runner) -> None:
    model = _model(runner)
    model.description["version"] = 99
    with pytest.raises(ValueError, match=r"newer tensorrag.*upgrade"):
        read_model(encode("model", model)[0])


def test_bytes_that_are_not_a_model_are_a_storage_error() -> None:
    with pytest.raises(tr.StorageError, match=r"\.trtorch model artifact.*not a zip"):
        decode("model", b"garbage", "trtorch")


@pytest.mark.gpu
def test_weights_trained_on_cuda_load_on_cpu(runner: Runner) -> None:
    model = _model(runner, device="cuda")
    assert next(model.module.parameters()).device.type == "cuda"
    back = decode("model", encode("model", model)[0], "trtorch")
    assert next(back.module.parameters()).device.type == "cpu"
    test = runner.load("split", "test_dataset")
    assert np.allclose(back.predict(test), model.predict(test), rtol=1e-4, atol=1e-3)
