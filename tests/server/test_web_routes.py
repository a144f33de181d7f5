"""The API additions the web canvas uses: ``/api/v2/projects/{name}/palette`` and ``/python``."""

from __future__ import annotations

import tensorrag as tr
from tensorrag.cards.catalog import canvas_palette
from tensorrag.server.web import STATIC
from tensorrag.widget._floats import mark_palette
from tensorrag.widget._sync import build_palette
from tests.server.conftest import setup_project


def test_palette_is_the_notebook_canvas_palette(client, tmp_path) -> None:
    setup_project(client)
    got = client.get("/api/v2/projects/demo/palette")
    assert got.status_code == 200
    project = tr.Workspace(tmp_path / "store").project("demo")
    # the widget's `palette` trait, less the float marks its trait needs: the page reads 1.0 from the JSON text
    assert got.json() == canvas_palette(project.registry)
    assert mark_palette(got.json()) == build_palette(project.registry)
    make = next(c for c in got.json() if c["card_type"] == "make")
    assert make["inputs"] == {} and make["outputs"] == {"values": "json"}
    assert make["json_schema"]["properties"]["n"]["default"] == 3


def test_palette_of_a_missing_project_is_404(client) -> None:
    r = client.get("/api/v2/projects/nope/palette")
    assert r.status_code == 404 and "nope" in r.json()["detail"]["message"]


def test_python_of_a_graph_and_of_the_saved_pipeline(client) -> None:
    doc = setup_project(client)
    saved = client.post("/api/v2/projects/demo/python")
    assert saved.status_code == 200
    assert "p.connect('make-1', 'values', 'total-2', 'values')" in saved.json()["source"]
    doc["edges"] = []
    edited = client.post("/api/v2/projects/demo/python", json={"pipeline": doc}).json()["source"]
    assert "p.add('total', id='total-2'" in edited and "p.connect" not in edited
    bad = client.post("/api/v2/projects/demo/python", json={"pipeline": {"nodes": [{"id": "x"}]}})
    assert bad.status_code == 400 and "x" in bad.json()["detail"]["message"]


def test_page_says_how_to_build_a_missing_bundle(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    built = (STATIC / "index.js").is_file()
    assert ("make widget" in page.text) is not built
