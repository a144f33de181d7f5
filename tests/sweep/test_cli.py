"""``tensorrag sweep`` driven through the real command in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import tensorrag as tr
from tests.sweep import cards as C

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tensorrag.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)


def _files(tmp_path: Path, space) -> tuple[str, str]:
    p = tr.Pipeline("cli-sweep")
    p.add(C.source, id="src")
    p.add(C.score, id="fit", fail_above=0.5)
    p.connect("src", "data", "fit", "data")
    p.save(tmp_path / "pipe.json")
    (tmp_path / "space.json").write_text(json.dumps(space))
    return str(tmp_path / "pipe.json"), str(tmp_path / "space.json")


def test_sweep_prints_the_table_and_the_best_branch(tmp_path):
    pipe, space = _files(tmp_path, {"fit.lr": [0.1, 0.3, 0.9]})
    common = ["--module", "tests.sweep.cards", "--storage", str(tmp_path / "store"), "--metric", "fit.report.loss",
              "--mode", "min", "--max-parallel", "2"]
    out = _cli("sweep", pipe, space, *common, "--json", cwd=REPO)
    assert out.returncode == 1, out.stderr  # branch 2 failed
    doc = json.loads(out.stdout)
    assert [r["status"] for r in doc["branches"]] == ["completed", "completed", "failed"]
    assert doc["branches"][2]["error"] == "fit: ValueError: lr 0.9 is above 0.5"
    assert doc["branches"][2]["fit.report.loss"] is None
    assert doc["best"]["branch"] == 1 and doc["best"]["config"] == {"fit.lr": 0.3}
    assert "branch 2 failed: fit: ValueError" in out.stderr
    text = _cli("sweep", pipe, space, *common, cwd=REPO)
    assert "best: branch 1 (fit.lr=0.3): fit.report.loss = 4.0" in text.stdout
    assert "cached" in text.stdout  # the second time, the finished branches come from the cache


def test_bad_input_exits_2_with_the_fix(tmp_path):
    pipe, space = _files(tmp_path, {"fit.lrr": [0.1]})
    out = _cli("sweep", pipe, space, "--module", "tests.sweep.cards", "--storage", str(tmp_path), cwd=REPO)
    assert out.returncode == 2 and "Did you mean 'lr'?" in out.stderr
    (tmp_path / "space.yaml").write_text("fit.lr: [0.1]\n")
    out = _cli("sweep", pipe, str(tmp_path / "space.yaml"), "--storage", str(tmp_path), cwd=REPO)
    assert out.returncode == 2 and "write it as JSON" in out.stderr
