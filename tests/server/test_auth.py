"""The ``auth`` callable on HTTP and WebSocket, two users isolated, and explicit CORS origins."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import tensorrag as tr
from tensorrag.errors import ConfigError
from tensorrag.server import Unauthorized, create_app
from tests.server.conftest import request_of, serve, setup_project, wait_done

TOKENS = {"token-alice": "alice", "token-bob": "bob"}


def token_auth(conn) -> str:
    """Bearer header, else ?token= (browsers cannot set headers on a WebSocket)."""
    header = conn.headers.get("authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else conn.query_params.get("token")
    if token not in TOKENS:
        raise Unauthorized("Send 'Authorization: Bearer <token>' (or ?token=<token> on a WebSocket).")
    return TOKENS[token]


@pytest.fixture
def two_users(tmp_path):
    with serve(create_app(tmp_path, auth=token_auth)) as url:
        alice = httpx.Client(base_url=url, headers={"Authorization": "Bearer token-alice"}, timeout=60)
        bob = httpx.Client(base_url=url, headers={"Authorization": "Bearer token-bob"}, timeout=60)
        with alice, bob:
            yield url, alice, bob


def test_http_without_credentials_is_401(two_users):
    url, _, _ = two_users
    with httpx.Client(base_url=url) as anon:
        assert anon.get("/api/health").status_code == 200  # health stays open
        r = anon.get("/api/workspace/projects")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["detail"]["type"] == "UnauthorizedError"
        assert "Authorization: Bearer" in r.json()["detail"]["message"]


def test_two_users_never_see_each_others_projects_or_runs(two_users, tmp_path):
    url, alice, bob = two_users
    doc = setup_project(alice, "secret")
    assert bob.get("/api/workspace/projects").json() == []
    assert bob.get("/api/workspace/projects/secret/pipeline").status_code == 404
    assert bob.post("/api/workspace/projects/secret/cards/source", json={"path": "total.py"}).status_code == 404
    bob.delete("/api/workspace/projects/secret").raise_for_status()  # deletes only bob's (none)
    assert alice.get("/api/workspace/projects").json() == ["secret"]
    pid = "workspace__secret"
    alice.post("/api/pipeline/execute", json=request_of(doc, pid)).raise_for_status()
    assert wait_done(alice, pid)["status"] == "completed"
    assert bob.get(f"/api/pipeline/{pid}/status").status_code == 404
    assert bob.get(f"/api/card/{pid}/make-1/output").status_code == 404
    run_id = alice.get("/api/v2/projects/secret/runs").json()[0]["run_id"]
    assert bob.get(f"/api/v2/projects/secret/runs/{run_id}").status_code == 404
    assert bob.post(f"/api/v2/projects/secret/runs/{run_id}/cancel").status_code == 404
    assert (tmp_path / "alice" / "workspace" / "secret" / "_pipeline.json").exists()
    assert not (tmp_path / "bob" / "workspace" / "secret").exists()
    # bob's WebSocket on the same pipeline id is his own channel: no replay of alice's run
    ws_base = url.replace("http://", "ws://")
    with connect(f"{ws_base}/ws/pipeline/{pid}?token=token-bob", open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "heartbeat"
    with connect(f"{ws_base}/ws/pipeline/{pid}?token=token-alice", open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "node_status"


def test_websocket_without_credentials_is_refused(two_users):
    url, _, _ = two_users
    ws_base = url.replace("http://", "ws://")
    for suffix in ("", "?token=wrong"):
        with pytest.raises(InvalidStatus) as info, connect(f"{ws_base}/ws/pipeline/p{suffix}", open_timeout=30):
            pass
        assert info.value.response.status_code == 403


async def _async_auth(conn) -> str:
    if conn.headers.get("x-user") is None:
        raise tr.UnauthorizedError("Send X-User.")
    return conn.headers["x-user"]


def test_async_auth_and_a_bad_user_id_is_a_typed_500(tmp_path):
    with serve(create_app(tmp_path, auth=_async_auth)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/api/workspace/projects", headers={"x-user": "carol"}).json() == []
        assert c.get("/api/workspace/projects").status_code == 401
        r = c.get("/api/workspace/projects", headers={"x-user": "../root"})
        assert r.status_code == 500
        assert r.json()["detail"]["type"] == "ConfigError" and "not a safe folder name" in r.json()["detail"]["message"]
        assert "Traceback" not in r.text


class TestCors:
    def test_explicit_origins_with_credentials(self, tmp_path):
        app = create_app(tmp_path, cors_origins="http://localhost:3000, https://app.example.com")
        with serve(app) as url, httpx.Client(base_url=url) as c:
            ok = c.options("/api/workspace/projects", headers={
                "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
            assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
            assert ok.headers["access-control-allow-credentials"] == "true"
            other = c.get("/api/health", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers

    def test_from_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv("TENSORRAG_CORS_ORIGINS", "http://localhost:5173")
        with serve(create_app(tmp_path)) as url, httpx.Client(base_url=url) as c:
            r = c.get("/api/health", headers={"Origin": "http://localhost:5173"})
            assert r.headers["access-control-allow-origin"] == "http://localhost:5173"

    def test_wildcard_never_allows_credentials(self, tmp_path):
        with pytest.warns(RuntimeWarning, match="credentials"):
            app = create_app(tmp_path, cors_origins=["*"])
        with serve(app) as url, httpx.Client(base_url=url) as c:
            r = c.get("/api/health", headers={"Origin": "https://any.example"})
            assert r.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in r.headers

    def test_no_origin_configured_means_no_cors(self, tmp_path, monkeypatch):
        monkeypatch.delenv("TENSORRAG_CORS_ORIGINS", raising=False)
        monkeypatch.delenv("FRONTEND_ORIGIN", raising=False)
        with serve(create_app(tmp_path)) as url, httpx.Client(base_url=url) as c:
            assert "access-control-allow-origin" not in c.get("/api/health", headers={"Origin": "http://x.y"}).headers

    @pytest.mark.parametrize("bad", ["localhost:3000", "http://x.y/", "http://x.y/path", "ftp://x"])
    def test_a_bad_origin_is_a_config_error(self, tmp_path, bad):
        with pytest.raises(ConfigError, match="scheme://host"):
            create_app(tmp_path, cors_origins=[bad])
