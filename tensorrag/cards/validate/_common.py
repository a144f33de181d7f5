"""Helpers shared by the class-body and config-schema checkers: literals, dict keys, wording."""

from __future__ import annotations

import ast
import difflib
from typing import TYPE_CHECKING, Any

__all__ = ["NOT_LITERAL", "describe", "dict_value", "did_you_mean", "hashable", "key_lines", "literal"]

if TYPE_CHECKING:
    from collections.abc import Callable

    Report = Callable[[int | None, str], None]


class _Unset:
    """Marks a value that is not a literal."""


NOT_LITERAL = _Unset()


def literal(node: ast.expr) -> Any:
    """The value of ``node`` by :func:`ast.literal_eval`, or :data:`NOT_LITERAL`."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return NOT_LITERAL


def dict_value(node: ast.Dict, key: str) -> ast.Dict | None:
    """The dict display bound to literal ``key`` in dict display ``node`` (None when not a dict display)."""
    found: ast.expr | None = None
    for k, v in zip(node.keys, node.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key:
            found = v  # the last one wins, as in the dict
    return found if isinstance(found, ast.Dict) else None


def key_lines(node: ast.Dict, where: str, warn: Report) -> dict[Any, int]:
    """Line of each literal key of a dict display; warns about keys given twice."""
    lines: dict[Any, int] = {}
    for k in node.keys:
        if k is None:  # **spread: not a literal anyway
            continue
        key = hashable(literal(k))
        if key is NOT_LITERAL:
            continue
        if key in lines:
            warn(
                k.lineno,
                f"{where}: key {key!r} is given more than once (first on line {lines[key]}); the last one is used",
            )
        lines[key] = k.lineno
    return lines


def hashable(value: Any) -> Any:
    """``value`` when it can be a dict key, else :data:`NOT_LITERAL`."""
    try:
        hash(value)
    except TypeError:
        return NOT_LITERAL
    return value


def describe(value: Any) -> str:
    """``value`` with its Python type, for messages."""
    return f"{type(value).__name__} {value!r}"


def did_you_mean(word: str, options: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` (a case-only difference first), or ``""``."""
    lowered = {str(o).lower(): str(o) for o in options}
    if word.lower() in lowered:
        return f" (did you mean '{lowered[word.lower()]}'?)"
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
