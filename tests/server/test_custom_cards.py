"""The original's legacy ``/api/cards/custom`` routes over real uvicorn: upload, list, delete, use, isolation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from tensorrag.server import create_app
from tests.server.conftest import MAKE, TOTAL, graph, request_of, serve, wait_done

if TYPE_CHECKING:
    from pathlib import Path


def types_of(client: httpx.Client) -> set[str]:
    return {c["card_type"] for c in client.get("/api/cards").json()}


def test_upload_list_use_and_delete(client: httpx.Client, tmp_path: Path) -> None:
    assert client.get("/api/cards/custom").json() == []
    r = client.post("/api/cards/custom", json={"filename": "make.py", "source_code": MAKE})
    assert r.status_code == 200 and r.json() == {"success": True, "card_type": "make"}
    client.post("/api/cards/custom", json={"filename": "total.py", "source_code": TOTAL}).raise_for_status()
    listed = client.get("/api/cards/custom").json()
    assert listed == [{"filename": "make.py", "source_code": MAKE, "card_type": "make"},
                      {"filename": "total.py", "source_code": TOTAL, "card_type": "total"}]
    assert {"make", "total", "data_load"} <= types_of(client)  # in the user's /api/cards with the built-ins
    schema = next(c for c in client.get("/api/cards").json() if c["card_type"] == "make")
    assert schema["config_schema"]["n"]["default"] == 3
    # stored in the user folder, not in a project
    assert (tmp_path / "store" / "default" / "custom_cards" / "cards" / "make.py").read_text() == MAKE
    assert client.get("/api/workspace/projects").json() == []

    # the original's run routes use them, as its global registry did
    request = request_of(graph(n=4), "legacy-1")
    assert client.post("/api/pipeline/validate", json=request).json() == {"errors": [], "problems": []}
    client.post("/api/pipeline/execute", json=request).raise_for_status()
    assert wait_done(client, "legacy-1")["status"] == "completed"
    assert client.get("/api/card/legacy-1/total-2/output").json()["preview"] == {"metrics": {"sum": 6}}

    assert client.delete("/api/cards/custom/total").json() == {"success": True}
    assert [c["card_type"] for c in client.get("/api/cards/custom").json()] == ["make"]
    assert "total" not in types_of(client)
    assert not (tmp_path / "store" / "default" / "custom_cards" / "cards" / "total.py").exists()


def test_listing_survives_a_restart(tmp_path: Path) -> None:
    """The original listed only the files uploaded since the process started; these are read from storage."""
    with serve(create_app(tmp_path / "store")) as url, httpx.Client(base_url=url, timeout=60) as c:
        c.post("/api/cards/custom", json={"filename": "make.py", "source_code": MAKE}).raise_for_status()
    with serve(create_app(tmp_path / "store")) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert [e["card_type"] for e in c.get("/api/cards/custom").json()] == ["make"]
        assert "make" in types_of(c)
        assert c.delete("/api/cards/custom/make").json() == {"success": True}


def test_invalid_upload_is_400_with_lines_and_not_saved(client: httpx.Client) -> None:
    r = client.post("/api/cards/custom", json={"filename": "bad.py", "source_code": "def (:\n"})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail["type"] == "CardDefinitionError" and "Card file 'bad.py' is invalid: line 1" in detail["message"]
    assert detail["errors"][0]["line"] == 1 and detail["errors"][0]["message"].startswith("Syntax error")
    assert client.get("/api/cards/custom").json() == []
    r = client.post("/api/cards/custom", json={"filename": "../escape.py", "source_code": TOTAL})
    assert r.status_code == 400 and r.json()["detail"]["type"] == "UnsafePathError"
    r = client.post("/api/cards/custom", json={"filename": "x.py"})
    assert r.status_code == 422


def test_delete_unknown_type_is_404_naming_the_known_ones(client: httpx.Client) -> None:
    client.post("/api/cards/custom", json={"filename": "make.py", "source_code": MAKE}).raise_for_status()
    r = client.delete("/api/cards/custom/nope")
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail["type"] == "ArtifactNotFoundError" and "Custom cards: 'make'" in detail["message"]


def test_a_project_card_of_the_same_type_wins(client: httpx.Client) -> None:
    other = MAKE.replace('"default": 3', '"default": 9')
    client.post("/api/cards/custom", json={"filename": "make.py", "source_code": other}).raise_for_status()
    client.post("/api/workspace/projects", json={"name": "p"}).raise_for_status()
    client.post("/api/workspace/projects/p/cards", json={"path": "make.py", "source_code": MAKE}).raise_for_status()
    client.post("/api/workspace/projects/p/activate").raise_for_status()
    make = [c for c in client.get("/api/cards").json() if c["card_type"] == "make"]
    assert len(make) == 1 and make[0]["config_schema"]["n"]["default"] == 3


def test_users_are_isolated(tmp_path: Path) -> None:
    def auth(conn) -> str:
        return conn.headers.get("x-user", "anon")

    with serve(create_app(tmp_path / "store", auth=auth)) as url, \
            httpx.Client(base_url=url, headers={"x-user": "alice"}, timeout=60) as alice, \
            httpx.Client(base_url=url, headers={"x-user": "bob"}, timeout=60) as bob:
        alice.post("/api/cards/custom", json={"filename": "make.py", "source_code": MAKE}).raise_for_status()
        assert bob.get("/api/cards/custom").json() == []
        assert "make" not in types_of(bob) and "make" in types_of(alice)
        assert bob.delete("/api/cards/custom/make").status_code == 404
        assert [e["card_type"] for e in alice.get("/api/cards/custom").json()] == ["make"]


def test_uploading_never_runs_the_source(client: httpx.Client, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n" + TOTAL
    client.post("/api/cards/custom", json={"filename": "t.py", "source_code": source}).raise_for_status()
    client.get("/api/cards/custom").raise_for_status()
    client.get("/api/cards").raise_for_status()
    assert not marker.exists()
