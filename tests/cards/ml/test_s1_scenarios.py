"""Scenario S1 end to end on the local executor: diabetes regression and iris with a random forest.

Every metric is checked against scikit-learn computed here, independently, on the same split with
the same seed. The example script and notebook under examples/ run as written.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "s1_iris_random_forest.py"


def _example():
    spec = importlib.util.spec_from_file_location("s1_iris_random_forest", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _iris_split():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    df = load_iris(as_frame=True).frame
    return df, *train_test_split(df, test_size=0.2, random_state=42, stratify=df["target"])


def test_s1_iris_random_forest(tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    run = _example().build().run(executor="local", storage=str(tmp_path)).raise_for_status()
    report = run.output("evaluate", "eval_report")

    df, train, test = _iris_split()
    x, y = test.drop(columns="target"), test["target"]
    forest = RandomForestClassifier(n_estimators=100, random_state=42).fit(
        train.drop(columns="target"), train["target"]
    )
    pred = forest.predict(x)
    assert report["ACCURACY"] >= 0.9
    assert report["ACCURACY"] == accuracy_score(y, pred)
    assert report["F1"] == f1_score(y, pred, average="macro")
    assert report["ROC_AUC"] == roc_auc_score(y, forest.predict_proba(x), multi_class="ovr")
    assert report["confusion_matrix"]["matrix"] == confusion_matrix(y, pred).tolist()

    png = run.output("evaluate", "eval_chart")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and run.outputs("evaluate")["eval_chart"]["ext"] == "png"
    assert run.output("confusion", "eval_chart").startswith(b"\x89PNG")
    assert run.output("confusion", "metrics")["accuracy"] == report["ACCURACY"]

    cv = run.output("cv", "cv_scores")
    expected = cross_val_score(
        RandomForestClassifier(random_state=42),
        df.drop(columns="target"),
        df["target"],
        cv=StratifiedKFold(5, shuffle=True, random_state=42),
    )
    np.testing.assert_allclose(cv["scores"], expected)
    ranked = run.output("importance", "importances")["importances"]
    assert next(iter(ranked)) == x.columns[int(np.argmax(forest.feature_importances_))]

    again = _example().build().run(executor="local", storage=str(tmp_path))
    assert set(again.status.values()) == {"cached"}  # seeded everywhere: a re-run is served from the cache


def test_s1_diabetes_regression(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    from tensorrag.demo import build

    run = build().run(executor="local", storage=str(tmp_path)).raise_for_status()
    report = run.output("evaluate", "eval_report")
    df = load_diabetes(as_frame=True).frame
    train, test = train_test_split(df, test_size=0.2, random_state=42)
    ridge = Ridge(alpha=0.5).fit(train.drop(columns="target"), train["target"])
    pred = ridge.predict(test.drop(columns="target"))
    assert report["R2"] == pytest.approx(r2_score(test["target"], pred), rel=1e-12)
    assert report["MSE"] == pytest.approx(mean_squared_error(test["target"], pred), rel=1e-12)
    assert len(run.output("inference", "predictions")) == len(test)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORRAG_", "STORAGE_DIR", "S3_"))}
    env.update(TENSORRAG_STORAGE=str(tmp_path / "storage"), TENSORRAG_PROGRESS="off", PYTHONPATH=str(ROOT))
    return env


def test_s1_example_script_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "cm.png")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    accuracy = re.search(r"^\s+ACCURACY\s+([\d.]+)$", out.stdout, re.MULTILINE)
    assert accuracy and float(accuracy.group(1)) >= 0.9, out.stdout
    assert (tmp_path / "cm.png").read_bytes().startswith(b"\x89PNG")


def test_s1_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "examples" / "s1_iris_random_forest.ipynb", as_version=4)
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)  # the kernel process inherits them
    resources = {"metadata": {"path": str(tmp_path)}}
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", resources=resources).execute()
    texts = [o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any(t.startswith("ACCURACY") for t in texts), texts
    images = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_s1_process_executor_gives_the_same_metrics(tmp_path: Path) -> None:
    local = _example().build().run(executor="local", storage=str(tmp_path / "a")).raise_for_status()
    process = _example().build().run(executor="process", storage=str(tmp_path / "b")).raise_for_status()
    for node, port in (("evaluate", "eval_report"), ("cv", "cv_scores"), ("importance", "importances")):
        assert process.output(node, port) == local.output(node, port)
