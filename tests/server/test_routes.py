"""Every route of the original's REST API over real uvicorn, and its typed 4xx errors (never a 500 traceback)."""

from __future__ import annotations

import pytest

from tests.server.conftest import MAKE, TOTAL, request_of, setup_project, wait_done


class TestProjects:
    def test_create_list_delete(self, client):
        assert client.post("/api/workspace/projects", json={"name": "b"}).json() == {"success": True, "name": "b"}
        client.post("/api/workspace/projects", json={"name": "a"}).raise_for_status()
        assert client.get("/api/workspace/projects").json() == ["a", "b"]
        assert client.get("/api/workspace/projects/a/pipeline").json()["nodes"] == []
        assert client.delete("/api/workspace/projects/a").json() == {"success": True}
        assert client.delete("/api/workspace/projects/never").json() == {"success": True}  # the original: no 404
        assert client.get("/api/workspace/projects").json() == ["b"]

    def test_name_required_exists_and_unsafe(self, client):
        r = client.post("/api/workspace/projects", json={"name": "  "})
        assert r.status_code == 400 and "Project name is required" in r.json()["detail"]["message"]
        client.post("/api/workspace/projects", json={"name": "a"}).raise_for_status()
        r = client.post("/api/workspace/projects", json={"name": "a"})
        assert r.status_code == 409 and r.json()["detail"]["type"] == "ProjectExists"
        r = client.post("/api/workspace/projects", json={"name": "../etc"})
        assert r.status_code == 400 and r.json()["detail"]["type"] == "UnsafePathError"

    def test_unknown_project_is_404_with_did_you_mean(self, client):
        client.post("/api/workspace/projects", json={"name": "images"}).raise_for_status()
        r = client.get("/api/workspace/projects/imagez/pipeline")
        assert r.status_code == 404
        assert r.json()["detail"]["type"] == "ArtifactNotFoundError"
        assert "Did you mean 'images'?" in r.json()["detail"]["message"]


class TestPipelineDocument:
    def test_put_get_roundtrip_and_history(self, client):
        doc = setup_project(client)
        saved = client.get("/api/workspace/projects/demo/pipeline").json()
        assert [n["data"]["config"] for n in saved["nodes"]] == [n["data"]["config"] for n in doc["nodes"]]
        assert saved["nodes"][0]["data"]["label"] == "Make"  # the frontend's own keys are kept
        assert len(client.get("/api/v2/projects/demo/history").json()) == 1

    def test_malformed_document_names_the_node(self, client):
        setup_project(client)
        bad = {"nodes": [{"id": "x", "data": {"config": {}}}], "edges": []}
        r = client.put("/api/workspace/projects/demo/pipeline", json=bad)
        assert r.status_code == 400
        assert r.json()["detail"]["type"] == "SpecError"
        assert "node 'x'" in r.json()["detail"]["message"] and "card_type" in r.json()["detail"]["message"]

    def test_wrong_body_shape_is_422_not_500(self, client):
        setup_project(client)
        r = client.put("/api/workspace/projects/demo/pipeline", json={"nodes": "no"})
        assert r.status_code == 422
        r = client.post("/api/pipeline/execute", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422


class TestCardFiles:
    def test_list_read_save_delete_and_folders(self, client):
        setup_project(client)
        assert client.post("/api/workspace/projects/demo/cards/folder", json={"path": "empty"}).json()["success"]
        assert client.get("/api/workspace/projects/demo/cards").json() == [
            {"path": "data", "type": "folder"}, {"path": "empty", "type": "folder"},
            {"path": "data/make.py", "type": "file"}, {"path": "total.py", "type": "file"},
        ]
        r = client.post("/api/workspace/projects/demo/cards/source", json={"path": "data/make.py"})
        assert r.json() == {"path": "data/make.py", "source_code": MAKE}
        assert client.request("DELETE", "/api/workspace/projects/demo/cards", json={"path": "total.py"}).json() == {
            "success": True}
        assert client.request("DELETE", "/api/workspace/projects/demo/cards/folder", json={"path": "data"}).json()[
            "success"]
        assert client.get("/api/workspace/projects/demo/cards").json() == [{"path": "empty", "type": "folder"}]
        r = client.post("/api/workspace/projects/demo/cards/source", json={"path": "total.py"})
        assert r.status_code == 404 and "No card file 'total.py'" in r.json()["detail"]["message"]

    def test_invalid_card_is_400_with_lines_and_never_saved(self, client):
        setup_project(client)
        r = client.post("/api/workspace/projects/demo/cards", json={"path": "bad.py", "source_code": "def (:\n"})
        assert r.status_code == 400
        errors = r.json()["detail"]["errors"]
        assert errors[0]["line"] == 1 and errors[0]["message"].startswith("Syntax error")
        names = [f["path"] for f in client.get("/api/workspace/projects/demo/cards").json()]
        assert "bad.py" not in names

    def test_card_path_escaping_the_project_is_refused(self, client):
        setup_project(client)
        r = client.post("/api/workspace/projects/demo/cards", json={"path": "../../x.py", "source_code": TOTAL})
        assert r.status_code == 400 and r.json()["detail"]["type"] == "UnsafePathError"

    def test_validate_never_runs_the_source(self, client, tmp_path):
        marker = tmp_path / "ran"
        source = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n" + TOTAL
        body = client.post("/api/cards/validate", json={"source_code": source}).json()
        assert body["success"] is True and body["extracted_schema"]["card_type"] == "total"
        client.post("/api/workspace/projects", json={"name": "p"}).raise_for_status()
        client.post("/api/workspace/projects/p/cards", json={"path": "t.py", "source_code": source}).raise_for_status()
        client.post("/api/workspace/projects/p/activate").raise_for_status()
        client.get("/api/cards").raise_for_status()
        assert not marker.exists()
        bad = client.post("/api/cards/validate", json={"source_code": "class X:\n    pass\n"}).json()
        assert bad["success"] is False and bad["extracted_schema"] is None
        assert bad["errors"][0]["message"] == "No class extending BaseCard found"


class TestRuns:
    def test_validate_lists_every_problem_with_node_and_field(self, client):
        doc = setup_project(client)
        client.post("/api/workspace/projects/demo/activate").raise_for_status()
        request = request_of(doc, "workspace__demo")
        request["nodes"][0]["config"]["n"] = "many"
        request["nodes"].append({"id": "x", "type": "mak", "config": {}})
        body = client.post("/api/pipeline/validate", json=request).json()
        fields = {(p["node_id"], p.get("field")) for p in body["problems"]}
        assert ("make-1", "n") in fields and any(nid == "x" for nid, _ in fields)
        assert any("Did you mean 'make'?" in e for e in body["errors"])
        r = client.post("/api/pipeline/execute", json=request)
        assert r.status_code == 400
        detail = r.json()["detail"]
        assert detail["type"] == "PipelineValidationError"
        assert any(e.startswith("[make-1.n]") for e in detail["errors"])

    def test_status_output_artifact_404s(self, client):
        doc = setup_project(client)
        r = client.get("/api/pipeline/nothing/status")
        assert r.status_code == 404 and "Pipeline not found" in r.json()["detail"]["message"]
        pid = "workspace__demo"
        client.post("/api/pipeline/execute", json=request_of(doc, pid)).raise_for_status()
        assert wait_done(client, pid)["status"] == "completed"
        r = client.get(f"/api/card/{pid}/nope/output")
        assert r.status_code == 404 and "make-1" in r.json()["detail"]["message"]
        r = client.get(f"/api/artifacts/{pid}/make-1/nope")
        assert r.status_code == 404 and "chart" in r.json()["detail"]["message"]

    def test_runs_of_other_ids_go_to_the_active_project(self, client):
        doc = setup_project(client)
        client.post("/api/workspace/projects/demo/activate").raise_for_status()
        started = client.post("/api/pipeline/execute", json=request_of(doc, "pipeline-123")).json()
        assert started["project_name"] == "demo"
        assert wait_done(client, "pipeline-123")["status"] == "completed"
        runs = client.get("/api/v2/projects/demo/runs").json()
        assert [r["run_id"] for r in runs] == [started["run_id"]]

    def test_execute_saved_project(self, client):
        setup_project(client)
        body = client.post("/api/workspace/projects/demo/execute").json()
        assert body["status"] == "started" and body["project_name"] == "demo"
        assert body["nodes_count"] == 2 and body["edges_count"] == 1
        assert body["pipeline_id"].startswith("demo_")
        assert wait_done(client, body["pipeline_id"])["status"] == "completed"
        client.post("/api/workspace/projects", json={"name": "empty"}).raise_for_status()
        r = client.post("/api/workspace/projects/empty/execute")
        assert r.status_code == 400 and r.json()["detail"]["type"] == "EmptyPipeline"


@pytest.mark.parametrize("path", ["/api/workspace/projects/demo/cards", "/api/pipeline/validate"])
def test_body_over_the_limit_is_413(tmp_path, path):
    import httpx

    from tensorrag.server import create_app
    from tests.server.conftest import serve

    with serve(create_app(tmp_path, max_body_bytes=1000)) as url, httpx.Client(base_url=url) as c:
        r = c.post(path, json={"path": "a.py", "source_code": "x" * 5000, "pipeline_id": "p"})
        assert r.status_code == 413
        assert r.json()["detail"]["type"] == "RequestTooLarge" and r.json()["detail"]["limit"] == 1000

        def chunks():  # no Content-Length: the limit holds for a streamed body too
            for _ in range(10):
                yield b"x" * 500

        r = c.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.get("/api/health").json() == {"status": "ok"}
