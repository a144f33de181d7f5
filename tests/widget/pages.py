"""Open the test page (tests/widget/page) on the traits of a real Canvas: one server per page, so a
test can start from its own pipeline (the browser tests of values, placement and run status)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .browser import PageServer, canvas_state

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def canvas_page(browser: Any, state: dict[str, Any], query: str = "",
                viewport: tuple[int, int] = (1220, 760)) -> Iterator[Any]:
    """A page showing ``state`` (``canvas_state(canvas)``); fails on any page error when it closes."""
    srv = PageServer()
    srv.set_state(state)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(srv.url + query)
        page.wait_for_function("window.ready === true")
        yield page
    finally:
        context.close()
        srv.close()
    assert errors == [], errors


def state_of(canvas: Any) -> dict[str, Any]:
    """The traits a browser starts with (closes nothing)."""
    return canvas_state(canvas)


def last_graph(page: Any) -> dict[str, Any]:
    """The last graph document the canvas assigned (what Python would receive)."""
    doc = page.evaluate("window.model.lastGraph()")
    assert doc is not None, "the canvas assigned no graph"
    return doc  # type: ignore[no-any-return]
