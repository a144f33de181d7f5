"""ProcessExecutor faults that need real processes: scripts without a guard, workers that cannot start.

Every test is bounded: a regression fails by timeout instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tensorrag as tr
from tensorrag.executors.process import ProcessExecutor
from tests.executors import cards as C

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = '''\
import json
import sys

import pandas as pd
import tensorrag as tr

FACTOR = 3


def helper(df):
    return df * FACTOR


class Settings:
    rows = 3


@tr.card(category="data")
def make(rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame({{"a": range(rows)}})


@tr.card(category="data")
def scale(df: pd.DataFrame) -> pd.DataFrame:
    print("scaling")
    return helper(df)


def main():
    p = tr.Pipeline("script")
    p.add(make, id="m", rows=Settings.rows)
    p.add(scale, id="s")
    p.connect("m", "output", "s", "df")
    run = p.run(executor="process", storage=sys.argv[1], max_workers=2)
    print(json.dumps({{"status": run.status, "a": run.output("s")["a"].tolist(), "logs": run.logs("s")}}))


{tail}
'''


def run_script(tmp_path: Path, tail: str) -> dict:
    script = tmp_path / "pipeline_script.py"
    script.write_text(SCRIPT.format(tail=tail))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_script_without_a_main_guard_runs_on_worker_processes(tmp_path):
    out = run_script(tmp_path, "main()")
    assert out["status"] == {"m": "completed", "s": "completed"}
    assert out["a"] == [0, 3, 6]  # helper() and FACTOR travelled with the card
    assert out["logs"] == "scaling\n"


def test_a_script_with_a_main_guard_still_runs(tmp_path):
    out = run_script(tmp_path, 'if __name__ == "__main__":\n    main()')
    assert out["status"] == {"m": "completed", "s": "completed"} and out["a"] == [0, 3, 6]


@pytest.mark.parametrize("interpreter", ["missing", "exits-at-once"])
def test_a_worker_that_cannot_start_fails_the_node_at_once(tmp_path, monkeypatch, interpreter):
    """Before: the driver thread died on the error and the run waited forever for the node."""
    broken = str(tmp_path / "no-such-python") if interpreter == "missing" else shutil.which("false")
    assert broken
    ex = ProcessExecutor(max_workers=1)
    monkeypatch.setattr(sys, "executable", broken)
    p = tr.Pipeline("nostart")
    p.add(C.t_source, id="a")
    t0 = time.monotonic()
    try:
        run = p.run(executor=ex, storage=tmp_path)
    finally:
        monkeypatch.undo()
        ex.shutdown()
    assert time.monotonic() - t0 < 30  # a hang bound, not a timing claim
    assert run.status == {"a": "failed"}
    err = run.error("a")
    if interpreter == "missing":
        assert err["type"] == "ExecutorError" and "no-such-python" in err["message"], err
    else:
        assert err["type"] == "WorkerCrashedError" and "exit code 1" in err["message"], err
    assert run.store.read_run(run.run_id)["status"] == "failed"


def test_workers_never_see_the_parents_stdin_or_write_into_the_wire(tmp_path):
    """A card that reads stdin or writes to fd 1 directly must not corrupt the framed pipe."""
    script = tmp_path / "fd_card.py"
    script.write_text(textwrap.dedent('''\
        import os, sys
        import tensorrag as tr

        @tr.card(category="data")
        def noisy(n: int = 1) -> dict:
            os.write(1, b"raw bytes on fd 1\\n")
            return {"stdin": sys.stdin.read(), "n": n}

        p = tr.Pipeline("fd")
        p.add(noisy, id="x")
        run = p.run(executor="process", storage=sys.argv[1])
        print("RESULT", run.status["x"], repr(run.output("x")["stdin"]))
    '''))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store")],
        capture_output=True, text=True, timeout=60, env=env, input="parent stdin\n",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULT completed ''" in proc.stdout
