"""The canvas's second pass in headless Chromium (stub model): errors and facts on the cards, durations,
the timeline and run-history panels, groups and folded cards, compact cards and a status minimap at
any size, and zoom to selection on a 200-node graph.

Every test here fails on the canvas before these parts existed. ``TENSORRAG_SHOTS=dir`` saves the
screenshots used by docs/canvas.md.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.demo import build
from tensorrag.widget._canvas import Canvas

from .browser import PageServer, canvas_state, unavailable

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

SHOTS = os.environ.get("TENSORRAG_SHOTS")
T0 = "2026-01-05T10:00:00.000000Z"


def at(seconds: float) -> str:
    whole = int(seconds)
    return f"2026-01-05T10:00:{whole:02d}.{round((seconds - whole) * 1e6):06d}Z"


def rec(status: str, start: float | None, end: float | None, message: str = "") -> dict[str, Any]:
    return {"status": status, "message": message, "progress": None,
            "started": at(start) if start is not None else None, "finished": at(end) if end is not None else None}


#: A failed run of the demo: load/split/define ran, train failed, the rest was skipped; define was cached.
FAILED_RUN = {
    "run_id": "20260105T100000000000Z-abcdef", "state": "failed", "targets": None, "error": None,
    "execution_time": 4.0,
    "nodes": {
        "load": rec("completed", 0.0, 1.0),
        "split": rec("completed", 1.0, 1.5),
        "define": rec("cached", None, 0.1),
        "train": rec("failed", 1.5, 4.0, "ValueError: boom"),
        "evaluate": rec("skipped", None, 4.0),
        "inference": rec("skipped", None, 4.0),
    },
}
TRACEBACK = 'Traceback (most recent call last):\n  File "cards.py", line 3, in train\nValueError: boom\n'
FAILED_PREVIEWS = {"train": {"run_id": FAILED_RUN["run_id"], "status": "failed", "view": "metrics", "data": None,
                             "error": {"type": "ValueError", "message": "boom", "traceback": TRACEBACK}, "images": []}}


@pytest.fixture(scope="module")
def server():
    srv = PageServer()
    c = Canvas(build())
    srv.set_state(canvas_state(c))
    c.close()
    yield srv
    srv.close()


def open_page(browser: Any, server: PageServer, state: dict[str, Any] | None = None) -> tuple[Page, list[str]]:
    if state is not None:
        server.set_state(state)
    context = browser.new_context(viewport={"width": 1220, "height": 760})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_function("window.ready === true")
    pg.wait_for_selector(".react-flow__node")
    return pg, errors


@pytest.fixture
def page(browser, server):
    pg, errors = open_page(browser, server)
    yield pg
    pg.context.close()
    assert errors == [], errors


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.locator('[data-testid="canvas"]').screenshot(path=str(Path(SHOTS) / name))


def sent(page: Page, kind: str) -> list[dict[str, Any]]:
    return [m for m in page.evaluate("window.model.sent") if m.get("type") == kind]


def show_failed_run(page: Page) -> None:
    page.evaluate("s => window.model.fromPython('status', s)", FAILED_RUN)
    page.evaluate("p => window.model.fromPython('previews', p)", FAILED_PREVIEWS)


def zoom(page: Page) -> float:
    style = page.locator(".react-flow__viewport").get_attribute("style") or ""
    m = re.search(r"scale\(([\d.]+)\)", style)
    assert m, style
    return float(m.group(1))


def settled_zoom(page: Page) -> float:
    """The zoom once the viewport animation has ended (it runs longer on a loaded machine)."""
    page.wait_for_timeout(300)
    last, deadline = zoom(page), time.monotonic() + 10
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now = zoom(page)
        if now == last:
            return now
        last = now
    raise AssertionError("the viewport never stopped moving")


def echo_graph(page: Page) -> None:
    """What Python does after an edit it accepted: assign the document back."""
    page.evaluate("() => window.model.fromPython('graph', window.model.lastGraph())")


# --------------------------------------------------------------------------- errors, facts, durations


def test_failed_card_shows_its_error_and_a_click_opens_the_traceback(page: Page) -> None:
    show_failed_run(page)
    err = page.locator('[data-testid="error-train"]')
    expect(err).to_have_text("✖ ValueError: boom")
    expect(page.locator('[data-testid="error-load"]')).to_have_count(0)  # only failed cards
    shot(page, "canvas-failed.png")
    err.click()
    modal = page.locator('[data-testid="traceback-modal"]')
    expect(modal).to_be_visible()
    expect(modal.locator('[data-testid="traceback-text"]')).to_have_text(TRACEBACK.rstrip("\n"))
    page.keyboard.press("Escape")
    expect(modal).to_have_count(0)
    # without a preview yet, the status message is the error line
    page.evaluate("() => window.model.fromPython('previews', {})")
    expect(err).to_have_text("✖ ValueError: boom")


def test_cards_show_key_config_values(page: Page) -> None:
    facts = page.locator('[data-testid="facts-split"]')
    expect(facts).to_contain_text("test_ratio 0.2")
    expect(facts).to_contain_text("random_seed 42")
    expect(page.locator('[data-testid="facts-define"]')).to_contain_text('model_type "ridge"')
    expect(page.locator('[data-testid="facts-define"]')).to_contain_text("hyperparameters {alpha: 0.5}")
    # a config edit from Python shows at once
    graph = page.evaluate("() => structuredClone(window.model.get('graph'))")
    for n in graph["nodes"]:
        if n["id"] == "split":
            n["data"]["config"]["test_ratio"] = 0.35
    page.evaluate("g => window.model.fromPython('graph', g)", graph)
    expect(facts).to_contain_text("test_ratio 0.35")


def test_durations_on_the_cards_and_the_timeline(page: Page) -> None:
    show_failed_run(page)
    expect(page.locator('[data-testid="took-load"]')).to_have_text("1.00 s")
    expect(page.locator('[data-testid="took-split"]')).to_have_text("0.50 s")
    expect(page.locator('[data-testid="took-train"]')).to_have_text("2.50 s")
    expect(page.locator('[data-testid="took-define"]')).to_have_text("cached")
    page.click('[data-testid="btn-timeline"]')
    tl = page.locator('[data-testid="timeline"]')
    expect(tl).to_be_visible()
    rows = tl.locator(".trc-tl-row")
    # ordered by start; bars placed on one time axis (train starts at 1.5 s of 4 s and takes 2.5 s)
    expect(rows).to_have_count(6)
    order = [r.get_attribute("data-testid") for r in rows.all()]
    assert order[:4] == ["tl-define", "tl-load", "tl-split", "tl-train"] or order[:4] == [
        "tl-load", "tl-define", "tl-split", "tl-train"], order
    track = tl.locator('[data-testid="tl-train"] .trc-tl-track').bounding_box()
    bar = tl.locator('[data-testid="tl-train"] .trc-tl-bar').bounding_box()
    assert track and bar
    assert abs((bar["x"] - track["x"]) / track["width"] - 1.5 / 4) < 0.02
    assert abs(bar["width"] / track["width"] - 2.5 / 4) < 0.02
    expect(tl.locator('[data-testid="tl-train"] .trc-tl-time')).to_have_text("2.50 s")
    shot(page, "canvas-timeline.png")
    # a click on a row brings that node into view
    tl.locator('[data-testid="tl-inference"]').click()
    page.wait_for_timeout(400)
    pane = page.locator(".react-flow__pane").bounding_box()
    node = page.locator('[data-testid="node-inference"]').bounding_box()
    assert pane and node
    cx, cy = node["x"] + node["width"] / 2, node["y"] + node["height"] / 2
    assert abs(cx - (pane["x"] + pane["width"] / 2)) < 40 and abs(cy - (pane["y"] + pane["height"] / 2)) < 40


def test_run_history_lists_past_runs_and_reopens_one(page: Page) -> None:
    page.click('[data-testid="btn-history"]')
    panel = page.locator('[data-testid="run-history"]')
    expect(panel).to_be_visible()
    page.wait_for_function("window.model.sent.some(m => m.type === 'runs')")
    runs = [
        {"run_id": "20260105T110000000000Z-222222", "status": "completed", "started_at": "2026-01-05T11:00:00Z",
         "execution_time": 12.5, "nodes": {"load": "completed", "split": "cached"}, "failed": []},
        {"run_id": "20260105T100000000000Z-abcdef", "status": "failed", "started_at": "2026-01-05T10:00:00Z",
         "execution_time": 4.0, "nodes": {"load": "completed", "train": "failed"}, "failed": ["train"]},
    ]
    page.evaluate("r => window.model.message({type: 'runs', runs: r})", runs)
    expect(panel.locator("tbody tr")).to_have_count(2)
    first = panel.locator('[data-testid="run-20260105T110000000000Z-222222"]')
    expect(first).to_contain_text("completed")
    expect(first).to_contain_text("12.5 s")
    failed = panel.locator('[data-testid="run-20260105T100000000000Z-abcdef"]')
    expect(failed).to_contain_text("1 failed")
    failed.locator("button").click()
    assert sent(page, "open_run") == [{"type": "open_run", "run_id": "20260105T100000000000Z-abcdef"}]
    # Python answers by showing that run: its statuses land on the cards, and the row says "shown"
    show_failed_run(page)
    expect(page.locator('[data-testid="node-train"]')).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("shown")
    shot(page, "canvas-history.png")
    # a run that ends asks for the list again
    before = len(sent(page, "runs"))
    page.evaluate("""s => window.model.fromPython('status', {...s, state: 'running'})""", FAILED_RUN)
    page.evaluate("s => window.model.fromPython('status', s)", {**FAILED_RUN, "state": "completed"})
    page.wait_for_function(f"window.model.sent.filter(m => m.type === 'runs').length > {before}")


# --------------------------------------------------------------------------- groups and folded cards


def test_group_selected_nodes_collapse_rename_and_ungroup(page: Page) -> None:
    page.click('[data-testid="node-load"] .trc-node-title')
    page.click('[data-testid="node-split"] .trc-node-title', modifiers=["Control"])
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.click('[data-testid="btn-group"]')
    graph = page.evaluate("window.model.lastGraph()")
    assert graph["ui"]["groups"] == [{"id": "group-1", "label": "Group 1", "nodes": ["load", "split"],
                                      "collapsed": False}]
    echo_graph(page)
    frame = page.locator('[data-testid="group-group-1"]')
    expect(frame).to_be_visible()
    # the frame surrounds its nodes
    fb = frame.bounding_box()
    for nid in ("load", "split"):
        nb = page.locator(f'[data-testid="node-{nid}"]').bounding_box()
        assert fb and nb and fb["x"] <= nb["x"] and fb["y"] <= nb["y"]
        assert nb["x"] + nb["width"] <= fb["x"] + fb["width"] and nb["y"] + nb["height"] <= fb["y"] + fb["height"]
    shot(page, "canvas-group.png")
    # collapse: the members (and their edges) are hidden; expand brings them back
    page.click('[data-testid="group-toggle-group-1"]')
    assert page.evaluate("window.model.lastGraph()")["ui"]["groups"][0]["collapsed"] is True
    echo_graph(page)
    expect(page.locator('[data-testid="node-load"]')).to_be_hidden()
    expect(frame).to_contain_text("2 nodes")
    page.click('[data-testid="group-toggle-group-1"]')
    echo_graph(page)
    expect(page.locator('[data-testid="node-load"]')).to_be_visible()
    # rename
    page.dblclick('[data-testid="group-label-group-1"]')
    page.fill(".trc-group-input", "Data prep")
    page.keyboard.press("Enter")
    assert page.evaluate("window.model.lastGraph()")["ui"]["groups"][0]["label"] == "Data prep"
    echo_graph(page)
    # drag the title bar: every member moves by the same amount, committed as moves
    before = {n["id"]: n["position"] for n in page.evaluate("window.model.lastGraph()")["nodes"]}
    head = frame.locator(".trc-group-label").bounding_box()
    assert head
    page.mouse.move(head["x"] + 5, head["y"] + 5)
    page.mouse.down()
    page.mouse.move(head["x"] + 65, head["y"] + 45, steps=8)
    page.mouse.up()
    after = {n["id"]: n["position"] for n in page.evaluate("window.model.lastGraph()")["nodes"]}
    dx = {nid: after[nid]["x"] - before[nid]["x"] for nid in before}
    dy = {nid: after[nid]["y"] - before[nid]["y"] for nid in before}
    assert dx["load"] == dx["split"] and dx["load"] > 20 and dy["load"] == dy["split"] > 10
    assert dx["train"] == 0 and dy["train"] == 0
    echo_graph(page)
    # ungroup: the frame goes, the nodes stay
    page.click('[data-testid="group-remove-group-1"]')
    assert "ui" not in page.evaluate("window.model.lastGraph()")
    echo_graph(page)
    expect(frame).to_have_count(0)
    expect(page.locator(".react-flow__node")).to_have_count(6)


def test_fold_a_card_keeps_its_edges(page: Page) -> None:
    full = page.locator('[data-testid="node-train"]').bounding_box()
    edges = page.locator(".react-flow__edge").count()
    page.click('[data-testid="fold-train"]')
    assert page.evaluate("window.model.lastGraph()")["ui"] == {"collapsed": ["train"]}
    echo_graph(page)
    node = page.locator('[data-testid="node-train"]')
    expect(node).to_have_class(re.compile(r"trc-node-collapsed"))
    expect(node.locator(".trc-port")).to_have_count(0)
    folded = node.bounding_box()
    assert full and folded and folded["height"] < full["height"] / 2
    expect(page.locator(".react-flow__edge")).to_have_count(edges)  # the handles stay: so do the edges
    page.click('[data-testid="fold-train"]')
    assert "ui" not in page.evaluate("window.model.lastGraph()")
    echo_graph(page)
    expect(node.locator(".trc-port")).to_have_count(4)
    # the toolbar folds a selection
    page.click('[data-testid="node-load"] .trc-node-title')
    page.click('[data-testid="btn-collapse"]')
    assert page.evaluate("window.model.lastGraph()")["ui"] == {"collapsed": ["load"]}


# --------------------------------------------------------------------------- any size: compact, minimap, zoom


def test_small_graph_zoomed_out_draws_compact_cards(page: Page) -> None:
    expect(page.locator(".trc-node-compact")).to_have_count(0)
    box = page.locator(".react-flow__pane").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(30)
    assert zoom(page) < 0.35
    expect(page.locator(".trc-node-compact")).to_have_count(6)
    expect(page.locator('[data-testid="edge-overlay"]')).to_have_attribute("data-edges", "7")
    show_failed_run(page)
    expect(page.locator('[data-testid="node-train"]')).to_have_attribute("data-status", "failed")


def test_minimap_colours_nodes_by_status(page: Page) -> None:
    minimap_nodes = page.locator(".react-flow__minimap-node")
    expect(minimap_nodes).to_have_count(6)
    show_failed_run(page)
    fills = page.evaluate("""() => [...document.querySelectorAll('.react-flow__minimap-node')]
        .map(r => r.style.fill)""")
    colours = {"rgb(22, 163, 74)", "rgb(220, 38, 38)", "rgb(13, 148, 136)", "rgb(217, 119, 6)"}
    assert set(fills) == colours, fills  # completed, failed, cached, skipped
    assert page.locator(".react-flow__minimap-node.trc-mm-failed").count() == 1


def big_state(n: int = 200) -> dict[str, Any]:
    p = tr.Pipeline("two hundred")
    p.add("data_load", id="n0", position={"x": 0, "y": 0})
    for i in range(1, n):
        p.add("data_split", id=f"n{i}", position={"x": (i % 20) * 260, "y": (i // 20) * 170})
        p.connect(f"n{i - 1}", "dataset" if i == 1 else "train_dataset", f"n{i}", "dataset")
    c = Canvas(p)
    try:
        return canvas_state(c)
    finally:
        c.close()


def test_two_hundred_nodes_zoom_to_selection(browser, server: PageServer) -> None:
    before = server.httpd.state
    page, errors = open_page(browser, server, big_state())
    try:
        expect(page.locator(".react-flow__node")).to_have_count(200)
        start = zoom(page)
        assert start < 0.35
        expect(page.locator(".trc-node-compact")).to_have_count(200)  # readable from afar: titles only
        target = page.locator('[data-testid="node-n137"]')
        target.click()
        expect(page.locator(".react-flow__node.selected")).to_have_count(1)
        page.keyboard.press(".")
        assert settled_zoom(page) > 1.0
        pane = page.locator(".react-flow__pane").bounding_box()
        node = page.locator('[data-testid="node-n137"]').bounding_box()
        assert pane and node
        cx, cy = node["x"] + node["width"] / 2, node["y"] + node["height"] / 2
        assert abs(cx - (pane["x"] + pane["width"] / 2)) < 40 and abs(cy - (pane["y"] + pane["height"] / 2)) < 40
        expect(page.locator('[data-testid="node-n137"] .trc-port')).to_have_count(3)  # the full card again
        # nothing selected: the button fits the whole graph again
        page.click("text=Fit")
        settled_zoom(page)
        page.locator(".react-flow__pane").click(position={"x": 5, "y": 5})
        expect(page.locator(".react-flow__node.selected")).to_have_count(0)
        pane_box = page.locator(".react-flow__pane").bounding_box()
        assert pane_box
        page.mouse.move(pane_box["x"] + pane_box["width"] / 2, pane_box["y"] + pane_box["height"] / 2)
        for _ in range(6):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(30)
        assert zoom(page) > 0.5
        page.click('[data-testid="btn-zoom-selection"]')
        assert settled_zoom(page) < 0.35
        assert errors == [], errors
    finally:
        page.context.close()
        server.httpd.state = before
