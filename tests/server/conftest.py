"""A real uvicorn server on 127.0.0.1 (a free port, in a thread) for the server tests, and the card files they use."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from tensorrag.server import create_app  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI

MAKE = '''\
from tensorrag import BaseCard


class Make(BaseCard):
    card_type = "make"
    display_name = "Make"
    description = "Make n numbers"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {"n": {"type": "integer", "default": 3}, "sleep": {"type": "number", "default": 0}}
    input_schema = {}
    output_schema = {"values": "json"}

    def execute(self, config, inputs, storage):
        import time
        time.sleep(config["sleep"])
        print("making", config["n"])
        values = {"values": list(range(config["n"]))}
        chart = storage.save_bytes(config["_pipeline_id"], config["_node_id"], "chart", b"\\x89PNG fake", "png")
        return {"values": storage.save_json(config["_pipeline_id"], config["_node_id"], "values", values)}

    def get_output_preview(self, outputs, storage):
        values = storage.load_json(outputs["values"])["values"]
        return {"columns": ["v"], "rows": [[v] for v in values], "total_rows": len(values)}
'''

TOTAL = '''\
from tensorrag import BaseCard


class Total(BaseCard):
    card_type = "total"
    display_name = "Total"
    description = "Sum the numbers"
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {"fail": {"type": "boolean", "default": False}}
    input_schema = {"values": "json"}
    output_schema = {"total": "json"}

    def execute(self, config, inputs, storage):
        if config["fail"]:
            raise ValueError("asked to fail")
        values = storage.load_json(inputs["values"])["values"]
        return {"total": storage.save_json(config["_pipeline_id"], config["_node_id"], "total", {"sum": sum(values)})}

    def get_output_preview(self, outputs, storage):
        return {"metrics": storage.load_json(outputs["total"])}
'''


def graph(n: int = 3, sleep: float = 0.0, fail: bool = False) -> dict[str, Any]:
    """The saved-state (React Flow) document of make -> total, as the original frontend writes it."""
    return {
        "nodes": [
            {"id": "make-1", "type": "cardNode", "position": {"x": 0, "y": 0},
             "data": {"label": "Make", "cardSchema": {"card_type": "make"}, "config": {"n": n, "sleep": sleep}}},
            {"id": "total-2", "type": "cardNode", "position": {"x": 200, "y": 0},
             "data": {"label": "Total", "cardSchema": {"card_type": "total"}, "config": {"fail": fail}}},
        ],
        "edges": [
            {"id": "e-make-1-values-total-2-values", "source": "make-1", "target": "total-2",
             "sourceHandle": "values", "targetHandle": "values", "label": "values",
             "data": {"source_output": "values", "target_input": "values"}},
        ],
        "nodeCounter": 2,
    }


def request_of(doc: dict[str, Any], pipeline_id: str) -> dict[str, Any]:
    """The original frontend's PipelineRequest for a saved state (node.type = card type, edge ports)."""
    return {
        "pipeline_id": pipeline_id,
        "nodes": [{"id": n["id"], "type": n["data"]["cardSchema"]["card_type"], "config": n["data"]["config"],
                   "position": n["position"]} for n in doc["nodes"]],
        "edges": [{"source": e["source"], "target": e["target"], "source_output": e["data"]["source_output"],
                   "target_input": e["data"]["target_input"]} for e in doc["edges"]],
    }


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=65536))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def base_url(tmp_path) -> Iterator[str]:
    """A server over a fresh local store, single user."""
    with serve(create_app(tmp_path / "store", heartbeat_s=0.5)) as url:
        yield url


@pytest.fixture
def client(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def setup_project(client: httpx.Client, name: str = "demo", **graph_options: Any) -> dict[str, Any]:
    """Create a project with the two card files and a saved pipeline, through the API; returns the graph."""
    assert client.post("/api/workspace/projects", json={"name": name}).status_code == 200
    for path, source in (("data/make.py", MAKE), ("total.py", TOTAL)):
        r = client.post(f"/api/workspace/projects/{name}/cards", json={"path": path, "source_code": source})
        assert r.status_code == 200, r.text
    doc = graph(**graph_options)
    assert client.put(f"/api/workspace/projects/{name}/pipeline", json=doc).json() == {"success": True}
    return doc


def wait_done(client: httpx.Client, pipeline_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the original's status route until the run ends (a hang bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/pipeline/{pipeline_id}/status").json()
        if body["status"] not in ("running", "pending"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"run of {pipeline_id} still {body['status']} after {timeout} s: {body}")
        time.sleep(0.05)
