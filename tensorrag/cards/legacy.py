"""A ``cards.base`` module for card files ported from the original system, seen only by card source.

The original's card files begin with ``from cards.base import BaseCard``. :func:`card_builtins`
gives the builtins a card file runs with: the same as Python's, except that importing
``cards.base`` (``from cards.base import BaseCard``, ``from cards.base import *``, ``import
cards.base``, ``from cards import base``) yields a module whose ``BaseCard`` is tensorrag's.
Nothing is added to :data:`sys.modules`, so a real ``cards`` package elsewhere is untouched and
every other import works as usual.
"""

from __future__ import annotations

import builtins
import re
import types
from typing import Any

from tensorrag.cards.base import BaseCard

__all__ = ["LEGACY_NAMES", "card_builtins", "uses_legacy_imports"]

#: What the original's ``cards.base`` module provides.
LEGACY_NAMES = ("BaseCard",)

_LEGACY_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+cards(?:\.base)?[ \t]+import|import[ \t]+.*\bcards\.base\b)", re.M)

_base = types.ModuleType("cards.base", "The original system's card base module (tensorrag's BaseCard).")
_base.BaseCard = BaseCard  # type: ignore[attr-defined]
_base.__all__ = list(LEGACY_NAMES)  # type: ignore[attr-defined]
_package = types.ModuleType("cards", "The original system's cards package, as ported card files see it.")
_package.base = _base  # type: ignore[attr-defined]
_package.__path__ = []  # type: ignore[attr-defined]


def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> types.ModuleType:
    if level == 0 and name == "cards.base":
        return _base if fromlist else _package  # `from cards.base import X` / `import cards.base`
    if level == 0 and name == "cards" and fromlist and set(fromlist) <= {"base"}:
        return _package  # `from cards import base`
    return builtins.__import__(name, globals, locals, fromlist, level)


def uses_legacy_imports(source: str) -> bool:
    """Whether ``source`` may import ``cards.base`` (a cheap textual test; false positives are harmless)."""
    return _LEGACY_IMPORT.search(source) is not None


def card_builtins() -> dict[str, Any]:
    """The builtins for card source that imports ``cards.base``: Python's, with ``cards.base`` provided."""
    out = dict(vars(builtins))
    out["__import__"] = _import
    return out
