"""The demo pipeline end to end: `make demo` / `python -m tensorrag.demo`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

NODES = ("load", "split", "define", "train", "evaluate", "inference")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TENSORRAG_USER", "DEFAULT_USER_ID", "TENSORRAG_PROJECT", "STORAGE_DIR", "TENSORRAG_EXECUTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S3_ENABLED", "false")
    monkeypatch.setenv("TENSORRAG_PROGRESS", "off")


def node_lines(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        m = re.fullmatch(r"\s+(\w+)\s+(completed|cached|failed|skipped)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_demo_main_twice(tmp_path, monkeypatch, capsys, clean_env):
    from tensorrag import demo

    monkeypatch.setenv("TENSORRAG_STORAGE", str(tmp_path))
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert node_lines(out) == dict.fromkeys(NODES, "completed")
    metrics = dict(re.findall(r"^\s+(MSE|RMSE|MAE|R2)\s+(-?[\d.]+)$", out, re.M))
    assert set(metrics) == {"MSE", "RMSE", "MAE", "R2"}, out
    assert float(metrics["MSE"]) > 0
    assert 0 < float(metrics["R2"]) < 1  # ridge on diabetes explains some, not all, variance
    assert float(metrics["RMSE"]) == pytest.approx(float(metrics["MSE"]) ** 0.5, rel=1e-3)
    assert re.search(r"Run \S+: completed in [\d.]+ s", out)
    assert "Predictions: 89 rows" in out

    assert demo.main() == 0
    out2 = capsys.readouterr().out
    assert node_lines(out2) == dict.fromkeys(NODES, "cached")
    metrics2 = dict(re.findall(r"^\s+(MSE|RMSE|MAE|R2)\s+(-?[\d.]+)$", out2, re.M))
    assert metrics2 == metrics

    project = tmp_path / "default" / "workspace" / "regression"
    assert (project / "_pipeline.json").is_file()
    charts = list(tmp_path.rglob("eval_chart.png"))
    assert len(charts) == 1
    assert charts[0].read_bytes().startswith(b"\x89PNG")
    assert len(list((project / "runs").glob("*.json"))) == 2


def test_demo_pipeline_is_valid_and_round_trips():
    from tensorrag import Pipeline
    from tensorrag.demo import build

    p = build()
    assert p.validate() is p
    assert list(p.nodes) == ["load", "split", "define", "train", "evaluate", "inference"]
    assert Pipeline.from_dict(p.to_dict()).to_dict() == p.to_dict()


def test_python_m_tensorrag_demo(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TENSORRAG_STORAGE", "STORAGE_DIR", "TENSORRAG_USER", "DEFAULT_USER_ID", "TENSORRAG_PROJECT")
    }
    env["S3_ENABLED"] = "false"
    proc = subprocess.run(
        [sys.executable, "-m", "tensorrag.demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    home = tmp_path / ".tensorrag"
    assert home.is_dir()
    assert (home / "default" / "workspace" / "regression" / "_pipeline.json").is_file()
    last = proc.stdout.strip().splitlines()[-1]
    assert ".tensorrag" in last
    assert str(home.resolve()) in last, last
