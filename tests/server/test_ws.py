"""``/ws/pipeline/{id}``: events in order, a replay for late subscribers, heartbeats, disconnects cost nothing."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tensorrag.server import create_app
from tests.server.conftest import request_of, serve, setup_project, wait_done


def ws_url(base_url: str, pipeline_id: str) -> str:
    return base_url.replace("http://", "ws://") + f"/ws/pipeline/{pipeline_id}"


def until_completion(ws, timeout: float = 60) -> list[dict]:
    """Every message up to the run's pipeline_completion, heartbeats left out."""
    events = []
    while True:
        event = json.loads(ws.recv(timeout=timeout))
        if event["type"] == "heartbeat":
            continue
        events.append(event)
        if event["type"] == "pipeline_completion":
            return events


def test_live_events_are_the_runs_events_in_order(client, base_url):
    doc = setup_project(client)
    pid = "workspace__demo"
    with connect(ws_url(base_url, pid), open_timeout=30) as ws:
        run_id = client.post("/api/pipeline/execute", json=request_of(doc, pid)).json()["run_id"]
        live = until_completion(ws)
    manifest = client.get(f"/api/v2/projects/demo/runs/{run_id}").json()
    assert live == manifest["events"]
    assert all(e["run_id"] == run_id for e in live)
    statuses = [(e["node_id"], e["status"]) for e in live if e["type"] == "node_status"]
    assert statuses.index(("make-1", "completed")) < statuses.index(("total-2", "running"))
    assert {"type": "log", "node_id": "make-1", "text": "making 3"}.items() <= next(
        e for e in live if e["type"] == "log").items()


def test_a_late_subscriber_gets_a_replay_then_the_rest(client, base_url):
    doc = setup_project(client, sleep=1.0)
    pid = "workspace__demo"
    run_id = client.post("/api/pipeline/execute", json=request_of(doc, pid)).json()["run_id"]
    with connect(ws_url(base_url, pid), open_timeout=30) as ws:  # joins while make-1 sleeps
        during = until_completion(ws)
    with connect(ws_url(base_url, pid), open_timeout=30) as ws:  # joins after the end
        after = until_completion(ws)
    manifest = client.get(f"/api/v2/projects/demo/runs/{run_id}").json()
    assert during == after == manifest["events"]


def test_a_new_run_replaces_the_replay(client, base_url):
    doc = setup_project(client)
    pid = "workspace__demo"
    client.post("/api/pipeline/execute", json=request_of(doc, pid)).raise_for_status()
    wait_done(client, pid)
    second = client.post("/api/pipeline/execute", json=request_of(doc, pid)).json()["run_id"]
    wait_done(client, pid)
    with connect(ws_url(base_url, pid), open_timeout=30) as ws:
        events = until_completion(ws)
    assert {e["run_id"] for e in events} == {second}
    assert {e["status"] for e in events if e["type"] == "node_status"} >= {"cached"}


def test_heartbeat_when_idle(base_url):
    with connect(ws_url(base_url, "quiet"), open_timeout=30) as ws:
        beat = json.loads(ws.recv(timeout=30))  # the fixture's app beats every 0.5 s
    assert beat["type"] == "heartbeat" and beat["timestamp"].endswith("Z")


def test_clients_that_disconnect_cost_nothing(tmp_path):
    app = create_app(tmp_path, heartbeat_s=0.2)
    hub = app.state.tensorrag.hub
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        doc = setup_project(client, sleep=0.5)
        pid = "workspace__demo"
        for _ in range(5):
            with connect(ws_url(base_url, pid), open_timeout=30) as ws:
                ws.send("ignored")  # the original ignores incoming text
        run_id = client.post("/api/pipeline/execute", json=request_of(doc, pid)).json()["run_id"]
        with connect(ws_url(base_url, pid), open_timeout=30) as ws:
            half = json.loads(ws.recv(timeout=30))  # leaves in the middle of the run
        assert half["run_id"] == run_id
        assert wait_done(client, pid)["status"] == "completed"
        with connect(ws_url(base_url, pid), open_timeout=30) as ws:
            assert until_completion(ws)[-1]["status"] == "completed"
        deadline = time.monotonic() + 30  # hang bound: the server notices each close on its own
        while hub.subscribers("default", pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.subscribers("default", pid) == 0


def test_unknown_route_is_refused(base_url):
    with pytest.raises(InvalidStatus), connect(base_url.replace("http://", "ws://") + "/ws/other", open_timeout=30):
        pass
