"""Run status on the page (issue 15, bugs 4, 5 and 6): the traits a real Canvas sends, drawn."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr

from . import cards
from .browser import unavailable
from .pages import canvas_page, state_of

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path


def chain() -> tr.Pipeline:
    p = tr.Pipeline("chain")
    p.add(cards.w_source, id="src", n=4, position={"x": 0, "y": 0})
    p.add(cards.w_double, id="dbl", factor=3, position={"x": 300, "y": 0})
    p.add(cards.w_source, id="other", n=2, position={"x": 0, "y": 200})
    p.connect("src", "output", "dbl", "data")
    return p


def node(page: Any, nid: str) -> Any:
    return page.locator(f'[data-testid="node-{nid}"]')


def test_the_second_canvas_of_a_pipeline_draws_the_run_the_first_started(browser, tmp_path: Path) -> None:
    p = chain()
    first, second = p.canvas(storage=str(tmp_path)), p.canvas(storage=str(tmp_path))
    try:
        first.run()
        first.wait(30)
        second.wait(30)
        with canvas_page(browser, state_of(second)) as page:
            for nid in ("src", "dbl", "other"):
                expect(node(page, nid)).to_have_attribute("data-status", "completed")
            expect(page.locator('[data-testid="run-state"]')).to_have_attribute("data-state", "completed")
    finally:
        first.close()
        second.close()


def test_a_changed_node_and_its_descendants_are_drawn_stale(browser, tmp_path: Path) -> None:
    p = chain()
    c = p.canvas(storage=str(tmp_path))
    try:
        c.run()
        c.wait(30)
        p.set_config("src", {"n": 9})
        c._run_throttle.flush()
        with canvas_page(browser, state_of(c)) as page:
            for nid in ("src", "dbl"):
                expect(node(page, nid)).to_have_attribute("data-status", "stale")
                expect(node(page, nid)).to_have_class(lambda_has("trc-status-stale"))
                expect(node(page, nid).locator(".trc-badge")).to_have_text("stale")
            expect(node(page, "other")).to_have_attribute("data-status", "completed")
            assert "run again" in (node(page, "dbl").get_attribute("title") or "")
    finally:
        c.close()


def lambda_has(cls: str) -> Any:
    import re

    return re.compile(rf"(^|\s){re.escape(cls)}(\s|$)")


def test_the_console_shows_only_the_lines_of_the_run_it_shows(browser, tmp_path: Path) -> None:
    p = tr.Pipeline("console")
    p.add(cards.w_source, id="src", position={"x": 0, "y": 0})
    p.add(cards.w_chatty, id="chat", lines=400, seconds=4.0, position={"x": 300, "y": 0})
    p.connect("src", "output", "chat", "data")
    c = p.canvas(storage=str(tmp_path))
    try:
        first = c.run()
        deadline = time.monotonic() + 20
        while not any(line["node_id"] == "chat" for line in c.logs) and time.monotonic() < deadline:
            time.sleep(0.01)
        c.cancel()
        first.wait(30)
        c.wait(10)
        old_lines = list(c.logs)
        second = c.run(targets=["src"])
        c.wait(30)
        state = state_of(c)
        # what a model may still hold: the cancelled run's late lines next to the new run's
        state["logs"] = [*old_lines, *state["logs"], {"node_id": "chat", "text": "late line", "time": None,
                                                      "run_id": first.run_id}]
        with canvas_page(browser, state) as page:
            page.click('[data-testid="btn-console"]')
            console = page.locator('[data-testid="console"]')
            expect(console).to_contain_text(f"run {second.run_id}")
            text = console.locator(".trc-console-text").inner_text()
            assert "line 0" not in text and "late line" not in text
    finally:
        c.close()
