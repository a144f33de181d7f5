"""Fixtures for the canvas tests: a Canvas whose outgoing comm messages are recorded."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tensorrag.widget._canvas import Canvas


class Wire:
    """What a canvas sent to the browser, and a way to act like the browser."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.sent: list[dict[str, Any]] = []
        canvas._send = self._record  # type: ignore[method-assign]

    def _record(self, msg: dict[str, Any], buffers: Any = None) -> None:
        self.sent.append(copy.deepcopy(msg))

    def clear(self) -> None:
        self.sent.clear()

    # -- what was sent
    def updates(self, key: str | None = None) -> list[dict[str, Any]]:
        """The state updates sent (``method == "update"``), optionally only those carrying ``key``."""
        out = [m["state"] for m in self.sent if m.get("method") == "update"]
        return [s for s in out if key is None or key in s]

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The custom messages sent, optionally only those of ``type == kind``."""
        out = [m["content"] for m in self.sent if m.get("method") == "custom"]
        return [c for c in out if kind is None or c.get("type") == kind]

    # -- acting as the browser
    def edit(self, doc: dict[str, Any]) -> None:
        """The browser assigns a new ``graph`` document (the ipywidgets code path)."""
        self.canvas.set_state({"graph": copy.deepcopy(doc)})

    def command(self, content: dict[str, Any]) -> None:
        """The browser sends a custom message."""
        self.canvas._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


@pytest.fixture
def wired():
    """``wired(canvas) -> Wire``; closes the canvases at the end."""
    made: list[Canvas] = []

    def make(canvas: Canvas) -> Wire:
        made.append(canvas)
        return Wire(canvas)

    yield make
    for c in made:
        c.cancel()
        c.close()
