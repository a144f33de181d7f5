"""Editing the canvas in headless Chromium: undo/redo, copy/paste, find, the context menu, disabled
nodes and the dark theme. Same stub-model page as test_browser.py; where "Python follows" matters, the
documents the canvas assigned are replayed into a real Pipeline with :func:`apply_document`.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.demo import build
from tensorrag.widget._canvas import Canvas
from tensorrag.widget._sync import apply_document

from .browser import PageServer, canvas_state, unavailable

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

DEMO_IDS = ["load", "split", "define", "train", "evaluate", "inference"]


@pytest.fixture(scope="module")
def demo_state() -> dict[str, Any]:
    c = Canvas(build())
    state = canvas_state(c)
    c.close()
    return state


@pytest.fixture(scope="module")
def server(demo_state):
    srv = PageServer()
    srv.set_state(demo_state)
    yield srv
    srv.close()


def open_page(browser, server: PageServer, errors: list[str], width: int = 1220, height: int = 760) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_function("window.ready === true")
    pg.wait_for_selector(".react-flow__node")
    return pg


@pytest.fixture
def page(browser, server) -> Page:
    errors: list[str] = []
    pg = open_page(browser, server, errors)
    yield pg
    pg.context.close()
    assert errors == [], errors


def last_graph(page: Page) -> dict[str, Any]:
    return page.evaluate("window.model.lastGraph()")


def node_ids(graph: dict[str, Any]) -> list[str]:
    return [n["id"] for n in graph["nodes"]]


def edge_keys(graph: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["source"], e["data"]["source_output"], e["target"], e["data"]["target_input"]) for e in graph["edges"]}


def saves(page: Page) -> int:
    return page.evaluate("window.model.saved.length")


def empty_spot(page: Page) -> tuple[float, float]:
    """A point of the pane with no node, edge, zoom button or minimap under it (bottom, a third across)."""
    box = page.locator(".react-flow__pane").bounding_box()
    assert box
    return box["x"] + box["width"] * 0.35, box["y"] + box["height"] - 25


def focus_canvas(page: Page) -> None:
    """Click an empty part of the pane: the canvas has the keyboard, nothing is selected."""
    page.mouse.click(*empty_spot(page))


def python_follows(graph: dict[str, Any]) -> tr.Pipeline:
    """A real pipeline that started as the demo and received ``graph`` as a canvas edit."""
    p = build()
    result = apply_document(p, copy.deepcopy(graph))
    assert result.errors == [], result.errors
    return p


# --------------------------------------------------------------------------- undo / redo


def test_undo_redo_delete_box_delete_and_layout_and_python_follows(page: Page) -> None:
    start = page.evaluate("window.model.get('graph')")
    page.locator('[data-testid="node-train"]').click()
    page.click('[aria-label="Close panel"]')
    page.keyboard.press("Delete")
    gone = last_graph(page)
    assert "train" not in node_ids(gone) and not [e for e in gone["edges"] if "train" in (e["source"], e["target"])]
    page.keyboard.press("Control+z")
    back = last_graph(page)
    assert node_ids(back) == DEMO_IDS  # in its old place in the order (run tie-breaks)
    assert edge_keys(back) == edge_keys(start)
    expect(page.locator('[data-testid="node-train"]')).to_be_visible()
    p = python_follows(back)
    assert list(p.nodes) == DEMO_IDS and len(p.edges) == 7
    page.keyboard.press("Control+Shift+z")
    assert "train" not in node_ids(last_graph(page))
    page.keyboard.press("Control+z")
    assert node_ids(last_graph(page)) == DEMO_IDS

    # box delete: select everything with a shift-drag over the pane, delete, undo brings it all back
    page.evaluate("() => window.model.fromPython('graph', window.model.get('graph'))")
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane
    page.keyboard.down("Shift")
    page.mouse.move(pane["x"] + 5, pane["y"] + 5)
    page.mouse.down()
    page.mouse.move(pane["x"] + pane["width"] - 5, pane["y"] + pane["height"] - 5, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator(".react-flow__node.selected")).to_have_count(6)
    page.keyboard.press("Delete")
    assert node_ids(last_graph(page)) == []
    page.keyboard.press("Control+z")
    assert node_ids(last_graph(page)) == DEMO_IDS and edge_keys(last_graph(page)) == edge_keys(start)

    # layout is one undoable step; Ctrl+Y redoes it (nodes moved off the first display's layout first)
    page.evaluate(
        """() => { const g = structuredClone(window.model.get('graph'));
        g.nodes.forEach((n, i) => { n.position = { x: 40 + 260 * i, y: 400 - 60 * i }; });
        window.model.fromPython('graph', g); }"""
    )
    expect(page.locator('[data-testid="node-train"]')).to_be_visible()
    before = {n["id"]: n["position"] for n in page.evaluate("window.model.get('graph')")["nodes"]}
    page.click('[data-testid="btn-layout"]')
    laid = {n["id"]: n["position"] for n in last_graph(page)["nodes"]}
    assert laid != before
    page.click('[data-testid="btn-undo"]')
    assert {n["id"]: n["position"] for n in last_graph(page)["nodes"]} == before
    focus_canvas(page)
    page.keyboard.press("Control+y")
    assert {n["id"]: n["position"] for n in last_graph(page)["nodes"]} == laid
    p = python_follows(last_graph(page))
    assert {nid: n.position for nid, n in p.nodes.items()} == laid


def test_undo_of_load_and_of_a_config_edit(page: Page, demo_state) -> None:
    page.click('[data-testid="btn-load"]')
    assert {"type": "load"} in page.evaluate("window.model.sent")
    # what Python answers: the saved pipeline (two nodes), then "loaded"
    saved = copy.deepcopy(demo_state["graph"])
    saved["nodes"] = saved["nodes"][:2]
    saved["edges"] = saved["edges"][:1]
    page.evaluate("g => window.model.fromPython('graph', g)", saved)
    page.evaluate("() => window.model.message({type: 'loaded'})")
    expect(page.locator(".react-flow__node")).to_have_count(2)
    focus_canvas(page)
    page.keyboard.press("Control+z")
    assert node_ids(last_graph(page)) == DEMO_IDS
    assert len(python_follows(last_graph(page)).edges) == 7

    # a config edit is undone; Ctrl+Z typed inside the form undoes text, not the graph
    page.locator('[data-testid="node-split"]').click()
    field = page.locator('input[data-field="test_ratio"]')
    field.fill("0.3")
    page.wait_for_function(
        "window.model.lastGraph().nodes.find(n => n.id === 'split').data.config.test_ratio === 0.3")
    n = saves(page)
    field.press("Control+z")
    assert saves(page) == n  # the key stayed with the text field
    focus_canvas(page)
    page.keyboard.press("Control+z")
    assert next(n for n in last_graph(page)["nodes"] if n["id"] == "split")["data"]["config"]["test_ratio"] == 0.2


def test_undo_keeps_what_python_changed_meanwhile(page: Page) -> None:
    page.locator('[data-testid="node-evaluate"]').click()
    page.click('[aria-label="Close panel"]')
    page.keyboard.press("Delete")
    # Python adds a node and reconfigures another before the user undoes the delete
    graph = copy.deepcopy(page.evaluate("window.model.get('graph')"))
    graph["nodes"].append({"id": "from_python", "type": "cardNode", "position": {"x": 0, "y": 400},
                           "data": {"card_type": "model_define", "config": {"model_type": "lasso"}}})
    graph["nodes"][0]["data"]["config"]["sample_name"] = "iris"
    page.evaluate("g => window.model.fromPython('graph', g)", graph)
    focus_canvas(page)
    page.keyboard.press("Control+z")
    back = last_graph(page)
    assert node_ids(back) == [*DEMO_IDS, "from_python"]
    assert back["nodes"][0]["data"]["config"]["sample_name"] == "iris"
    assert ("train", "trained_model", "evaluate", "trained_model") in edge_keys(back)


# --------------------------------------------------------------------------- copy / paste / duplicate / select all


def test_copy_paste_keeps_internal_edges_with_new_ids_and_duplicate_and_select_all(page: Page) -> None:
    page.locator('[data-testid="node-define"]').click()
    page.click('[aria-label="Close panel"]')
    page.locator('[data-testid="node-train"]').click(modifiers=["Control"])
    page.click('[aria-label="Close panel"]')
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    graph = last_graph(page)
    new = [n for n in graph["nodes"] if n["id"] not in DEMO_IDS]
    assert [n["id"] for n in new] == ["model_define-7", "train-8"] and graph["nodeCounter"] == 8
    old = {n["id"]: n for n in graph["nodes"]}
    assert new[0]["position"] == {"x": old["define"]["position"]["x"] + 40, "y": old["define"]["position"]["y"] + 40}
    assert new[0]["data"]["config"] == old["define"]["data"]["config"]
    # the edge between the copied nodes is pasted too; edges from outside (split -> train) are not
    assert ("model_define-7", "model_spec", "train-8", "model_spec") in edge_keys(graph)
    assert not [e for e in graph["edges"] if e["target"] == "train-8" and e["source"] != "model_define-7"]
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)  # the pasted copies are selected
    p = python_follows(graph)
    assert [(e.source, e.target) for e in p.edges if e.target == "train-8"] == [("model_define-7", "train-8")]
    page.keyboard.press("Control+v")  # a second paste lands further away
    again = next(n for n in last_graph(page)["nodes"] if n["id"] == "model_define-9")
    assert again["position"]["x"] == old["define"]["position"]["x"] + 80

    page.locator('[data-testid="node-load"]').click()
    page.click('[aria-label="Close panel"]')
    page.keyboard.press("Control+d")
    dup = [n for n in last_graph(page)["nodes"] if n["data"]["card_type"] == "data_load"]
    assert [n["id"] for n in dup] == ["load", "data_load-11"]
    page.keyboard.press("Control+a")
    expect(page.locator(".react-flow__node.selected")).to_have_count(len(last_graph(page)["nodes"]))


# --------------------------------------------------------------------------- find


def test_find_by_id_type_and_config_value_jumps_and_highlights(page: Page) -> None:
    focus_canvas(page)
    page.keyboard.press("Control+f")
    find = page.locator('[data-testid="find-input"]')
    expect(find).to_be_focused()
    find.fill("diabetes")  # a config value of node load
    expect(page.locator('[data-testid="find-count"]')).to_have_text("1/1")
    expect(page.locator(".react-flow__node.trc-match")).to_have_count(1)
    find.press("Enter")
    expect(page.locator('.react-flow__node[data-id="load"]')).to_have_class(re.compile("trc-found"))
    expect(page.locator('.react-flow__node[data-id="load"]')).to_have_class(re.compile("selected"))
    find.fill("data_split")  # a card type
    expect(page.locator(".trc-find-item")).to_have_count(1)
    find.fill("tra")  # ids, titles: train, and configs with target_column "target"
    assert page.locator(".trc-find-item").count() >= 1
    find.press("Escape")
    expect(page.locator('[data-testid="find"]')).to_have_count(0)
    expect(page.locator(".react-flow__node.trc-match")).to_have_count(0)


def test_find_at_200_nodes_brings_the_node_on_screen(browser, server: PageServer, demo_state) -> None:
    p = tr.Pipeline("two-hundred")
    p.add("data_load", id="n0", position={"x": 0, "y": 0})
    for i in range(1, 200):
        p.add("data_split", id=f"n{i}", position={"x": (i % 20) * 260, "y": (i // 20) * 170}, test_ratio=0.2)
        p.connect(f"n{i - 1}", "dataset" if i == 1 else "train_dataset", f"n{i}", "dataset")
    p.configure("n157", random_seed=4242)
    c = Canvas(p)
    server.set_state(canvas_state(c))
    c.close()
    errors: list[str] = []
    page = open_page(browser, server, errors)
    try:
        focus_canvas(page)
        page.keyboard.press("Control+f")
        page.locator('[data-testid="find-input"]').fill("4242")
        expect(page.locator('[data-testid="find-count"]')).to_have_text("1/1")
        page.locator('[data-testid="find-input"]').press("Enter")
        node = page.locator('.react-flow__node[data-id="n157"]')
        expect(node).to_have_class(re.compile("trc-found"))
        page.wait_for_timeout(400)  # the 200 ms jump
        box, pane = node.bounding_box(), page.locator(".react-flow__pane").bounding_box()
        assert box and pane
        assert pane["x"] <= box["x"] and box["x"] + box["width"] <= pane["x"] + pane["width"]
        assert pane["y"] <= box["y"] and box["y"] + box["height"] <= pane["y"] + pane["height"]
        assert box["width"] > 150  # readable: zoomed in, not a speck
        assert errors == []
    finally:
        page.context.close()
        server.set_state(demo_state)


# --------------------------------------------------------------------------- context menu (bug 7) and disabled nodes


LISTEN_CONTEXTMENU = """() => {
    window.outer = [];
    // where JupyterLab listens for its cell menu: on the document, bubbling
    document.addEventListener('contextmenu', e => window.outer.push(e.defaultPrevented));
}"""


def test_right_click_opens_our_menu_not_the_notebooks(page: Page) -> None:
    page.evaluate(LISTEN_CONTEXTMENU)
    page.locator('[data-testid="node-split"]').click(button="right")
    menu = page.locator('[data-testid="context-menu"]')
    expect(menu).to_be_visible()
    labels = ["Run to here", "Duplicate", "Copy", "Disable", "Open card source", "Delete"]
    expect(menu.locator('[role="menuitem"]')).to_have_text([re.compile(x) for x in labels])
    assert page.evaluate("window.outer") == []  # the event never reached the notebook
    assert page.evaluate("document.querySelector('.trc-root').dataset.jpSuppressContextMenu") == "true"
    page.click('[data-testid="menu-run-to"]')
    assert {"type": "run_to", "node_id": "split"} in page.evaluate("window.model.sent")
    expect(menu).to_have_count(0)

    page.locator('[data-testid="node-split"]').click(button="right")
    page.click('[data-testid="menu-source"]')
    assert {"type": "card_source", "node_id": "split"} in page.evaluate("window.model.sent")
    page.evaluate("""() => window.model.message({type: 'card_source', node_id: 'split', card_type: 'data_split',
        path: 'tensorrag/cards/data/split.py', source: 'class DataSplit(BaseCard): ...'})""")
    expect(page.locator('[data-testid="card-source"]')).to_contain_text("class DataSplit(BaseCard)")
    page.locator('[data-testid="card-source"] [aria-label="Close"]').click()

    page.locator('[data-testid="node-split"]').click(button="right")
    page.click('[data-testid="menu-duplicate"]')
    assert "data_split-7" in node_ids(last_graph(page))
    page.locator('[data-testid="node-data_split-7"]').click(button="right")
    page.click('[data-testid="menu-delete"]')
    assert "data_split-7" not in node_ids(last_graph(page))

    # the pane has its menu too; Escape closes it
    page.mouse.click(*empty_spot(page), button="right")
    expect(menu.locator('[role="menuitem"]').first).to_contain_text("Paste")
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    page.mouse.click(*empty_spot(page), button="right")
    page.click('[data-testid="menu-undo"]')  # undoes the delete
    assert "data_split-7" in node_ids(last_graph(page))
    assert page.evaluate("window.outer") == []


def test_disable_from_the_menu_greys_the_node_and_python_skips_it(page: Page, tmp_path) -> None:
    page.locator('[data-testid="node-train"]').click(button="right")
    page.click('[data-testid="menu-disable"]')
    node = next(n for n in last_graph(page)["nodes"] if n["id"] == "train")
    assert node["data"]["disabled"] is True
    expect(page.locator('[data-testid="node-train"]')).to_have_class(re.compile("trc-disabled"))
    p = python_follows(last_graph(page))
    assert p.nodes["train"].disabled
    # what a run of that pipeline does: train and what needs it are skipped, the rest runs
    from tensorrag.pipeline._bypass import bypassed
    assert bypassed(p, p.nodes) == {"train": "disabled", "evaluate": "upstream node 'train' is disabled",
                                    "inference": "upstream node 'train' is disabled"}
    page.locator('[data-testid="node-train"]').click(button="right")
    expect(page.locator('[data-testid="menu-disable"]')).to_have_text("Enable")
    page.click('[data-testid="menu-disable"]')
    assert "disabled" not in next(n for n in last_graph(page)["nodes"] if n["id"] == "train")["data"]


# --------------------------------------------------------------------------- dark theme (bug 8)

JP_DARK = {  # JupyterLab's dark theme variables (the ones the canvas reads)
    "--jp-layout-color0": "#111111", "--jp-layout-color1": "#212121", "--jp-layout-color2": "#424242",
    "--jp-border-color1": "#616161", "--jp-border-color2": "#424242",
    "--jp-ui-font-color0": "rgba(255, 255, 255, 1)", "--jp-ui-font-color1": "rgba(255, 255, 255, 0.87)",
    "--jp-ui-font-color2": "rgba(255, 255, 255, 0.54)",
}

COLOURS = """() => {
    const parse = (c) => {
        const m = c.match(/[\\d.]+/g).map(Number);
        return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
    };
    const bgOf = (el) => {  // the first opaque background up the tree
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c[3] > 0.5) return c;
        }
        return [255, 255, 255, 1];
    };
    const lum = ([r, g, b]) => {
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (fg, bg) => fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
    const contrast = (fg, bg) => {
        const a = lum(over(fg, bg)), b = lum(bg);
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    };
    const text = (sel) => { const el = document.querySelector(sel); const bg = bgOf(el);
        return { bg: lum(bg), contrast: contrast(parse(getComputedStyle(el).color), bg) }; };
    const icon = (sel) => { const el = document.querySelector(sel); const bg = bgOf(el.parentElement);
        return { bg: lum(bg), contrast: contrast(parse(getComputedStyle(el).fill), bg) }; };
    const mm = document.querySelector('.react-flow__minimap');
    return {
        card: text('[data-testid="node-train"] .trc-node-title'),
        port: text('[data-testid="node-train"] .trc-port-name'),
        zoom: icon('.react-flow__controls-button svg'),
        console: text('[data-testid="btn-console"]'),
        toolbar: text('[data-testid="btn-layout"]'),
        minimap: lum(bgOf(mm)),
        canvas: lum(bgOf(document.querySelector('.react-flow__pane'))),
        flowDark: document.querySelector('.react-flow').classList.contains('dark'),
    };
}"""


def check_readable(c: dict[str, Any], dark: bool) -> None:
    for part in ("card", "port", "console", "toolbar"):
        assert c[part]["contrast"] >= 4.5, (part, c[part])
    assert c["zoom"]["contrast"] >= 3, c["zoom"]  # icons: WCAG's non-text contrast
    for part in ("card", "zoom", "console"):
        assert (c[part]["bg"] < 0.2) if dark else (c[part]["bg"] > 0.5), (part, c[part])
    assert (c["minimap"] < 0.2) == dark and (c["canvas"] < 0.2) == dark, c
    assert c["flowDark"] == dark


def test_dark_theme_follows_jupyterlab_and_stays_readable(page: Page, tmp_path) -> None:
    page.click('[data-testid="btn-console"]')  # the console button in its "on" state
    check_readable(page.evaluate(COLOURS), dark=False)
    # JupyterLab switches to its dark theme: body attribute + --jp-* variables, the canvas follows live
    page.evaluate("""vars => {
        for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v);
        document.body.style.background = '#111111';
        document.body.setAttribute('data-jp-theme-light', 'false');
    }""", JP_DARK)
    page.wait_for_timeout(300)  # let the theme change render (not a timing assertion)
    check_readable(page.evaluate(COLOURS), dark=True)
    expect(page.locator(".trc-root")).to_have_attribute("data-theme", "dark")
    page.locator('[data-testid="node-train"]').click(button="right")  # the menu is dark too
    menu = page.evaluate("() => getComputedStyle(document.querySelector('.trc-menu')).backgroundColor")
    assert menu == "rgb(17, 17, 17)", menu
    page.keyboard.press("Escape")
    page.screenshot(path=str(tmp_path / "dark.png"))
    page.evaluate("() => document.body.setAttribute('data-jp-theme-light', 'true')")
    expect(page.locator(".trc-root")).to_have_attribute("data-theme", "light")
    assert json.dumps(page.evaluate(COLOURS)["flowDark"]) == "false"
