"""The notebook canvas (``pip install 'tensorrag[widget]'``): ``Canvas(pipeline)`` or ``pipeline.canvas()``.

``SweepCanvas(sweep)`` (or ``sweep.canvas()``) shows a sweep on it.

Importing this package is cheap; anywidget loads when a canvas is created.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Canvas", "SweepCanvas"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        try:
            from tensorrag.widget import _canvas, _sweep
        except ImportError as exc:
            if exc.name == "anywidget":
                raise ImportError(
                    "The canvas needs anywidget: pip install 'tensorrag[widget]'", name="anywidget"
                ) from exc
            raise
        return _canvas.Canvas if name == "Canvas" else _sweep.SweepCanvas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
