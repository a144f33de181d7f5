"""Built-in classical ML cards: define, train, cross-validate, evaluate, explain and predict.

The classes are imported on first access; scikit-learn and matplotlib only when a card runs
(``pip install 'tensorrag[ml]'``).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ModelDefineCard": "define",
    "TrainCard": "train",
    "EvaluateCard": "evaluate",
    "InferenceCard": "inference",
    "RandomForestCard": "forest",
    "CrossValidateCard": "validate",
    "ConfusionMatrixCard": "confusion",
    "AccuracyCalcCard": "confusion",
    "FeatureImportanceCard": "importance",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
