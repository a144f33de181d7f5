"""``tensorrag serve``: a real subprocess serving the API on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_the_api_and_stops_on_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TENSORRAG_CORS_ORIGINS": "http://localhost:3000"}
    cmd = [sys.executable, "-m", "tensorrag.cli", "serve", "--port", str(port), "--storage", str(tmp_path),
           "--user", "ann", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # hang bound for the start
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            assert c.post("/api/workspace/projects", json={"name": "p"}).json() == {"success": True, "name": "p"}
            r = c.get("/api/workspace/projects", headers={"Origin": "http://localhost:3000"})
            assert r.json() == ["p"] and r.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert (tmp_path / "ann" / "workspace" / "p" / "_pipeline.json").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, -15), err  # uvicorn shuts down cleanly, then re-raises SIGTERM
    assert "Traceback" not in err
    assert f"on http://127.0.0.1:{port}" in err


def test_serve_with_a_bad_origin_exits_2(tmp_path, capsys):
    from tensorrag.cli import main

    assert main(["serve", "--storage", str(tmp_path), "--cors-origin", "localhost:3000"]) == 2
    assert "is not an origin" in capsys.readouterr().err
