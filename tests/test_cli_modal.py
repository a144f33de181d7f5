"""``tensorrag modal deploy`` from a project folder (defect 7): real subprocesses, no token."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("modal")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def deploy(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env["HOME"] = str(tmp_path / "home")  # no ~/.modal.toml either
    env["PYTHONPATH"] = ROOT
    return subprocess.run([sys.executable, "-m", "tensorrag.cli", "modal", "deploy", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False, cwd=tmp_path)


def test_a_module_in_the_project_folder_is_found(tmp_path):
    (tmp_path / "my_cards.py").write_text("X = 1\n")
    proc = deploy(tmp_path, "--app", "tr-test", "--module", "my_cards")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "my_cards" not in proc.stderr and "NotMountable" not in proc.stderr  # found: only the token is missing
    assert "credentials are missing" in proc.stderr and "modal token new" in proc.stderr


def test_a_missing_module_is_named_with_the_fix(tmp_path):
    proc = deploy(tmp_path, "--module", "no_such_cards")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot find module 'no_such_cards'" in proc.stderr and str(tmp_path) in proc.stderr
    assert "modal token new" not in proc.stderr
