"""The canvas in a real JupyterLab 4: kernel, ipywidgets comm, anywidget, our bundle, end to end.

A JupyterLab server starts on 127.0.0.1 (free port, no token) over a temporary folder holding a
notebook that builds the demo pipeline and shows ``p.canvas()``. Headless Chromium opens it, runs
all cells, and then works the canvas like a user; each check reads the result back in Python
through a notebook cell. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .browser import (
    ROOT,
    JupyterLab,
    drag_between,
    handle,
    jupyterlab_unavailable,
    launch,
    run_all,
    run_in_new_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

WHY = jupyterlab_unavailable()
if WHY:
    pytest.skip(f"JupyterLab test skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from .jupyterlab_edit import editing_steps  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = [
    # 0: build the demo pipeline and show its canvas
    "import tensorrag as tr\n"
    "from tensorrag.demo import build\n"
    "p = build()\n"
    "canvas = p.canvas(height=640)\n"
    "canvas",
    # 1: the edges, as Python sees them
    "import json\n"
    "ends = sorted(f'{e.source}.{e.source_output}->{e.target}.{e.target_input}' for e in p.edges)\n"
    "print('EDGES ' + json.dumps(ends))",
]


def shot(page: Page, name: str, what=None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (what or page).screenshot(path=str(ARTIFACTS / f"jupyterlab-{name}.png"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lab")
    write_notebook(root / "canvas.ipynb", NOTEBOOK)
    env = {"TENSORRAG_STORAGE": str(root / "storage"), "TENSORRAG_PROGRESS": "off"}
    with JupyterLab(root, env=env) as server:
        yield server


def test_canvas_in_jupyterlab(lab: JupyterLab) -> None:
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        try:
            _scenario(page, lab)
        except Exception:
            shot(page, "failure")
            raise
        finally:
            browser.close()


def _scenario(page: Page, lab: JupyterLab) -> None:
    page.goto(lab.url("lab/tree/canvas.ipynb"))
    # the kernel is up when the status bar names it idle
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Python 3 (ipykernel) | Idle", timeout=60_000)
    page.keyboard.press("Control+b")  # hide the file browser: more room for the canvas
    run_all(page)
    canvas = page.locator(".jp-Notebook .trc-root").first
    nodes = canvas.locator(".react-flow__node")
    expect(nodes).to_have_count(6, timeout=60_000)
    expect(canvas.locator(".react-flow__edge")).to_have_count(7)
    canvas.locator('[data-testid="btn-layout"]').click()
    page.wait_for_timeout(500)
    canvas.scroll_into_view_if_needed()
    shot(page, "1-rendered", canvas)

    # drag a card from the palette: the kernel adds the node
    pane = canvas.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box
    canvas.locator('[data-testid="palette-data_split"]').drag_to(
        pane, target_position={"x": box["width"] * 0.45, "y": box["height"] - 70})
    expect(nodes).to_have_count(7)
    canvas.locator('[aria-label="Close panel"]').click()
    # connect two ports by dragging: split.test_dataset -> data_split-7.dataset
    drag_between(page, handle(canvas, "split", "test_dataset", "source"),
                 handle(canvas, "data_split-7", "dataset", "target"))
    expect(canvas.locator(".react-flow__edge")).to_have_count(8)
    shot(page, "2-connected", canvas)
    edges = json.loads(re.search(r"EDGES (.*)", run_in_new_cell(page, NOTEBOOK[1])).group(1))
    assert "split.test_dataset->data_split-7.dataset" in edges and len(edges) == 8
    # the same node in Python
    out = run_in_new_cell(page, "n = p.nodes['data_split-7']; print('NODE', n.card_type, dict(n.config))")
    assert "NODE data_split {}" in out

    # add a node in Python: it appears on the canvas
    run_in_new_cell(page, "p.add('model_define', id='from_python', model_type='lasso'); print('added')")
    expect(canvas.locator('[data-testid="node-from_python"]')).to_be_visible()
    expect(nodes).to_have_count(8)

    # Run: every node ends completed
    canvas.scroll_into_view_if_needed()
    canvas.locator('[data-testid="btn-run"]').click()
    expect(canvas.locator('[data-testid="run-state"]')).to_have_attribute("data-state", "completed", timeout=90_000)
    for node_id in ["load", "split", "define", "train", "evaluate", "inference", "data_split-7", "from_python"]:
        expect(canvas.locator(f'[data-testid="node-{node_id}"]')).to_have_attribute("data-status", "completed")
    shot(page, "3-completed", canvas)

    # the evaluate preview: metrics and the chart
    canvas.locator('[data-testid="node-evaluate"]').click()
    canvas.locator('[data-testid="tab-output"]').click()
    expect(canvas.locator('[data-testid="metric-RMSE"]')).to_be_visible()
    expect(canvas.locator('[data-testid="metric-R2"]')).to_be_visible()
    expect(canvas.locator('[data-testid="image-eval_chart"]')).to_be_visible(timeout=20_000)
    shot(page, "4-evaluate-preview", canvas)
    out = run_in_new_cell(page, "print('RMSE', f\"{canvas.last_run.output('evaluate', 'eval_report')['RMSE']:.5g}\")")
    expect(canvas.locator('[data-testid="metric-RMSE"]')).to_have_text(f"RMSE{out.split()[-1]}")

    # a config edit on the canvas is in Python at once
    canvas.locator('[data-testid="node-split"]').click()
    canvas.locator('[data-testid="tab-config"]').click()
    canvas.locator('input[data-field="test_ratio"]').fill("0.25")
    page.wait_for_timeout(600)
    out = run_in_new_cell(page, "print('CONFIG', dict(p.nodes['split'].config))")
    assert "'test_ratio': 0.25" in out
    # ...and makes split and everything downstream stale until the next run
    for node_id in ["split", "train", "evaluate", "inference", "data_split-7"]:
        expect(canvas.locator(f'[data-testid="node-{node_id}"]')).to_have_attribute("data-status", "stale")
    for node_id in ["load", "define", "from_python"]:
        expect(canvas.locator(f'[data-testid="node-{node_id}"]')).to_have_attribute("data-status", "completed")
    shot(page, "5-stale", canvas)
    # a float typed in a JSON field is a float in Python (JavaScript alone would make 1.0 an int)
    canvas.locator('[data-testid="node-define"]').click()
    canvas.locator('textarea[data-field="hyperparameters"]').fill('{"alpha": 1.0}')
    page.wait_for_timeout(600)
    out = run_in_new_cell(page, "a = p.nodes['define'].config['hyperparameters']['alpha']; print('ALPHA', repr(a))")
    assert "ALPHA 1.0" in out
    assert Path(ARTIFACTS / "jupyterlab-4-evaluate-preview.png").is_file()

    editing_steps(page, canvas, shot)  # undo, copy/paste, find, context menu, disable, dark theme
