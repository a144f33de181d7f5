"""Built-in data cards: loading, splitting, selecting, cleaning, transforming and combining tables.

The classes are imported on first access, so importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "DataLoadCard": "load",
    "CsvLoaderCard": "load",
    "DataSplitCard": "split",
    "TrainValTestSplitCard": "split3",
    "SelectColumnsCard": "columns",
    "FilterColumnsCard": "columns",
    "FilterRowsCard": "columns",
    "TextPreprocessorCard": "columns",
    "FillMissingCard": "clean",
    "ScaleCard": "transform",
    "FeatureScalerCard": "transform",
    "EncodeCard": "transform",
    "ApplyTransformCard": "transform",
    "JoinCard": "combine",
    "ConcatCard": "combine",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
