"""The original's status / output / artifact routes answer from storage after a restart (or for another process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from tensorrag.server import create_app
from tests.server.conftest import graph, request_of, serve, setup_project, wait_done
from tests.server.test_auth import token_auth

PID = "workspace__demo"


def answers(c: httpx.Client, pid: str, nodes=("make-1", "total-2"), artifacts=("values", "chart")) -> dict:
    """Everything the original client reads of a finished run: status, each output, the make node's files."""
    out = {"status": c.get(f"/api/pipeline/{pid}/status").json()}
    for nid in nodes:
        out[nid] = c.get(f"/api/card/{pid}/{nid}/output").json()
    for key in artifacts:
        r = c.get(f"/api/artifacts/{pid}/make-1/{key}")
        assert r.status_code == 200, r.text
        out[key] = (r.content, r.headers["content-type"], r.headers["content-disposition"])
    return out


def test_status_output_and_artifacts_are_the_same_after_a_restart(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        doc = setup_project(c)
        run_id = c.post("/api/pipeline/execute", json=request_of(doc, PID)).json()["run_id"]
        assert wait_done(c, PID)["status"] == "completed"
        before = answers(c, PID)
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:  # a new process's app
        after = answers(c, PID)
    assert after == before
    assert after["status"]["run_id"] == run_id and after["status"]["status"] == "completed"
    assert after["make-1"]["preview"]["rows"] == [[0], [1], [2]]
    assert after["total-2"]["output_type"] == "metrics"


def test_a_pipeline_id_without_runs_is_still_404_after_a_restart(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        doc = setup_project(c)
        c.post("/api/pipeline/execute", json=request_of(doc, PID)).raise_for_status()
        wait_done(c, PID)
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        for path in ("/api/pipeline/nothing/status", "/api/card/nothing/make-1/output",
                     "/api/artifacts/nothing/make-1/chart", "/api/pipeline/workspace__nope/status"):
            r = c.get(path)
            assert r.status_code == 404, (path, r.text)
            detail = r.json()["detail"]
            assert detail["type"] == "RunNotFound" and "Pipeline not found" in detail["message"]
            assert "/api/v2/projects/" in detail["message"]
        r = c.get(f"/api/card/{PID}/nope/output")  # the run is found; the node is not
        assert r.status_code == 404 and "make-1" in r.json()["detail"]["message"]
        r = c.get(f"/api/artifacts/{PID}/make-1/nope")
        assert r.status_code == 404 and "chart" in r.json()["detail"]["message"]


def test_two_pipeline_ids_of_one_project_do_not_see_each_others_runs(tmp_path):
    store = tmp_path / "store"
    ids = {}
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        setup_project(c, "default")  # where ids that name no project run
        for pid, n in (("alpha", 2), ("beta", 4)):
            started = c.post("/api/pipeline/execute", json=request_of(graph(n=n), pid)).json()
            assert started["project_name"] == "default"
            ids[pid] = started["run_id"]
            wait_done(c, pid)
        c.post("/api/pipeline/execute", json=request_of(graph(n=1), "alpha-2")).raise_for_status()
        wait_done(c, "alpha-2")  # the newest run of the project is neither alpha's nor beta's
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        for pid, n in (("alpha", 2), ("beta", 4)):
            assert c.get(f"/api/pipeline/{pid}/status").json()["run_id"] == ids[pid]
            rows = c.get(f"/api/card/{pid}/make-1/output").json()["preview"]["rows"]
            assert rows == [[v] for v in range(n)]
        assert c.get("/api/pipeline/workspace__default/status").status_code == 404  # runs of other ids only


def test_runs_of_v2_and_of_the_forks_execute_are_found_after_a_restart(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        setup_project(c)
        setup_project(c, "other")
        fork = c.post("/api/workspace/projects/demo/execute").json()
        wait_done(c, fork["pipeline_id"])
        own = c.post("/api/v2/projects/demo/runs", json={"pipeline_id": "mine"}).json()
        wait_done(c, "mine")
        default = c.post("/api/v2/projects/demo/runs").json()
        wait_done(c, PID)
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        c.post("/api/workspace/projects/other/activate").raise_for_status()  # the fork's id still names demo
        assert c.get(f"/api/pipeline/{fork['pipeline_id']}/status").json()["run_id"] == fork["run_id"]
        assert c.get(f"/api/pipeline/{PID}/status").json()["run_id"] == default["run_id"]
        c.post("/api/workspace/projects/demo/activate").raise_for_status()  # "mine" names no project
        assert c.get("/api/pipeline/mine/status").json()["run_id"] == own["run_id"]


def test_a_failed_node_after_a_restart_is_400_as_before(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        setup_project(c)
        c.post("/api/pipeline/execute", json=request_of(graph(fail=True), PID)).raise_for_status()
        wait_done(c, PID)
        before = c.get(f"/api/card/{PID}/total-2/output")
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        status = c.get(f"/api/pipeline/{PID}/status").json()
        assert status["status"] == "failed"
        assert status["node_statuses"]["total-2"]["error"] == "ValueError: asked to fail"
        after = c.get(f"/api/card/{PID}/total-2/output")
    assert after.status_code == before.status_code == 400
    assert after.json() == before.json()
    assert "asked to fail" in after.json()["detail"]["message"]


def test_a_second_server_on_the_same_storage_sees_each_new_run(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url_a, serve(create_app(store)) as url_b, \
            httpx.Client(base_url=url_a, timeout=60) as a, httpx.Client(base_url=url_b, timeout=60) as b:
        setup_project(a)
        for n in (2, 5):
            run_id = a.post("/api/pipeline/execute", json=request_of(graph(n=n), PID)).json()["run_id"]
            wait_done(a, PID)
            assert b.get(f"/api/pipeline/{PID}/status").json()["run_id"] == run_id
            assert len(b.get(f"/api/card/{PID}/make-1/output").json()["preview"]["rows"]) == n


KILLED = """\
import json, sys
import tensorrag as tr
from tensorrag.run import run_pipeline
project = tr.Workspace(sys.argv[1]).project("demo")
p = tr.Pipeline.from_dict(json.loads(sys.argv[2]), name="workspace__demo", project=project)
run = run_pipeline(p, wait=False, echo=False, progress=False, save_pipeline=False)
print(run.run_id, flush=True)
run.wait()
"""


def test_a_run_whose_process_was_killed_reads_interrupted(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        setup_project(c)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(store), json.dumps(graph(sleep=120))],
                            stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        assert run_id, "the run did not start"
        with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
            assert c.get(f"/api/pipeline/{PID}/status").json()["status"] == "running"  # its process is alive
            proc.kill()
            proc.wait(30)
            deadline = time.monotonic() + 30  # a hang bound
            while (body := c.get(f"/api/pipeline/{PID}/status").json())["status"] == "running":
                assert time.monotonic() < deadline, body
                time.sleep(0.05)
            assert body["status"] == "interrupted" and body["run_id"] == run_id
            r = c.get(f"/api/card/{PID}/make-1/output")
            assert r.status_code == 400 and "has not completed successfully" in r.json()["detail"]["message"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_users_stay_isolated_after_a_restart(tmp_path):
    alice_h, bob_h = {"Authorization": "Bearer token-alice"}, {"Authorization": "Bearer token-bob"}
    with serve(create_app(tmp_path, auth=token_auth)) as url, \
            httpx.Client(base_url=url, headers=alice_h, timeout=60) as alice:
        doc = setup_project(alice)
        run_id = alice.post("/api/pipeline/execute", json=request_of(doc, PID)).json()["run_id"]
        wait_done(alice, PID)
    with serve(create_app(tmp_path, auth=token_auth)) as url, \
            httpx.Client(base_url=url, headers=alice_h, timeout=60) as alice, \
            httpx.Client(base_url=url, headers=bob_h, timeout=60) as bob:
        assert alice.get(f"/api/pipeline/{PID}/status").json()["run_id"] == run_id
        for path in (f"/api/pipeline/{PID}/status", f"/api/card/{PID}/make-1/output",
                     f"/api/artifacts/{PID}/make-1/chart"):
            assert bob.get(path).status_code == 404, path
        setup_project(bob)  # bob's own demo project: still none of alice's runs
        assert bob.get(f"/api/pipeline/{PID}/status").status_code == 404


def test_a_stored_run_removed_after_it_was_found_is_no_longer_answered(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        doc = setup_project(c)
        first = c.post("/api/pipeline/execute", json=request_of(doc, PID)).json()["run_id"]
        wait_done(c, PID)
        second = c.post("/api/pipeline/execute", json=request_of(graph(n=5), PID)).json()["run_id"]
        wait_done(c, PID)
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert c.get(f"/api/pipeline/{PID}/status").json()["run_id"] == second
        runs = next(store.glob("*/workspace/demo/runs"))
        (runs / f"{second}.json").unlink()
        assert c.get(f"/api/pipeline/{PID}/status").json()["run_id"] == first
        (runs / f"{first}.json").unlink()
        assert c.get(f"/api/pipeline/{PID}/status").status_code == 404
