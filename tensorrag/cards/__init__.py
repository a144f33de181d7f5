"""Cards: the ``BaseCard`` contract, the ``@card`` decorator and the built-in card types."""

from __future__ import annotations

from tensorrag.cards.base import BaseCard, card_class_of
from tensorrag.cards.builtin import BUILTIN_CARDS, BUILTIN_MODEL_FORMATS
from tensorrag.cards.decorator import CardFunction, card
from tensorrag.cards.imports import heavy_imports
from tensorrag.registry import card_registry, model_format_registry

__all__ = ["BUILTIN_CARDS", "BaseCard", "CardFunction", "card", "card_class_of", "heavy_imports"]

for _name, _path in BUILTIN_CARDS.items():
    card_registry.register(_name, _path, hint="pip install 'tensorrag[ml]'", clobber=True)
for _ext, _reader in BUILTIN_MODEL_FORMATS.items():
    model_format_registry.register(_ext, _reader, hint="pip install 'tensorrag[torch]'", clobber=True)
