"""The notebook canvas (``pip install 'tensorrag[widget]'``): ``Canvas(pipeline)`` or ``pipeline.canvas()``.

Importing this package is cheap; anywidget loads when a canvas is created.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Canvas"]


def __getattr__(name: str) -> Any:
    if name == "Canvas":
        try:
            from tensorrag.widget._canvas import Canvas
        except ImportError as exc:
            if exc.name == "anywidget":
                raise ImportError(
                    "The canvas needs anywidget: pip install 'tensorrag[widget]'", name="anywidget"
                ) from exc
            raise
        return Canvas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
