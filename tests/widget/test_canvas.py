"""The Python side of the canvas, without a browser: trait sync both ways, errors, commands, throttling."""

from __future__ import annotations

import base64
import copy
import itertools
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.errors import PipelineValidationError, RunError
from tensorrag.widget import _canvas
from tensorrag.widget._canvas import Canvas
from tensorrag.widget._sync import apply_document, build_palette
from tensorrag.widget._throttle import Throttle

from . import cards


def wait_for(pred: Any, timeout: float = 20.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def small() -> tr.Pipeline:
    p = tr.Pipeline("small")
    p.add(cards.w_source, id="src", n=4)
    p.add(cards.w_double, id="dbl", factor=3)
    p.connect("src", "output", "dbl", "data")
    return p


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def new_node(node_id: str, card_type: str, x: float = 0, y: float = 0, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "cardNode", "position": {"x": x, "y": y},
            "data": {"card_type": card_type, "config": config}}


def new_edge(src: str, out: str, dst: str, inp: str) -> dict[str, Any]:
    return {"id": f"e-{src}-{out}-{dst}-{inp}", "source": src, "target": dst, "sourceHandle": out,
            "targetHandle": inp, "data": {"source_output": out, "target_input": inp}}


def node_ids(doc: dict[str, Any]) -> list[str]:
    return [n["id"] for n in doc["nodes"]]


# --------------------------------------------------------------------------- import rules


def test_importing_tensorrag_does_not_import_anywidget() -> None:
    code = "import sys, tensorrag, tensorrag.widget; assert 'anywidget' not in sys.modules, 'anywidget imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pipeline_canvas_returns_a_canvas_with_run_defaults(store: str) -> None:
    p = small()
    c = p.canvas(storage=store, max_workers=2)
    try:
        assert isinstance(c, Canvas) and c.pipeline is p
        assert c.run_options == {"storage": store, "max_workers": 2}
    finally:
        c.close()


def test_unknown_run_option_is_refused() -> None:
    with pytest.raises(TypeError, match="storag"):
        Canvas(small(), storag="x")


def test_missing_bundle_gives_a_placeholder_that_says_how_to_build(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(_canvas, "STATIC", tmp_path)
    text = _canvas._asset("index.js", _canvas._MISSING_BUNDLE)
    assert "make widget" in text
    (tmp_path / "index.js").write_text("export default {}")
    assert _canvas._asset("index.js", "fallback") == str(tmp_path / "index.js")


def test_the_built_bundle_is_what_the_widget_loads() -> None:
    if not (_canvas.STATIC / "index.js").is_file():
        pytest.fail("tensorrag/widget/static/index.js is missing: `make widget` builds it (make test does)")
    c = Canvas(small())
    try:
        assert "react-flow" in c._css  # React Flow's stylesheet ships with ours
        assert len(c._esm) > 100_000
    finally:
        c.close()


# --------------------------------------------------------------------------- initial state


def test_initial_traits(store: str, wired) -> None:
    p = small()
    c = Canvas(p, storage=store)
    wired(c)
    assert c.graph == p.to_dict()
    assert c.problems == []
    assert c.status["state"] == "idle" and c.status["nodes"] == {}
    assert c.previews == {} and c.logs == []
    by_type = {e["card_type"]: e for e in c.palette}
    assert {"data_load", "data_split", "train", "evaluate", "w_source", "w_double"} <= set(by_type)
    entry = by_type["w_double"]
    assert entry["inputs"] == {"data": "json"} and entry["outputs"] == {"output": "json"}
    assert entry["json_schema"]["properties"]["factor"]["type"] == "integer"
    assert entry["category"] == "model"
    # the palette is list_cards() plus what the canvas needs
    listed = {e["card_type"]: e for e in tr.list_cards(p.registry)}
    assert {k: v for k, v in entry.items() if k not in ("json_schema", "inputs", "outputs")} == listed["w_double"]


def test_palette_of_a_flat_schema_card_is_normalised() -> None:
    class Flat(tr.BaseCard):
        card_type = "w_flat"
        config_schema = {"rate": {"type": "number", "minimum": 0, "default": 1.0, "required": True}}
        output_schema = {"out": "weird-type"}

        def execute(self, config, inputs, storage):  # pragma: no cover - never run
            return {}

    p = tr.Pipeline()
    p.register(Flat)
    entry = next(e for e in build_palette(p.registry) if e["card_type"] == "w_flat")
    # "x-floats": the default 1.0 is a float (JavaScript would read it as 1; widget/_floats.py)
    assert entry["json_schema"] == {"type": "object", "properties": {"rate": {"type": "number", "minimum": 0,
                                    "default": 1.0, "x-floats": [["default"]]}}, "required": ["rate"]}
    assert entry["outputs"] == {"out": "bytes"}  # unknown port types are bytes, as connect() sees them


# --------------------------------------------------------------------------- Python -> canvas


def test_python_edits_reach_the_graph_trait(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    p.add(cards.w_double, id="dbl2")
    assert "dbl2" in node_ids(c.graph)
    assert any(s["problems"] for s in w.updates("problems"))  # dbl2.data is not connected
    p.connect("dbl", "output", "dbl2", "data")
    assert len(c.graph["edges"]) == 2 and c.problems == []
    p.configure("dbl2", factor=5)
    assert c.graph["nodes"][2]["data"]["config"] == {"factor": 5}
    p.move("dbl2", 10, 20)
    assert c.graph["nodes"][2]["position"] == {"x": 10, "y": 20}
    p.remove("src")
    assert node_ids(c.graph) == ["dbl", "dbl2"]
    assert c.graph == p.to_dict()
    # every change was sent, as a whole new document
    assert w.updates("graph")[-1]["graph"] == p.to_dict()


def test_replace_and_register_refresh_graph_and_palette(wired) -> None:
    p = small()
    c = Canvas(p)
    wired(c)
    other = tr.Pipeline("other")
    other.add("data_load", id="only")
    p.replace(other.to_dict())
    assert node_ids(c.graph) == ["only"]

    @tr.card(category="custom")
    def w_late(x: int = 1) -> dict:
        """Registered after the canvas was made."""
        return {"x": x}

    p.register(w_late)
    assert "w_late" in {e["card_type"] for e in c.palette}


def test_an_in_place_change_of_a_trait_is_not_an_edit(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    c.graph["nodes"].clear()  # in-place: nothing syncs, the pipeline is untouched
    assert len(p) == 2
    assert w.sent == []


# --------------------------------------------------------------------------- canvas -> Python


def test_browser_edits_go_through_the_pipeline(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["nodes"].append(new_node("dbl-2", "w_double", 300, 40, factor=4))
    doc["nodes"][0]["position"] = {"x": -50, "y": 7.5}
    doc["nodes"][1]["data"]["config"] = {"factor": 6}
    doc["edges"].append(new_edge("dbl", "output", "dbl-2", "data"))
    doc["nodeCounter"] = 3
    w.edit(doc)
    assert list(p.nodes) == ["src", "dbl", "dbl-2"]
    assert dict(p.nodes["dbl-2"].config) == {"factor": 4}
    assert p.nodes["dbl-2"].position == {"x": 300, "y": 40}
    assert p.nodes["src"].position == {"x": -50, "y": 7.5}
    assert dict(p.nodes["dbl"].config) == {"factor": 6}
    assert [(e.source, e.target) for e in p.edges] == [("src", "dbl"), ("dbl", "dbl-2")]
    assert c.graph == p.to_dict() == doc
    assert c.problems == []
    # the pipeline's truth equals what the browser sent: only the ipywidgets echo goes back
    assert w.updates("graph") == []
    assert [m["method"] for m in w.sent] == ["echo_update"]
    assert w.messages("error") == []


def test_browser_removes_nodes_and_edges(wired) -> None:
    p = small()
    p.add(cards.w_double, id="dbl2")
    p.connect("dbl", "output", "dbl2", "data")
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["edges"] = [e for e in doc["edges"] if e["target"] != "dbl2"]
    w.edit(doc)
    assert [(e.source, e.target) for e in p.edges] == [("src", "dbl")]
    doc = copy.deepcopy(c.graph)
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] != "src"]
    doc["edges"] = []
    w.edit(doc)
    assert list(p.nodes) == ["dbl", "dbl2"] and p.edges == []
    assert c.graph == p.to_dict()


@pytest.mark.parametrize(
    ("change", "op", "field", "words"),
    [
        (lambda d: d["edges"].append(new_edge("src2", "output", "dbl", "data")), "connect", "data", "already fed"),
        (lambda d: d["edges"].append(new_edge("src", "output", "sp", "dataset")), "connect", "dataset",
         "Type mismatch"),
        (lambda d: d["nodes"][1]["data"]["config"].update(factor="many"), "configure", "factor", "expected an integer"),
        (lambda d: d["nodes"].append(new_node("x", "w_doubel")), "add", None, "Did you mean 'w_double'"),
        (lambda d: d["nodes"].append(new_node("bad id!", "w_double")), "parse", None, "id must be"),
        (lambda d: d["nodes"].append(new_node("s", "data_split", test_ratio=3)), "add", "test_ratio", "must be"),
        (lambda d: d["nodes"][1]["data"].update(card_type="w_source"), "change_type", None, "cannot change"),
        (lambda d: d["edges"].append(new_edge("dbl", "output", "src", "nope")), "connect", "nope", "no input"),
    ],
    ids=["already-fed", "type-mismatch", "bad-config", "unknown-card", "bad-id", "out-of-range", "type-change",
         "unknown-port"],
)
def test_refused_browser_edits(wired, change, op, field, words) -> None:
    p = small()
    p.add(cards.w_source, id="src2")
    p.add("data_split", id="sp")
    before = p.to_dict()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    change(doc)
    w.edit(doc)
    # the pipeline is untouched and the browser is told the truth
    truth = p.to_dict()
    assert truth["nodes"] == before["nodes"] and truth["edges"] == before["edges"]
    assert c.graph == truth
    assert w.updates("graph")[-1]["graph"] == truth
    # the reason, in the pipeline's own words, in problems and in an error message
    edit = [x for x in c.problems if x.get("source") == "edit"]
    assert edit and edit[0]["op"] == op and words in edit[0]["message"]
    assert edit[0].get("field") == field
    (err,) = w.messages("error")
    assert words in err["message"] and err["op"] == "edit"


def test_a_partly_bad_edit_applies_the_good_part(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["nodes"].append(new_node("ok", "w_double", factor=2))
    doc["nodes"].append(new_node("bad", "w_double", factor="x"))
    doc["edges"].append(new_edge("dbl", "output", "ok", "data"))
    w.edit(doc)
    assert list(p.nodes) == ["src", "dbl", "ok"]
    assert [(e.source, e.target) for e in p.edges][-1] == ("dbl", "ok")
    assert [x["node_id"] for x in c.problems if x.get("source") == "edit"] == ["bad"]
    # the next good edit clears the edit problems
    doc = copy.deepcopy(c.graph)
    doc["nodes"][0]["position"] = {"x": 5, "y": 5}
    w.edit(doc)
    assert c.problems == []


def test_a_python_change_clears_edit_problems(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["nodes"][1]["data"]["config"] = {"factor": "x"}
    w.edit(doc)
    assert c.problems
    p.configure("dbl", factor=7)
    assert c.problems == []


def test_apply_document_reports_a_malformed_document() -> None:
    p = small()
    result = apply_document(p, {"nodes": "nope"})
    assert result.applied == [] and result.errors[0].op == "parse"


def test_two_canvases_on_one_pipeline_stay_consistent(wired) -> None:
    p = small()
    a, b = Canvas(p), Canvas(p)
    wa, wb = wired(a), wired(b)
    doc = copy.deepcopy(a.graph)
    doc["nodes"].append(new_node("more", "w_source"))
    wa.edit(doc)
    assert a.graph == b.graph == p.to_dict()
    assert wb.updates("graph")[-1]["graph"] == p.to_dict()
    p.remove("more")
    assert a.graph == b.graph == p.to_dict()


def test_codegen_of_a_graph_drawn_on_the_canvas(wired) -> None:
    p = tr.Pipeline("drawn")
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["nodes"] = [new_node("load", "data_load", 0, 0, source="sample", sample_name="iris"),
                    new_node("split", "data_split", 250, 0, test_ratio=0.3)]
    doc["edges"] = [new_edge("load", "dataset", "split", "dataset")]
    w.edit(doc)
    assert c.problems == []
    namespace: dict[str, Any] = {}
    exec(c.to_python(), namespace)
    assert namespace["p"] == p


# --------------------------------------------------------------------------- runs


def test_run_streams_status_logs_and_previews(store: str, wired, capsys) -> None:
    p = small()
    p.add(cards.w_chatty, id="chat", lines=20, seconds=0.2)
    p.connect("dbl", "output", "chat", "data")
    c = Canvas(p, storage=store)
    w = wired(c)
    run = c.run()
    assert c.last_run is run
    c.wait(30)
    assert run.ok
    assert c.status["state"] == "completed" and c.status["run_id"] == run.run_id
    assert {k: v["status"] for k, v in c.status["nodes"].items()} == dict.fromkeys(["src", "dbl", "chat"], "completed")
    assert [x["text"] for x in c.logs if x["node_id"] == "chat"][:2] == ["line 0", "line 1"]
    assert "line 0" not in capsys.readouterr().out  # the canvas console shows it; the cell does not echo it too
    assert set(c.previews) == {"src", "dbl", "chat"}
    assert c.previews["dbl"]["data"]["values"] == [0, 3, 6, 9]
    seen = [s["status"] for s in w.updates("status")]
    assert any(s["state"] == "running" for s in seen)
    assert any(v["status"] == "running" for s in seen for v in s["nodes"].values())
    # progress reached the canvas while the node ran
    assert any((v.get("progress") or {}).get("total") == 20 for s in seen for v in s["nodes"].values())
    # a second run: cached
    c.run()
    c.wait(30)
    assert {v["status"] for v in c.status["nodes"].values()} == {"cached"}


def test_run_updates_are_throttled_and_batched(store: str, wired, monkeypatch) -> None:
    p = small()
    p.add(cards.w_chatty, id="chat", lines=300, seconds=0.6)
    p.connect("dbl", "output", "chat", "data")
    c = Canvas(p, storage=store)
    w = wired(c)
    t0 = time.monotonic()
    c.run()
    c.wait(30)
    elapsed = time.monotonic() - t0
    updates = [s for s in w.updates() if {"status", "logs", "previews"} & set(s)]
    # 300 log lines + 300 progress events + status changes, sent as a handful of batched updates
    assert len(updates) <= elapsed / _canvas.UPDATE_INTERVAL + 5, (len(updates), elapsed)
    assert len(updates) >= 3
    assert any({"status", "logs"} <= set(s) for s in updates)  # one message carries several traits
    assert len(c.logs) == 300 and c.logs[-1]["text"] == "line 299"


def test_run_to_here_runs_the_node_and_what_it_needs(store: str, wired) -> None:
    p = small()
    p.add(cards.w_double, id="after")
    p.connect("dbl", "output", "after", "data")
    c = Canvas(p, storage=store)
    w = wired(c)
    w.command({"type": "run_to", "node_id": "dbl"})
    c.wait(30)
    assert set(c.status["nodes"]) == {"src", "dbl"}
    assert c.status["targets"] == ["dbl"] and c.status["state"] == "completed"


def test_failed_node_shows_its_traceback(store: str, wired) -> None:
    p = small()
    p.add(cards.w_fail, id="bad", message="kaputt")
    p.add(cards.w_double, id="later")
    p.connect("dbl", "output", "bad", "data")
    p.connect("bad", "output", "later", "data")
    c = Canvas(p, storage=store)
    wired(c)
    c.run()
    c.wait(30)
    assert c.status["state"] == "failed"
    assert c.status["nodes"]["bad"]["status"] == "failed" and "kaputt" in c.status["nodes"]["bad"]["message"]
    assert c.status["nodes"]["later"]["status"] == "skipped"
    err = c.previews["bad"]["error"]
    assert err["type"] == "ValueError" and "kaputt" in err["traceback"]


def test_cancel_command_stops_the_run(store: str, wired) -> None:
    p = small()
    p.add(cards.w_slow, id="slow", seconds=20)
    p.connect("dbl", "output", "slow", "data")
    c = Canvas(p, storage=store)
    w = wired(c)
    cards.RELEASE.clear()
    try:
        w.command({"type": "run"})
        wait_for(lambda: c.status["nodes"].get("slow", {}).get("status") == "running", what="slow running")
        # a second run while one is going is refused, with the reason
        w.command({"type": "run"})
        assert "still going" in w.messages("error")[-1]["message"]
        with pytest.raises(RunError):
            c.run()
        w.command({"type": "cancel"})
        c.wait(10)
        assert c.status["state"] == "cancelled"
        assert c.status["nodes"]["slow"]["status"] == "failed"
    finally:
        cards.RELEASE.set()


def test_running_an_invalid_pipeline_reports_why(store: str, wired) -> None:
    p = small()
    p.add(cards.w_double, id="loose")  # input not connected
    c = Canvas(p, storage=store)
    w = wired(c)
    w.command({"type": "run"})
    assert c.status["state"] == "invalid" and "loose" in c.status["error"]
    assert "not connected" in w.messages("error")[-1]["message"]
    with pytest.raises(PipelineValidationError):
        c.run()


def test_user_on_event_listeners_still_get_events(store: str) -> None:
    got: list[dict[str, Any]] = []
    c = Canvas(small(), storage=store, on_event=got.append)
    try:
        c.run()
        c.wait(30)
    finally:
        c.close()
    assert got[-1]["type"] == "pipeline_completion"


def test_evaluate_chart_is_sent_as_base64_png(tmp_path: Path, wired) -> None:
    from tensorrag.demo import build

    c = Canvas(build(), storage=str(tmp_path / "s"))
    w = wired(c)
    c.run(targets=["evaluate"])
    c.wait(60)
    entry = c.previews["evaluate"]
    assert entry["view"] == "metrics" and "RMSE" in entry["data"]["metrics"]
    assert entry["images"] == [{"port": "eval_chart", "ext": "png"}]
    w.command({"type": "image", "node_id": "evaluate", "port": "eval_chart"})
    (img,) = w.messages("image")
    assert img["mime"] == "image/png" and base64.b64decode(img["data"]).startswith(b"\x89PNG")
    w.command({"type": "image", "node_id": "evaluate", "port": "eval_report"})
    err = w.messages("error")[-1]
    assert "not a byte output" in err["message"] and (err["node_id"], err["port"]) == ("evaluate", "eval_report")


# --------------------------------------------------------------------------- other commands


def test_save_and_load_commands(tmp_path: Path, store: str, wired) -> None:
    p = small()
    c = Canvas(p, storage=store)
    w = wired(c)
    w.command({"type": "save"})
    where = w.messages("saved")[-1]["where"]
    assert where.endswith("small/_pipeline.json") and Path(where.removeprefix("file://")).is_file()
    path = str(tmp_path / "copy.json")
    w.command({"type": "save", "path": path})
    assert tr.Pipeline.load(path) == p
    p.remove("src")
    w.command({"type": "load"})
    assert list(p.nodes) == ["src", "dbl"] and c.graph == p.to_dict()
    p.remove("src")
    c.load(path)
    assert "src" in p
    w.command({"type": "load", "path": str(tmp_path / "missing.json")})
    assert w.messages("error")


def test_layout_to_python_sync_and_unknown_commands(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    c.layout()
    assert w.messages("layout") == [{"type": "layout"}]
    w.command({"type": "to_python"})
    assert "p.connect('src', 'output', 'dbl', 'data')" in w.messages("python")[0]["source"]
    w.clear()
    w.command({"type": "sync"})
    assert {"graph", "palette", "status", "problems"} <= {k for s in w.updates() for k in s}
    w.command({"type": "frobnicate"})
    assert "Unknown canvas command 'frobnicate'" in w.messages("error")[-1]["message"]
    w.command({"type": "run_to"})  # no node_id
    assert w.messages("error")[-1]["op"] == "run_to"


# --------------------------------------------------------------------------- big graphs, throttle


def test_big_pipelines_batch_graph_updates(wired) -> None:
    p = tr.Pipeline("big")
    for i in range(_canvas.IMMEDIATE_GRAPH_NODES + 1):
        p.add(cards.w_source, id=f"n{i}")
    c = Canvas(p)
    w = wired(c)
    for i in range(300):
        p.add(cards.w_source, id=f"m{i}")
    wait_for(lambda: len(c.graph["nodes"]) == len(p), what="the trailing update")
    assert len(w.updates("graph")) < 100  # 300 additions, far fewer documents sent
    c.sync()
    assert c.graph == p.to_dict()


def test_throttle_leading_trailing_and_rate() -> None:
    calls: list[float] = []
    t = Throttle(lambda: calls.append(time.monotonic()), 0.05)
    t.request()
    assert len(calls) == 1  # the first request runs at once
    for _ in range(50):
        t.request()
    assert len(calls) == 1
    wait_for(lambda: len(calls) == 2, 2, "the merged call")  # ...and the burst becomes one call at the end
    start = time.monotonic()
    while time.monotonic() - start < 0.5:
        t.request()
        time.sleep(0.002)
    t.flush()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps[:-1]) >= 0.045  # never faster than the interval (the final flush is explicit)
    assert max(gaps) <= 0.1  # never slower than 10 Hz while requests keep coming
    t.request()
    t.cancel()
