"""Checks of public arguments: each raises :class:`~tensorrag.errors.ArgumentError` saying what was expected.

Used by :class:`~tensorrag.pipeline.Pipeline` (names, node references, ports, positions,
resources, file paths), so a bad argument fails where it is passed, not later in a run.
"""

from __future__ import annotations

import os
from typing import Any

from tensorrag.cards.resources import resource_problems
from tensorrag.errors import ArgumentError
from tensorrag.spec import json_problem, position_problem, safe_repr

__all__ = ["check_path", "check_position", "check_resources", "check_text"]


def check_text(value: Any, what: str, *, optional: bool = False) -> Any:
    """``value`` when it is a string of valid Unicode (or None when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ArgumentError(f"{what} must be a string; got {_show(value)}.")
    bad = json_problem(value)
    if bad is not None:
        raise ArgumentError(f"{what} {bad[1]}; got {value!a}.")
    return value


def check_position(position: Any, where: str) -> dict[str, float]:
    """A copy of a canvas position ``{"x", "y"}`` of finite numbers."""
    problem = position_problem(dict(position) if isinstance(position, dict) else position)
    if problem:
        raise ArgumentError(f"Invalid position for {where}: {problem}.")
    return dict(position)


def check_resources(resources: Any, where: str) -> dict[str, Any] | None:
    """A copy of executor hints (``None`` or ``{}`` -> None); see :mod:`tensorrag.cards.resources`."""
    if resources is None:
        return None
    problems = resource_problems(dict(resources) if hasattr(resources, "keys") else resources)
    if problems:
        lines = "; ".join(f"{field} {message}" for field, message in problems)
        raise ArgumentError(f"Invalid resources for {where}: {lines}.")
    return dict(resources) or None


def check_path(path: Any, what: str) -> str:
    """A local path or fsspec URL as a string (``os.PathLike`` accepted), without NUL or lone surrogates."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"{what} must be a path or URL string; got {_show(path)}.")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise ArgumentError(f"{what} must be a text path, not bytes; got {text!r}.")
    if "\0" in text:
        raise ArgumentError(f"{what} {text!a} contains a NUL character; no file can have that name.")
    return check_text(text, what)  # type: ignore[no-any-return]


def _show(value: Any) -> str:
    return f"{type(value).__name__} {safe_repr(value)}"
