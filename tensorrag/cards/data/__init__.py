"""Built-in data cards: ``data_load`` (:class:`DataLoadCard`) and ``data_split`` (:class:`DataSplitCard`).

The classes are imported on first access, so importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DataLoadCard", "DataSplitCard"]

_WHERE = {"DataLoadCard": "load", "DataSplitCard": "split"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
