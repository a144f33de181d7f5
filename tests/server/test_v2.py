"""``/api/v2``: run list, manifests (the same as ``p.run()``), cancel, resume, problems, history."""

from __future__ import annotations

import time

import httpx

import tensorrag as tr
from tensorrag.server import create_app
from tests.server.conftest import MAKE, TOTAL, graph, serve, setup_project


def wait_run(client, project: str, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout  # a hang bound, not a timing assertion
    while True:
        manifest = client.get(f"/api/v2/projects/{project}/runs/{run_id}").json()
        if manifest["status"] != "running":
            return manifest
        assert time.monotonic() < deadline, manifest
        time.sleep(0.05)


def _comparable(manifest: dict) -> dict:
    nodes = {
        nid: {"status": rec["status"], "card_type": rec["card_type"], "key": rec["key"],
              "output_type": rec["output_type"], "error": rec["error"],
              "outputs": {p: (r["type"], r["sha256"], r["size"]) for p, r in rec["outputs"].items()},
              "extras": {p: (r["type"], r["sha256"]) for p, r in rec["extras"].items()}}
        for nid, rec in manifest["nodes"].items()
    }
    events = [(e["type"], e.get("node_id"), e.get("status"), e.get("text")) for e in manifest["events"]]
    return {"status": manifest["status"], "nodes": nodes, "events": events}


def test_a_run_through_the_api_has_the_manifest_of_p_run(client, tmp_path):
    setup_project(client)
    started = client.post("/api/v2/projects/demo/runs").json()
    assert started["pipeline_id"] == "workspace__demo" and started["project_name"] == "demo"
    via_api = wait_run(client, "demo", started["run_id"])

    project = tr.Workspace(tmp_path / "elsewhere").create_project("demo")
    assert project.write_card("data/make.py", MAKE).success and project.write_card("total.py", TOTAL).success
    p = tr.Pipeline.from_dict(graph(), name="demo", project=project)
    direct = p.run(echo=False, progress=False).manifest()
    assert _comparable(via_api) == _comparable(direct)
    assert set(via_api) == set(direct)
    assert via_api["status"] == "completed"

    runs = client.get("/api/v2/projects/demo/runs").json()
    assert [r["run_id"] for r in runs] == [started["run_id"]]
    assert runs[0]["nodes"] == {"make-1": "completed", "total-2": "completed"}


def test_targets_and_a_given_pipeline(client):
    setup_project(client)
    doc = graph(n=5)
    body = client.post("/api/v2/projects/demo/runs", json={"pipeline": doc, "targets": ["make-1"]}).json()
    manifest = wait_run(client, "demo", body["run_id"])
    assert list(manifest["nodes"]) == ["make-1"]
    r = client.post("/api/v2/projects/demo/runs", json={"targets": ["nope"]})
    assert r.status_code == 404 and r.json()["detail"]["type"] == "UnknownNodeError"
    r = client.post("/api/v2/projects/demo/runs", json={"cache": "sometimes"})
    assert r.status_code == 422


def test_cancel_a_running_run(client):
    setup_project(client, sleep=3.0)
    run_id = client.post("/api/v2/projects/demo/runs").json()["run_id"]
    assert client.post(f"/api/v2/projects/demo/runs/{run_id}/cancel").json() == {"run_id": run_id,
                                                                                 "status": "cancelling"}
    manifest = wait_run(client, "demo", run_id)
    assert manifest["status"] == "cancelled"
    assert manifest["nodes"]["total-2"]["status"] == "skipped"
    r = client.post(f"/api/v2/projects/demo/runs/{run_id}/cancel")
    assert r.status_code == 409 and "already ended cancelled" in r.json()["detail"]["message"]
    r = client.post("/api/v2/projects/demo/runs/20240101T000000000000Z-abcdef/cancel")
    assert r.status_code == 404


def test_resume_reruns_only_what_failed(client):
    setup_project(client, fail=True)
    first = client.post("/api/v2/projects/demo/runs").json()["run_id"]
    assert wait_run(client, "demo", first)["nodes"]["total-2"]["status"] == "failed"
    client.put("/api/workspace/projects/demo/pipeline", json=graph(fail=False)).raise_for_status()
    # An in-memory run resumes its own pipeline object: the saved change does not reach it.
    again = client.post(f"/api/v2/projects/demo/runs/{first}/resume").json()
    assert again["resumed_from"] == first
    manifest = wait_run(client, "demo", again["run_id"])
    assert {n: r["status"] for n, r in manifest["nodes"].items()} == {"make-1": "cached", "total-2": "failed"}


def test_resume_a_run_of_an_earlier_server(tmp_path):
    store = tmp_path / "store"
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:
        setup_project(c)
        first = c.post("/api/v2/projects/demo/runs").json()["run_id"]
        wait_run(c, "demo", first)
    with serve(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as c:  # a restart
        assert c.get(f"/api/v2/projects/demo/runs/{first}").json()["status"] == "completed"
        again = c.post(f"/api/v2/projects/demo/runs/{first}/resume").json()
        manifest = wait_run(c, "demo", again["run_id"])
        assert {r["status"] for r in manifest["nodes"].values()} == {"cached"}
        r = c.post(f"/api/v2/projects/demo/runs/{first}/cancel")
        assert r.status_code == 409 and "not running on this server" in r.json()["detail"]["message"]


def test_validate_problems_per_node_with_fields(client):
    setup_project(client)
    assert client.post("/api/v2/projects/demo/validate").json() == {"valid": True, "problems": [], "errors": []}
    doc = graph()
    doc["nodes"][0]["data"]["config"]["n"] = "three"
    doc["edges"] = []
    body = client.post("/api/v2/projects/demo/validate", json={"pipeline": doc}).json()
    assert body["valid"] is False
    found = {(p["node_id"], p.get("field")) for p in body["problems"]}
    assert ("make-1", "n") in found and any(nid == "total-2" for nid, _ in found)


def test_history_versions(client):
    setup_project(client)
    client.put("/api/workspace/projects/demo/pipeline", json=graph(n=7)).raise_for_status()
    versions = client.get("/api/v2/projects/demo/history").json()
    assert len(versions) == 2
    newest = client.get(f"/api/v2/projects/demo/history/{versions[0]}").json()
    oldest = client.get(f"/api/v2/projects/demo/history/{versions[1]}").json()
    assert newest["nodes"][0]["data"]["config"]["n"] == 7 and oldest["nodes"][0]["data"]["config"]["n"] == 3
    r = client.get("/api/v2/projects/demo/history/nope")
    assert r.status_code == 404 and "Latest versions" in r.json()["detail"]["message"]
