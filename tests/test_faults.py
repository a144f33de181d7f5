"""Faults on the process executor: each run ends terminal, with a typed error and a manifest, leaves no
corrupt or half-written file, and a re-run reuses every artifact that was completed.

Faults: a card raises, a node times out, the run is cancelled, a worker is SIGKILLed, and the
orchestrator itself is SIGKILLed (then the run is listed as ``interrupted``, its worker is gone,
nothing is committed afterwards, and the re-run serves the completed node from the cache).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tensorrag as tr
from tensorrag.cli import main as cli
from tensorrag.executors.engine import TERMINAL
from tensorrag.executors.process import ProcessExecutor
from tests.executors import cards as C

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]


def assert_intact(root: Path) -> None:
    """No temp file left behind and every JSON file parses."""
    for path in root.rglob("*"):
        assert not path.name.startswith(".tmp-"), f"half-written file left: {path}"
        if path.is_file() and path.suffix == ".json":
            json.loads(path.read_text())


def entries(root: Path) -> list[dict]:
    """Every committed cache entry under ``root`` (an abandoned attempt's mark takes its ``_meta.json`` name)."""
    found = (json.loads(p.read_text()) for p in root.rglob("_meta.json"))
    return [e for e in found if not e.get("abandoned")]


@pytest.fixture(scope="module")
def executor():
    ex = ProcessExecutor(max_workers=2)
    yield ex
    ex.shutdown()


def _pipeline(name: str, fault: str) -> tr.Pipeline:
    p = tr.Pipeline(name)
    p.add(C.t_source, id="a")
    p.add(C.t_source, id="other", n=5)
    if fault == "raise":
        p.add(C.t_fail, id="bad", message="card says no")
        p.connect("a", "output", "bad", "data")
    elif fault == "crash":
        p.add(C.t_crash, id="bad")
        p.connect("a", "output", "bad", "x")
    else:  # timeout / cancel: a node that would run far longer than the test
        p.add(C.t_sleep_after, id="bad", seconds=60, resources={"timeout": 1.0} if fault == "timeout" else None)
        p.connect("a", "output", "bad", "data")
    p.add(C.t_double, id="after")
    p.connect("bad", "output", "after", "data")
    return p


@pytest.mark.parametrize(
    ("fault", "error_type", "state"),
    [
        ("raise", "ValueError", "failed"),
        ("timeout", "TaskTimeoutError", "failed"),
        ("cancel", "TaskCancelledError", "cancelled"),
        ("crash", "WorkerCrashedError", "failed"),
    ],
)
def test_fault_ends_terminal_with_a_manifest_and_a_rerun_reuses_completed_work(
    tmp_path, executor, fault, error_type, state
):
    p = _pipeline(f"fault-{fault}", fault)
    if fault == "cancel":
        run = p.run(executor=executor, storage=tmp_path, wait=False)
        deadline = time.monotonic() + 30
        while run.status["bad"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the worker is inside the card now
        run.cancel().wait(30)
    else:
        run = p.run(executor=executor, storage=tmp_path)
    assert run.done and run.state == state
    assert all(s in TERMINAL for s in run.status.values()), run.status
    assert run.status["a"] == "completed" and run.status["bad"] == "failed"
    assert run.status["after"] == "skipped"
    assert run.error("bad")["type"] == error_type, run.error("bad")
    manifest = run.store.read_run(run.run_id)
    assert manifest["status"] == state
    assert {n: r["status"] for n, r in manifest["nodes"].items()} == run.status
    assert not any(e["node_id"] == "bad" for e in entries(tmp_path))  # abandoned work never commits
    assert_intact(tmp_path)
    completed = [n for n, s in run.status.items() if s == "completed"]
    again = p.run(executor=executor, storage=tmp_path, targets=completed)
    assert again.status == dict.fromkeys(completed, "cached")


ORCHESTRATOR = '''\
import json
import os
import sys
import time

import tensorrag as tr

ROOT, MARKS, SECONDS = sys.argv[1], sys.argv[2], float(sys.argv[3])


@tr.card(category="data")
def quick(n: int = 3) -> dict:
    return {"values": list(range(n))}


@tr.card(category="data")
def slow(data: dict, seconds: float = 1.0, marks: str = "") -> dict:
    with open(marks, "a") as f:
        f.write(f"{os.getpid()} {time.time()}\\n")
    time.sleep(seconds)
    return dict(data)


proj = tr.Workspace(ROOT, user="u").project("faults", create=True)
p = proj.pipeline()
p.add(quick, id="quick")
p.add(slow, id="slow", seconds=SECONDS, marks=MARKS)
p.connect("quick", "output", "slow", "data")
run = p.run(executor="process", max_workers=1)
print(json.dumps(run.status))
'''


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def test_orchestrator_sigkill_then_rerun(tmp_path, capsys):
    script = tmp_path / "orchestrator.py"
    script.write_text(ORCHESTRATOR)
    store, marks = tmp_path / "store", tmp_path / "marks.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    seconds = 4.0
    proc = subprocess.Popen([sys.executable, str(script), str(store), str(marks), str(seconds)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (marks.exists() and marks.read_text().endswith("\n")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the orchestrator ended before the slow node started"
            time.sleep(0.05)
        pid_text, started = marks.read_text().split()
        worker = int(pid_text)
        runs = store / "u" / "workspace" / "faults" / "runs"
        while time.monotonic() < deadline:  # the manifest follows the run: wait until it shows quick done, slow running
            written = [json.loads(f.read_text()) for f in runs.glob("*.json")]
            nodes = written[0]["nodes"] if written else {}
            if nodes and (nodes["quick"]["status"], nodes["slow"]["status"]) == ("completed", "running"):
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    deadline = time.monotonic() + 10
    while not _dead(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(worker), f"worker {worker} outlived its SIGKILLed orchestrator"
    # had the worker lived on, it would have committed by now
    time.sleep(max(0.0, float(started) + seconds + 1.0 - time.time()))
    assert [e["node_id"] for e in entries(store)] == ["quick"]
    assert_intact(store)

    proj = tr.Workspace(store, user="u").project("faults")
    [killed] = proj.runs()
    assert killed["status"] == "interrupted" and "is gone" in killed["reason"], killed
    assert killed["nodes"] == {"quick": "completed", "slow": "running"}
    assert proj.run(killed["run_id"])["status"] == "interrupted"

    rerun = subprocess.run(
        [sys.executable, str(script), str(store), str(marks), str(seconds)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert json.loads(rerun.stdout.strip().splitlines()[-1]) == {"quick": "cached", "slow": "completed"}
    latest, earlier = proj.runs()
    assert (latest["status"], earlier["status"]) == ("completed", "interrupted")

    capsys.readouterr()
    assert cli(["runs", "faults", "--storage", str(store), "--user", "u"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith(killed["run_id"]))
    assert "interrupted" in line and "is gone" in line


def test_a_running_manifest_exists_from_the_start(tmp_path, executor):
    p = tr.Pipeline("from-start")
    p.add(C.t_sleep, id="nap", seconds=30)
    run = p.run(executor=executor, storage=tmp_path, wait=False)
    try:
        manifest = run.store.read_run(run.run_id)
        assert manifest["status"] == "running"
        assert manifest["owner"]["pid"] == os.getpid() and manifest["owner"]["host"]
        assert manifest["heartbeat_at"]
        [listed] = tr.Workspace(tmp_path).project("from-start").runs()
        assert listed["status"] == "running"  # its owner (this process) is alive
    finally:
        run.cancel().wait(30)
    assert run.store.read_run(run.run_id)["status"] == "cancelled"


