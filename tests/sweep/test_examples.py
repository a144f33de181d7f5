"""examples/s1_sweep.py and .ipynb run as written: S1 over 12 configs, the table and the best model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORRAG_", "STORAGE_DIR", "S3_"))}
    env.update(TENSORRAG_STORAGE=str(tmp_path / "storage"), TENSORRAG_PROGRESS="off", PYTHONPATH=str(ROOT))
    return env


def test_the_s1_sweep_script_prints_the_table_and_the_best_model(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "s1_sweep.py")], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "12 grid branches" in out.stdout
    assert out.stdout.count("completed") == 12
    assert "best: branch " in out.stdout and "best model: RandomForestClassifier with " in out.stdout


def test_the_s1_sweep_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "examples" / "s1_sweep.ipynb", as_version=4)
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)  # the kernel process inherits them
    resources = {"metadata": {"path": str(ROOT / "examples")}}  # beside the S1 example it imports; storage: tmp_path
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    texts = [o.get("text", "") for o in outputs]
    assert any("best model: RandomForestClassifier" in t for t in texts), texts
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert tables and tables[0].count("completed") == 12  # the results table, one row per branch
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert not list((ROOT / "examples").glob(".tensorrag"))  # nothing written beside the examples
