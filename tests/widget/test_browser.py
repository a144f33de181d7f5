"""The canvas bundle in headless Chromium, against a test page with a stub anywidget model.

The page (``tests/widget/page``) renders ``tensorrag/widget/static/index.js`` with a model that
starts from a real :class:`~tensorrag.widget.Canvas`'s traits and records what the canvas
assigns (``model.saved``) and sends (``model.sent``): what Python would receive.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.cards.schema import validate_config
from tensorrag.demo import build
from tensorrag.widget._canvas import Canvas

from .browser import PageServer, canvas_state, drag_between, handle, unavailable

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def server():
    srv = PageServer()
    c = Canvas(build())
    srv.set_state(canvas_state(c))
    c.close()
    yield srv
    srv.close()


@pytest.fixture
def page(browser, server) -> Page:
    context = browser.new_context(viewport={"width": 1220, "height": 760})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_function("window.ready === true")
    pg.wait_for_selector(".react-flow__node")
    yield pg
    context.close()
    assert errors == [], errors


def last_graph(page: Page) -> dict[str, Any]:
    return page.evaluate("window.model.lastGraph()")


def sent(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.model.sent")


def test_renders_nodes_ports_and_edges(page: Page) -> None:
    expect(page.locator(".react-flow__node")).to_have_count(6)
    node = page.locator('[data-testid="node-train"]')
    expect(node.locator(".trc-node-title")).to_have_text("Train")
    # labelled, typed handles
    expect(handle(page, "train", "train_dataset", "target")).to_have_attribute("data-type", "dataframe")
    expect(handle(page, "train", "trained_model", "source")).to_have_attribute("data-type", "model")
    ports = ["train_dataset", "model_spec", "trained_model", "train_metrics"]
    expect(node.locator(".trc-port-name")).to_have_text(ports)
    # React Flow's stylesheet is loaded: handles have a size (without it connecting fails silently)
    style = handle(page, "train", "train_dataset", "target").evaluate(
        "el => [getComputedStyle(el).width, getComputedStyle(el).position]")
    assert style == ["11px", "absolute"]
    expect(page.locator(".react-flow__edge")).to_have_count(7)
    expect(page.locator(".trc-edge-label").first).to_have_text("dataset")
    # palette grouped by category, searchable
    cards = tr.list_cards()  # the palette lists every registered card, grouped by category
    expect(page.locator(".trc-palette-cat")).to_have_text(sorted({c["category"] for c in cards}))
    page.fill(".trc-search", "train test split")  # every word must match (type, name, category, description)
    words = ("train", "test", "split")
    matches = [c for c in cards if all(
        w in f"{c['card_type']} {c['display_name']} {c['category']} {c['description']}".lower() for w in words)]
    assert matches
    expect(page.locator(".trc-palette-item")).to_have_count(len(matches))


def test_drag_connect_refuse_and_delete(page: Page) -> None:
    # drag a card from the palette onto the canvas -> a new node in the graph document
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box
    page.drag_and_drop('[data-testid="palette-data_split"]', ".react-flow__pane",
                       target_position={"x": box["width"] * 0.2, "y": box["height"] - 40})  # free after layout
    graph = last_graph(page)
    new = [n for n in graph["nodes"] if n["data"]["card_type"] == "data_split" and n["id"] != "split"]
    assert [n["id"] for n in new] == ["data_split-7"] and graph["nodeCounter"] == 7
    expect(page.locator('[data-testid="node-data_split-7"]')).to_be_visible()

    # connect two ports by dragging handle to handle
    drag_between(page, handle(page, "load", "dataset", "source"), handle(page, "data_split-7", "dataset", "target"))
    edges = [(e["source"], e["data"]["source_output"], e["target"], e["data"]["target_input"])
             for e in last_graph(page)["edges"]]
    assert ("load", "dataset", "data_split-7", "dataset") in edges

    page.click('[aria-label="Close panel"]')  # the inspector of the new node covers the right side
    # a bad connection is refused, with the reason: the input is already fed
    saves = len(page.evaluate("window.model.saved"))
    drag_between(page, handle(page, "inference", "predictions", "source"),
                 handle(page, "data_split-7", "dataset", "target"))
    expect(page.locator('[data-testid="toast"]').last).to_contain_text(
        "Input data_split-7.dataset is already fed by load.dataset")
    # ...and incompatible types: model_spec is json, train_dataset a dataframe
    drag_between(page, handle(page, "define", "model_spec", "source"),
                 handle(page, "data_split-7", "dataset", "target"))
    assert len(page.evaluate("window.model.saved")) == saves  # nothing was sent

    page.click('[data-testid="palette-train"] button')  # add with the + button
    page.click('[aria-label="Close panel"]')
    drag_between(page, handle(page, "define", "model_spec", "source"),
                 handle(page, "train-8", "train_dataset", "target"))
    expect(page.locator('[data-testid="toast"]').last).to_contain_text(
        "Type mismatch: define.model_spec gives 'json' but train-8.train_dataset expects 'dataframe'")
    assert not [e for e in last_graph(page)["edges"] if e["target"] == "train-8"]

    # delete with the keyboard: select the new edge, press Delete
    page.locator('[data-id="e-load-dataset-data_split-7-dataset"] .react-flow__edge-interaction').click(force=True)
    page.keyboard.press("Delete")
    assert "e-load-dataset-data_split-7-dataset" not in [e["id"] for e in last_graph(page)["edges"]]
    page.locator('[data-testid="node-data_split-7"]').click()
    page.keyboard.press("Backspace")
    assert "data_split-7" not in [n["id"] for n in last_graph(page)["nodes"]]


def test_key_presses_do_not_reach_the_notebook(page: Page) -> None:
    page.evaluate("""() => {
        window.leaked = [];
        document.addEventListener('keydown', e => window.leaked.push(e.key));
    }""")
    page.locator('[data-testid="node-train"]').click()
    for key in ["a", "b", "x", "Enter", "ArrowDown", "Delete", "d", "d", "Backspace"]:
        page.keyboard.press(key)
    assert page.evaluate("window.leaked") == []
    assert page.evaluate("document.querySelector('.trc-root').dataset.lmSuppressShortcuts") == "true"


def test_config_form_edits_and_marks_invalid_fields(page: Page) -> None:
    page.locator('[data-testid="node-split"]').click()
    form = page.locator('[data-testid="config-form"]')
    expect(form).to_be_visible()
    # enum -> select, number with min/max, boolean, array, object
    expect(page.locator('[data-testid="field-shuffle"] input[type=checkbox]')).to_be_checked()
    ratio = page.locator('input[data-field="test_ratio"]')
    expect(ratio).to_have_attribute("type", "number")
    ratio.fill("0.3")
    page.wait_for_function(
        "window.model.lastGraph() && "
        "window.model.lastGraph().nodes.find(n => n.id === 'split').data.config.test_ratio === 0.3")
    assert last_graph(page)["nodes"][1]["data"]["config"] == {"test_ratio": 0.3, "random_seed": 42}
    # an invalid value is marked with Python's words and not sent
    saves = len(page.evaluate("window.model.saved"))
    ratio.fill("1.5")
    expect(ratio).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[data-testid="error-test_ratio"]')).to_have_text("must be < 1, got 1.5")
    expect(page.locator('[data-testid="form-state"]')).to_contain_text("Not applied")
    page.wait_for_timeout(400)
    assert len(page.evaluate("window.model.saved")) == saves
    ratio.fill("0.3")
    expect(page.locator('[data-testid="form-state"]')).to_have_text("Applied to the pipeline.")
    # an edit the kernel refused comes back in problems and is marked too
    page.evaluate("""() => window.model.fromPython('problems', [{node_id: 'split', field: 'random_seed',
        message: 'random_seed: expected an integer, got string \\'x\\'', source: 'edit', op: 'configure'}])""")
    expect(page.locator('[data-testid="error-random_seed"]')).to_contain_text("expected an integer")

    page.locator('[data-testid="node-load"]').click()
    expect(page.locator('select[data-field="source"]')).to_be_visible()
    page.select_option('select[data-field="sample_name"]', label="iris")
    page.wait_for_function(
        "window.model.lastGraph().nodes.find(n => n.id === 'load').data.config.sample_name === 'iris'")
    page.locator('[data-testid="node-define"]').click()
    hyper = page.locator('textarea[data-field="hyperparameters"]')
    hyper.fill('{"alpha": ')
    expect(hyper).to_have_attribute("aria-invalid", "true")
    hyper.fill('{"alpha": 2}')
    page.wait_for_function(
        "window.model.lastGraph().nodes.find(n => n.id === 'define').data.config.hyperparameters.alpha === 2")
    page.locator('[data-testid="node-evaluate"]').click()
    page.locator('[data-testid="field-metrics"] label', has_text="mae").locator("input").uncheck()
    page.wait_for_function(
        "JSON.stringify(window.model.lastGraph().nodes.find(n => n.id === 'evaluate').data.config.metrics)"
        " === JSON.stringify(['mse', 'rmse', 'r2'])")


def test_python_side_changes_show_up(page: Page, server: PageServer) -> None:
    state = json.loads(server.httpd.state)
    graph = state["graph"]
    graph["nodes"].append({"id": "extra", "type": "cardNode", "position": {"x": 300, "y": 300},
                           "data": {"card_type": "data_split", "config": {}}})
    page.evaluate("g => window.model.fromPython('graph', g)", graph)
    expect(page.locator('[data-testid="node-extra"]')).to_be_visible()
    status = {"run_id": "r1", "state": "running", "targets": None, "error": None, "execution_time": None,
              "nodes": {"load": {"status": "completed", "message": "", "progress": None},
                        "split": {"status": "running", "message": "", "progress": {"current": 1, "total": 4}},
                        "train": {"status": "failed", "message": "ValueError: boom", "progress": None}}}
    page.evaluate("s => window.model.fromPython('status', s)", status)
    expect(page.locator('[data-testid="node-load"]')).to_have_attribute("data-status", "completed")
    expect(page.locator('[data-testid="node-split"]')).to_have_attribute("data-status", "running")
    expect(page.locator('[data-testid="progress-split"] > div')).to_have_attribute("style", "width: 25%;")
    expect(page.locator('[data-testid="run-state"]')).to_have_text("running · 2/3")
    # commands travel as custom messages
    page.click('[data-testid="btn-cancel"]')
    page.locator('[data-testid="node-evaluate"]').click()
    page.click('[data-testid="btn-run-to"]', force=True)
    assert {"type": "cancel"} in sent(page)


def test_previews_metrics_chart_table_and_traceback(page: Page) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    previews = {
        "evaluate": {"run_id": "r1", "status": "completed", "view": "metrics", "error": None,
                     "data": {"metrics": {"RMSE": 54.19810879, "R2": 0.45}, "chart_ref": "x"},
                     "images": [{"port": "eval_chart", "ext": "png"}]},
        "load": {"run_id": "r1", "status": "completed", "view": "table", "error": None, "images": [],
                 "data": {"rows": [{"a": i, "b": i / 2} for i in range(25)],
                          "columns": [{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "float64"}],
                          "shape": {"rows": 442, "cols": 2}}},
        "train": {"run_id": "r1", "status": "failed", "view": "metrics", "data": None, "images": [],
                  "error": {"type": "ValueError", "message": "boom", "traceback": "Traceback...\nValueError: boom"}},
        "define": {"run_id": "r1", "status": "completed", "view": "model_summary", "error": None, "images": [],
                   "data": {"model_type": "ridge", "hyperparameters": {"alpha": 0.5}}},
    }
    page.evaluate("p => window.model.fromPython('previews', p)", previews)
    page.locator('[data-testid="node-evaluate"]').click()
    page.click('[data-testid="tab-output"]')
    expect(page.locator('[data-testid="metric-RMSE"]')).to_contain_text("54.198")
    # the chart is asked for, and shown when Python answers
    page.wait_for_function("window.model.sent.some(m => m.type === 'image')")
    assert {"type": "image", "node_id": "evaluate", "port": "eval_chart"} in sent(page)
    page.evaluate("d => window.model.message({type: 'image', node_id: 'evaluate', port: 'eval_chart', "
                  "mime: 'image/png', data: d})", png)
    expect(page.locator('[data-testid="image-eval_chart"]')).to_be_visible()
    page.locator('[data-testid="node-load"]').click()
    expect(page.locator('[data-testid="pager"]')).to_have_text("rows 1–10 of 442 (first 25 loaded)")
    page.click('button[aria-label="Next page"]')
    expect(page.locator('[data-testid="pager"]')).to_have_text("rows 11–20 of 442 (first 25 loaded)")
    page.locator('[data-testid="node-define"]').click()
    expect(page.locator('[data-testid="model-summary"]')).to_contain_text("ridge")
    page.locator('[data-testid="node-train"]').click()
    expect(page.locator('[data-testid="traceback"]')).to_contain_text("ValueError: boom")


def test_layout_moves_nodes_and_errors_from_python_are_shown(page: Page) -> None:
    page.click('[data-testid="btn-layout"]')
    graph = last_graph(page)
    ys = {n["id"]: n["position"]["y"] for n in graph["nodes"]}
    assert len(set(ys.values())) > 1  # no longer one row
    page.evaluate("() => window.model.message({type: 'error', op: 'edit', message: 'Type mismatch: nope'})")
    expect(page.locator('[data-testid="toast"]').last).to_contain_text("Type mismatch: nope")
    page.evaluate("() => window.model.message({type: 'layout'})")
    page.evaluate("() => window.model.message({type: 'python', source: 'import tensorrag as tr'})")
    expect(page.locator('[data-testid="code"]')).to_contain_text("import tensorrag as tr")


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}, {"n": 0}),
    ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "x"}),
    ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "12"}),
    ({"type": "object", "properties": {"r": {"type": "number", "exclusiveMaximum": 1}}}, {"r": 1}),
    ({"type": "object", "properties": {"s": {"type": "string", "enum": ["csv", "url"]}}}, {"s": "cvs"}),
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 3, "pattern": "^a"}}}, {"s": "b"}),
    ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]},
                                             "maxItems": 1}}}, {"a": ["x", "z"]}),
    ({"type": "object", "properties": {"o": {"type": "object", "properties": {"k": {"type": "boolean"}},
                                             "required": ["k"]}}}, {"o": {"k": "maybe"}}),
    ({"type": "object", "properties": {"o": {"type": "object", "properties": {"k": {"type": "boolean"}},
                                             "required": ["k"]}}}, {"o": {}}),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"b": 1}),
    ({"type": "object", "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}, {"a": "q"}),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"type": "integer",
                                                                                  "maximum": 3}}}, {"a": 9}),
    ({"type": "object", "properties": {"b": {"type": "boolean", "default": True}}}, {"b": "TRUE"}),
    ({"type": "object", "properties": {"b": {"type": "number", "default": 1}}}, {"b": None}),
]


def test_form_validation_matches_python(page: Page) -> None:
    """The browser's checks (schema.ts) give Python's fields, messages and filled values."""
    for schema, config in CASES:
        filled, problems = validate_config(schema, config)
        got = page.evaluate("([s, c]) => window.widget.validateConfig(s, c)", [schema, config])
        assert got["problems"] == problems, (schema, config)
        assert got["filled"] == json.loads(json.dumps(filled)), (schema, config)
    # and the built-in cards' own schemas
    for card in Canvas(build()).palette:
        filled, problems = validate_config(card["json_schema"], {})
        got = page.evaluate("([s, c]) => window.widget.validateConfig(s, c)", [card["json_schema"], {}])
        assert got == {"filled": filled, "problems": problems}, card["card_type"]


def test_big_graph_is_drawn_compact_and_comes_back_full_when_zoomed_in(browser, server: PageServer) -> None:
    import tensorrag as tr

    p = tr.Pipeline("big")
    p.add("data_load", id="n0", position={"x": 0, "y": 0})
    for i in range(1, 400):
        p.add("data_split", id=f"n{i}", position={"x": (i % 25) * 260, "y": (i // 25) * 170})
        p.connect(f"n{i - 1}", "dataset" if i == 1 else "train_dataset", f"n{i}", "dataset")
    c = Canvas(p)
    before = server.httpd.state
    server.set_state(canvas_state(c))
    c.close()
    page = browser.new_page(viewport={"width": 1220, "height": 760})
    try:
        page.goto(server.url)
        page.wait_for_function("window.ready === true")
        # fitted at once: every node on screen as a compact card, the edges as one path
        expect(page.locator(".trc-node-compact")).to_have_count(400)
        expect(page.locator('[data-testid="edge-overlay"]')).to_have_attribute("data-edges", "399")
        expect(page.locator(".react-flow__edge")).to_have_count(0)
        box = page.locator(".react-flow__pane").bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(10):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(30)
        # zoomed in: full cards with handles, React Flow edges, only what is on screen (culling)
        expect(page.locator(".trc-node-compact")).to_have_count(0)
        expect(page.locator(".react-flow__edge").first).to_be_attached()
        assert 0 < page.locator(".react-flow__node").count() < 60
        assert page.locator(".react-flow__node .react-flow__handle").count() > 0
    finally:
        page.close()
        server.httpd.state = before


def test_a_widget_displayed_twice_stays_consistent(browser, server: PageServer) -> None:
    page = browser.new_page(viewport={"width": 1220, "height": 1400})
    try:
        page.goto(server.url + "?twice=1")
        page.wait_for_function("window.ready === true")
        first, second = page.locator("#host .trc-root"), page.locator("#host2 .trc-root")
        expect(second.locator(".react-flow__node")).to_have_count(6)
        # an edit in one view shows in the other (one model, one document)
        first.locator('[data-testid="palette-evaluate"] button').click()
        expect(first.locator(".react-flow__node")).to_have_count(7)
        expect(second.locator('[data-testid="node-evaluate-7"]')).to_be_attached()
        # and so does a run state sent from Python
        page.evaluate("""() => window.model.fromPython('status', {run_id: 'r', state: 'running', targets: null,
            error: null, execution_time: null, nodes: {load: {status: 'running', message: '', progress: null}}})""")
        expect(first.locator('[data-testid="node-load"]')).to_have_attribute("data-status", "running")
        expect(second.locator('[data-testid="node-load"]')).to_have_attribute("data-status", "running")
        # each view keeps its own selection and panels
        expect(first.locator('[data-testid="inspector"]')).to_be_visible()
        expect(second.locator('[data-testid="inspector"]')).to_have_count(0)
    finally:
        page.close()
