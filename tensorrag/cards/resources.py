"""Executor hints (``resources``): the one check shared by cards, ``Pipeline.add`` and ``validate()``.

``{"gpu": "T4", "timeout": 600, "memory": 16384, "cpu": 2}``: every key is optional and ``None``
means "not set". Other keys are kept for executor plugins (``num_gpus`` for Ray, ...), unless
they look like a typo of a known key (``timout``), which is refused with a did-you-mean.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from tensorrag.spec import json_problem, safe_repr

__all__ = ["RESOURCE_KEYS", "resource_problems"]

#: Known keys and what each must hold.
RESOURCE_KEYS = {
    "gpu": "a GPU name such as 'T4' or 'A10G'",
    "timeout": "a positive number of seconds",
    "memory": "a positive whole number of MiB",
    "cpu": "a positive number of cores",
}


def resource_problems(resources: Any, where: str = "resources") -> list[tuple[str, str]]:
    """Every problem of a ``resources`` value, as ``(field, message)`` pairs (empty when it is fine).

    Args:
        resources: a dict of executor hints, or None.
        where: the field name used in the pairs (``resources.timeout``).
    """
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return [(where, f"must be a dict such as {{'timeout': 600, 'gpu': 'T4'}}; got {_show(resources)}")]
    out: list[tuple[str, str]] = []
    for key, value in resources.items():
        field = f"{where}.{key}" if isinstance(key, str) else where
        if not isinstance(key, str):
            out.append((where, f"keys must be strings; got {_show(key)}"))
            continue
        if key not in RESOURCE_KEYS:
            close = difflib.get_close_matches(key, list(RESOURCE_KEYS), n=1, cutoff=0.75)
            if close:
                out.append((field, f"is not a resource key; did you mean {close[0]!r}?"))
                continue
            bad = json_problem(value, field)
            if bad is not None:  # plugin keys travel in task payloads: plain JSON only
                out.append((bad[0], bad[1]))
            continue
        if value is not None and not _fits(key, value):
            out.append((field, f"must be {RESOURCE_KEYS[key]} (or None); got {_show(value)}"))
    return out


def _fits(key: str, value: Any) -> bool:
    if key == "gpu":
        return isinstance(value, str) and bool(value.strip()) and json_problem(value) is None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    if not math.isfinite(number) or number <= 0:
        return False
    return key != "memory" or number.is_integer()


def _show(value: Any) -> str:
    return f"{type(value).__name__} {safe_repr(value)}"
