"""A client written for the original's API: its frontend's flow (original-system.md §3.3) over HTTP + WebSocket."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from tests.server.conftest import request_of, setup_project, wait_done


def _ws(base_url: str, pipeline_id: str):
    return connect(base_url.replace("http://", "ws://") + f"/ws/pipeline/{pipeline_id}", open_timeout=30)


def test_the_original_frontend_flow_works_unchanged(client, base_url):
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/workspace/projects").json() == []
    doc = setup_project(client, "demo")
    assert client.get("/api/workspace/projects").json() == ["demo"]

    # Publish to Board = save + activate; the palette then has the project's cards.
    activated = client.post("/api/workspace/projects/demo/activate").json()
    assert sorted(r["card_type"] for r in activated["registered"]) == ["make", "total"]
    assert {"path": "data/make.py", "card_type": "make"} in activated["registered"]
    palette = {c["card_type"]: c for c in client.get("/api/cards").json()}
    assert palette["make"]["output_schema"] == {"values": "json"}
    assert set(palette["make"]) >= {"card_type", "display_name", "description", "category", "execution_mode",
                                    "config_schema", "input_schema", "output_schema", "output_view_type"}

    # Load the board: the saved React Flow state comes back with the frontend's own keys.
    saved = client.get("/api/workspace/projects/demo/pipeline").json()
    assert [n["id"] for n in saved["nodes"]] == ["make-1", "total-2"]
    assert saved["nodeCounter"] == 2
    assert saved["edges"][0]["data"] == {"source_output": "values", "target_input": "values"}

    # "Run this node": the node and its ancestors, as a PipelineRequest on workspace__{project}.
    pid = "workspace__demo"
    request = request_of(doc, pid)
    assert client.post("/api/pipeline/validate", json=request).json()["errors"] == []
    with _ws(base_url, pid) as ws:
        started = client.post("/api/pipeline/execute", json=request).json()
        assert started["pipeline_id"] == pid and started["status"] == "started"
        completed, outputs = set(), {}
        while True:
            event = json.loads(ws.recv(timeout=60))
            if event["type"] == "node_status" and event["status"] == "completed":
                completed.add(event["node_id"])  # the frontend fetches the output of each completed node
                outputs[event["node_id"]] = client.get(f"/api/card/{pid}/{event['node_id']}/output").json()
            if event["type"] == "pipeline_completion":
                assert event["status"] == "completed"
                break
    assert completed == {"make-1", "total-2"}
    assert outputs["make-1"] == {
        "node_id": "make-1", "output_type": "table",
        "preview": {"columns": ["v"], "rows": [[0], [1], [2]], "total_rows": 3},
    }
    assert outputs["total-2"]["output_type"] == "metrics"
    assert outputs["total-2"]["preview"] == {"metrics": {"sum": 3}}

    status = client.get(f"/api/pipeline/{pid}/status").json()
    assert status["pipeline_id"] == pid and status["status"] == "completed"
    assert status["node_statuses"]["total-2"] == {"node_id": "total-2", "status": "completed", "error": None,
                                                  "message": ""}

    # The chart saved by the card (an extra artifact) downloads as the original's attachment.
    chart = client.get(f"/api/artifacts/{pid}/make-1/chart")
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    assert chart.headers["content-disposition"] == 'attachment; filename="chart.png"'
    assert chart.content == b"\x89PNG fake"
    values = client.get(f"/api/artifacts/{pid}/make-1/values")
    assert values.headers["content-type"] == "application/json"
    assert json.loads(values.content) == {"values": [0, 1, 2]}

    # The run request was a part of the graph: the saved pipeline is unchanged.
    assert client.get("/api/workspace/projects/demo/pipeline").json() == saved


def test_a_failed_node_is_reported_as_the_original_client_expects(client):
    doc = setup_project(client, "demo", fail=True)
    pid = "workspace__demo"
    client.post("/api/pipeline/execute", json=request_of(doc, pid)).raise_for_status()
    status = wait_done(client, pid)
    assert status["status"] == "failed"
    assert status["node_statuses"]["make-1"]["status"] == "completed"
    assert status["node_statuses"]["total-2"]["status"] == "failed"
    assert status["node_statuses"]["total-2"]["error"] == "ValueError: asked to fail"
    r = client.get(f"/api/card/{pid}/total-2/output")
    assert r.status_code == 400
    assert "has not completed successfully: it is failed" in r.json()["detail"]["message"]
