"""Built-in scikit-learn cards: ``model_define``, ``train``, ``evaluate`` and ``inference``.

The classes are imported on first access; scikit-learn and matplotlib only when a card runs
(``pip install 'tensorrag[ml]'``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["EvaluateCard", "InferenceCard", "ModelDefineCard", "TrainCard"]

_WHERE = {"ModelDefineCard": "define", "TrainCard": "train", "EvaluateCard": "evaluate", "InferenceCard": "inference"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
