"""The web canvas's run-history panel and durations over REST (``RestModel``: /api/v2 run list and manifests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tensorrag.server import create_app
from tests.server.conftest import MAKE, TOTAL, serve
from tests.widget.browser import unavailable

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

RUN_S = 60_000  # ms: a hang bound for a run seen in the page, not a timing assertion


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with serve(create_app(tmp_path / "store", heartbeat_s=0.5)) as base:
        yield base


@pytest.fixture
def page(browser, url) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert errors == [], errors


def doc(fail: bool) -> dict:
    return {"nodes": [
        {"id": "m", "type": "cardNode", "position": {"x": 0, "y": 0}, "data": {"card_type": "make", "config": {}}},
        {"id": "t", "type": "cardNode", "position": {"x": 300, "y": 0},
         "data": {"card_type": "total", "config": {"fail": fail}}}],
        "edges": [{"id": "e", "source": "m", "target": "t", "sourceHandle": "values", "targetHandle": "values",
                   "data": {"source_output": "values", "target_input": "values"}}], "nodeCounter": 2}


def test_history_lists_runs_and_reopens_a_failed_one(page: Page, url: str) -> None:
    with httpx.Client(base_url=url) as client:
        assert client.post("/api/workspace/projects", json={"name": "p"}).status_code == 200
        for path, source in (("make.py", MAKE), ("total.py", TOTAL)):
            assert client.post("/api/workspace/projects/p/cards", json={"path": path, "source_code": source}).is_success
        assert client.put("/api/workspace/projects/p/pipeline", json=doc(fail=True)).is_success
    page.goto(f"{url}/?project=p")
    expect(page.locator('[data-testid="node-t"]')).to_be_visible()
    page.click('[data-testid="btn-run"]')
    state = page.locator('[data-testid="run-state"]')
    expect(state).to_have_attribute("data-state", "failed", timeout=RUN_S)
    # live: the failed card's error line, durations from the WebSocket events' timestamps
    expect(page.locator('[data-testid="error-t"]')).to_contain_text("asked to fail")
    expect(page.locator('[data-testid="took-m"]')).to_contain_text(" s")
    failed_id = page.evaluate("() => window.tensorrag.model().get('status').run_id")
    # fix the config and run again: completes
    page.evaluate("""() => { const m = window.tensorrag.model(); const g = m.get('graph');
        m.set('graph', {...g, nodes: g.nodes.map(n => n.id === 't' ? {...n, data: {...n.data, config: {fail: false}}}
        : n)}); }""")
    page.click('[data-testid="btn-run"]')
    expect(state).to_have_attribute("data-state", "completed", timeout=RUN_S)
    expect(page.locator('[data-testid="error-t"]')).to_have_count(0)
    page.click('[data-testid="btn-history"]')
    panel = page.locator('[data-testid="run-history"]')
    expect(panel.locator("tbody tr")).to_have_count(2)
    row = panel.locator(f'[data-testid="run-{failed_id}"]')
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text("1 failed")
    row.locator("button").click()
    # the past run is back on the canvas: its statuses, its error (click: traceback), its durations
    expect(page.locator('[data-testid="node-t"]')).to_have_attribute("data-status", "failed")
    expect(state).to_have_attribute("data-state", "failed")
    expect(row).to_contain_text("shown")
    page.click('[data-testid="error-t"]')
    expect(page.locator('[data-testid="traceback-text"]')).to_contain_text("asked to fail")
    page.keyboard.press("Escape")
    page.click('[data-testid="btn-timeline"]')
    expect(page.locator('[data-testid="timeline"] .trc-tl-row')).to_have_count(2)
