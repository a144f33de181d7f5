"""A sweep on the page (issue 16): the traits a real SweepCanvas sends, drawn — ×N badges, status per node over
its copies, the results table sorted by a column, the best branch highlighted, a picked branch shown."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tests.sweep import cards as C

from .browser import unavailable
from .pages import canvas_page, state_of

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path

#: Set to a path to save the docs' screenshot (docs/img/sweep-canvas.png) while the test runs.
SHOT = os.environ.get("TENSORRAG_SWEEP_SHOT")


def sweep_state(tmp_path: Path) -> dict[str, Any]:
    p = tr.Pipeline("sweep")
    p.add(C.source, id="src", position={"x": 0, "y": 0})
    p.add(C.score, id="fit", fail_above=0.5, position={"x": 300, "y": 0})
    p.add(C.summarise, id="sum", position={"x": 600, "y": 0})
    p.connect("src", "data", "fit", "data")
    p.connect("fit", "report", "sum", "report")
    sweep = p.sweep({"fit.lr": [0.1, 0.9, 0.3, 0.05]}, metric=("sum", "summary", "loss"), mode="min")
    c = sweep.canvas()
    try:
        sweep.run(storage=tmp_path, echo=False)
        c.wait(30)
        return {**state_of(c), "sweep": c.sweep}
    finally:
        c.close()


def tid(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="{name}"]')


def row_order(page: Any) -> list[str]:
    return [r.get_attribute("data-testid").removeprefix("sweep-row-")
            for r in tid(page, "sweep-table").locator("tbody tr").all()]


def test_swept_nodes_are_badged_and_show_their_copies_run(browser, tmp_path: Path) -> None:
    with canvas_page(browser, sweep_state(tmp_path)) as page:
        expect(tid(page, "sweep-badge-fit")).to_have_text("×4")
        assert "fit.lr: 0.1, 0.9, 0.3, 0.05" in (tid(page, "sweep-badge-fit").get_attribute("title") or "")
        expect(tid(page, "sweep-badge-sum")).to_have_text("×4")  # downstream: copied per branch too
        expect(tid(page, "sweep-badge-src")).to_have_count(0)  # shared: runs once
        expect(tid(page, "node-fit")).to_have_attribute("data-status", "failed")
        expect(tid(page, "sweep-sum-fit")).to_have_text("4/4 done · 1 failed")
        expect(tid(page, "node-src")).to_have_attribute("data-status", "completed")


def test_the_table_sorts_by_a_column_and_highlights_the_best(browser, tmp_path: Path) -> None:
    with canvas_page(browser, sweep_state(tmp_path)) as page:
        assert row_order(page) == ["0", "1", "2", "3"]
        best = tid(page, "sweep-table").locator('tr[data-best="true"]')
        expect(best).to_have_count(1)
        expect(best).to_have_attribute("data-testid", "sweep-row-2")  # lr 0.3: the lowest loss
        expect(best).to_have_class("trc-sweep-best")
        if SHOT:
            page.locator('[data-testid="canvas"]').screenshot(path=SHOT)
        header = tid(page, "sweep-col-sum.summary.loss")
        header.click()  # the objective, minimised: best first; the failed branch (no value) last
        expect(header).to_have_attribute("aria-sort", "ascending")
        assert row_order(page) == ["2", "0", "3", "1"]
        header.click()
        expect(header).to_have_attribute("aria-sort", "descending")
        assert row_order(page) == ["3", "0", "2", "1"]  # empty cells stay last
        tid(page, "sweep-col-fit.lr").click()
        assert row_order(page) == ["3", "0", "2", "1"]


def test_a_picked_row_shows_that_branch_on_the_canvas(browser, tmp_path: Path) -> None:
    with canvas_page(browser, sweep_state(tmp_path)) as page:
        tid(page, "sweep-row-1").click()
        expect(tid(page, "sweep-picked")).to_contain_text("fit.lr=0.9")
        expect(tid(page, "sweep-badge-fit")).to_have_text("#1")
        expect(tid(page, "node-fit")).to_have_attribute("data-status", "failed")
        expect(tid(page, "node-sum")).to_have_attribute("data-status", "skipped")
        expect(tid(page, "sweep-sum-fit")).to_have_text("lr=0.9")
        tid(page, "sweep-row-3").click()
        expect(tid(page, "node-fit")).to_have_attribute("data-status", "completed")
        expect(tid(page, "node-sum")).to_have_attribute("data-status", "completed")
        tid(page, "sweep-all").click()
        expect(tid(page, "sweep-badge-fit")).to_have_text("×4")
        expect(tid(page, "node-fit")).to_have_attribute("data-status", "failed")
