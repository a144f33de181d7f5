"""``Project.runs()`` and ``tensorrag runs``: running, interrupted and unreadable manifests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

import tensorrag as tr
from tensorrag.cli import main as cli
from tensorrag.executors import liveness


def _stamp(ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=ago)).isoformat().replace("+00:00", "Z")


def _manifest(run_id: str, owner: dict | None, heartbeat_ago: float = 0.0, status: str = "running") -> dict:
    return {
        "run_id": run_id, "pipeline": "p", "status": status, "started_at": _stamp(heartbeat_ago),
        "finished_at": None, "execution_time": None, "owner": owner, "heartbeat_at": _stamp(heartbeat_ago),
        "nodes": {"a": {"status": "completed"}, "b": {"status": "running"}}, "events": [], "graph": None,
    }


@pytest.fixture
def project(tmp_path) -> tr.Project:
    return tr.Workspace(tmp_path, user="u").create_project("hist")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_liveness_rules(project):
    here = socket.gethostname()
    me = liveness.owner_record()
    cases = {
        "20240101T000001000000Z-alive": (me, 0.0, "running"),
        "20240101T000002000000Z-dead": ({"host": here, "pid": _dead_pid(), "pid_started": None}, 0.0, "interrupted"),
        "20240101T000003000000Z-reused": ({**me, "pid_started": (me["pid_started"] or 0) + 1}, 0.0, "interrupted"),
        "20240101T000004000000Z-away-fresh": ({"host": "elsewhere", "pid": 1}, 10.0, "running"),
        "20240101T000005000000Z-away-stale": ({"host": "elsewhere", "pid": 1}, liveness.STALE_S + 60, "interrupted"),
        "20240101T000006000000Z-no-owner": (None, 10_000.0, "running"),
    }
    if me["pid_started"] is None:  # no /proc: a reused pid cannot be told apart
        cases.pop("20240101T000003000000Z-reused")
    for run_id, (owner, ago, _) in cases.items():
        project.store.write_run(run_id, _manifest(run_id, owner, ago))
    got = {r["run_id"]: r for r in project.runs()}
    assert {rid: got[rid]["status"] for rid in cases} == {rid: want for rid, (_, _, want) in cases.items()}
    assert "is gone" in got["20240101T000002000000Z-dead"]["reason"]
    assert "no heartbeat from elsewhere" in got["20240101T000005000000Z-away-stale"]["reason"]
    assert project.run("20240101T000002000000Z-dead")["status"] == "interrupted"
    finished = _manifest("20240101T000007000000Z-done", {"host": here, "pid": _dead_pid()}, status="completed")
    project.store.write_run(finished["run_id"], finished)
    assert project.run(finished["run_id"])["status"] == "completed"  # only "running" can be interrupted


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON list, not an object"), (b"\xff\xfe", "not valid UTF-8")],
    ids=["corrupt", "not-an-object", "binary"],
)
def test_one_unreadable_manifest_is_listed_not_fatal(project, capsys, content, why):
    good = _manifest("20240101T000001000000Z-good", None, status="completed")
    project.store.write_run(good["run_id"], good)
    project.store.write_bytes("runs/20240101T000002000000Z-bad.json", content)
    runs = project.runs()
    assert [r["run_id"] for r in runs] == ["20240101T000002000000Z-bad", "20240101T000001000000Z-good"]
    bad = runs[0]
    assert bad["status"] == "unreadable" and why in bad["error"]
    assert runs[1]["status"] == "completed"

    root = str(project.workspace.store.url)
    assert cli(["runs", "hist", "--storage", root, "--user", "u"]) == 0
    out, err = capsys.readouterr()
    lines = [ln for ln in out.splitlines() if ln.startswith("20240101T000002000000Z-bad")]
    assert len(lines) == 1 and "unreadable" in lines[0] and why in lines[0]
    assert "Traceback" not in out + err
    assert cli(["runs", "hist", "--json", "--storage", root, "--user", "u"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["status"] == "unreadable" and listed[1]["status"] == "completed"


def test_a_finished_run_records_its_owner(project):
    p = project.pipeline()
    from tests.executors import cards as C

    p.add(C.t_source, id="a")
    run = p.run()
    manifest = project.run(run.run_id)
    assert manifest["status"] == "completed"
    assert manifest["owner"] == {**liveness.owner_record(), "pid": os.getpid()}
    assert manifest["heartbeat_at"] >= manifest["started_at"]
