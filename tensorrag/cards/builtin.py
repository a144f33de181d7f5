"""The built-in card types, as ``card_type -> "module.path:ClassName"`` strings.

Nothing is imported here: the registry resolves an entry the first time the card type is
used, so ``import tensorrag`` stays fast and never pulls in scikit-learn or matplotlib.
The classes live in :mod:`tensorrag.cards.data` and :mod:`tensorrag.cards.ml` and need the
``ml`` extra (``pip install 'tensorrag[ml]'``) only when they run.
"""

from __future__ import annotations

__all__ = ["BUILTIN_CARDS"]

BUILTIN_CARDS: dict[str, str] = {
    "data_load": "tensorrag.cards.data.load:DataLoadCard",
    "data_split": "tensorrag.cards.data.split:DataSplitCard",
    "model_define": "tensorrag.cards.ml.define:ModelDefineCard",
    "train": "tensorrag.cards.ml.train:TrainCard",
    "evaluate": "tensorrag.cards.ml.evaluate:EvaluateCard",
    "inference": "tensorrag.cards.ml.inference:InferenceCard",
}
