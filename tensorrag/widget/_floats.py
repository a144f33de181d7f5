"""Floats across the widget boundary: JavaScript has one number type, so ``1.0`` arrives as ``1``.

Everything the canvas sends to the browser passes :func:`mark_document` / :func:`mark_palette`,
which record where the integral floats are; every document the browser sends passes
:func:`restore_document`, which turns the ints at the marked paths back into floats. The browser
keeps the marks next to the values (``widget/src/floats.ts``) and sets them from what the user
typed (``1.0`` is a float, ``1`` an int). Marks:

* node ``data["floats"]``: paths from ``data`` (``["config", "max_features"]``, ``["config", "layers", 0]``);
* schema objects' ``"x-floats"``: paths from the schema object of its float keyword values
  (``["default"]``, ``["enum", 1]``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

__all__ = ["FLOATS", "SCHEMA_FLOATS", "float_paths", "mark_document", "mark_palette", "restore_document"]

FLOATS = "floats"
SCHEMA_FLOATS = "x-floats"
_SCHEMA_VALUES = ("default", "enum", "const", "examples")
_NAMED = ("properties", "$defs", "definitions", "patternProperties")

Path = list[str | int]


def float_paths(value: Any, prefix: Path | None = None) -> list[Path]:
    """Paths (keys and indexes) of the floats in ``value`` that JavaScript would read as ints."""
    out: list[Path] = []
    stack: list[tuple[Any, Path]] = [(value, list(prefix or []))]
    while stack:
        v, path = stack.pop()
        if isinstance(v, float):
            if math.isfinite(v) and v.is_integer():
                out.append(path)
        elif isinstance(v, dict):
            stack.extend((x, [*path, k]) for k, x in reversed(list(v.items())) if isinstance(k, str))
        elif isinstance(v, (list, tuple)):
            stack.extend((x, [*path, n]) for n, x in reversed(list(enumerate(v))))
    return out


def mark_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (not changed) with ``data["floats"]`` on each node holding integral floats."""
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        return doc
    out = dict(doc)
    out["nodes"] = []
    for node in nodes:
        data = node.get("data") if isinstance(node, dict) else None
        if isinstance(data, dict):
            found = float_paths({k: v for k, v in data.items() if k != FLOATS})
            data = {k: v for k, v in data.items() if k != FLOATS}
            if found:
                data[FLOATS] = found
            node = {**node, "data": data}
        out["nodes"].append(node)
    return out


def restore_document(doc: Any) -> Any:
    """A copy of a browser document with the marked ints made floats again and the marks removed."""
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        return doc
    out = copy.deepcopy(doc)
    for node in out["nodes"]:
        data = node.get("data") if isinstance(node, dict) else None
        if not isinstance(data, dict):
            continue
        marks = data.pop(FLOATS, None)
        for path in marks if isinstance(marks, list) else []:
            if isinstance(path, list) and path:
                _make_float(data, path)
    return out


def _make_float(root: Any, path: list[Any]) -> None:
    parent = root
    for key in path[:-1]:
        parent = _child(parent, key)
        if parent is None:
            return
    last = path[-1]
    value = _child(parent, last)
    if isinstance(value, int) and not isinstance(value, bool):
        parent[last] = float(value)


def _child(container: Any, key: Any) -> Any:
    if isinstance(container, dict) and isinstance(key, str):
        return container.get(key)
    if isinstance(container, list) and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(container):
        return container[key]
    return None


def mark_palette(palette: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The palette with ``x-floats`` on every schema object whose keyword values hold integral floats."""
    return [{**card, "json_schema": _mark_schema(card["json_schema"])} if isinstance(card.get("json_schema"), dict)
            else card for card in palette]


def _mark_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_mark_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    marks: list[Path] = []
    for key, value in schema.items():
        if key in _NAMED and isinstance(value, dict):  # names of fields, not keywords
            out[key] = {name: _mark_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES:
            out[key] = value
            marks.extend(float_paths(value, [key]))
        else:
            out[key] = _mark_schema(value)
    if marks:
        out[SCHEMA_FLOATS] = marks
    return out
