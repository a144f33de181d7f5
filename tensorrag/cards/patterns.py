"""Bounded evaluation of the regular expressions in config schemas (``"pattern"``), which come from card files.

Python's :mod:`re` backtracks without limit (``^(a+)+$`` against 34 ``a``s and a ``!`` runs for
hours), so user patterns are compiled and matched with the ``regex`` package, whose matcher
takes a timeout: a match that runs past :data:`TIMEOUT_S` raises :class:`PatternTimeout`, which
callers report as a config error naming the node, field and pattern.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TIMEOUT_S", "PatternTimeout", "compile_pattern", "pattern_matches"]

#: Seconds one match of a user pattern may take.
TIMEOUT_S = 1.0


class PatternTimeout(Exception):
    """Matching a user pattern took longer than :data:`TIMEOUT_S` (callers turn it into a config error)."""


def compile_pattern(pattern: Any) -> Any:
    """The compiled pattern.

    Raises:
        ValueError: ``pattern`` is not a string or not a valid regular expression (the message says why).
    """
    import regex  # lazily: only card schemas with patterns need it

    if not isinstance(pattern, str):
        raise ValueError(f"a pattern must be a string, got {type(pattern).__name__}")
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(str(exc)) from None


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``value`` (JSON Schema ``pattern`` semantics: a search).

    Raises:
        ValueError: the pattern is invalid.
        PatternTimeout: the match ran past :data:`TIMEOUT_S` seconds.
    """
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(value, timeout=TIMEOUT_S) is not None
    except TimeoutError:
        raise PatternTimeout(
            f"matching pattern {pattern!r} against {_short(value)} took more than {TIMEOUT_S:g} s (catastrophic "
            "backtracking); simplify the pattern, e.g. replace nested repeats such as (a+)+ with a+"
        ) from None


def _short(value: str) -> str:
    return repr(value) if len(value) <= 60 else f"{value[:57]!r}... ({len(value)} characters)"
