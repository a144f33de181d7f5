"""The card catalog: register card classes globally and list every card's ``CardSchema``."""

from __future__ import annotations

import logging
from typing import Any

from tensorrag.cards.base import BaseCard, card_class_of
from tensorrag.errors import TensorragError
from tensorrag.registry import Registry, card_registry

__all__ = ["canvas_palette", "list_cards", "register"]

log = logging.getLogger(__name__)


def register(card: Any, *, clobber: bool = False, registry: Registry | None = None) -> type[BaseCard]:
    """Register a :class:`BaseCard` subclass or ``@card`` function under its ``card_type``.

    Args:
        card: the class or decorated function.
        clobber: replace another class registered under the same type.
        registry: where to register (default: the global registry every pipeline sees).

    Raises:
        CardDefinitionError: the class breaks the card contract.
        RegistryError: the type is taken and ``clobber`` is False.
    """
    cls = card_class_of(card)
    cls.check_definition()
    (registry or card_registry).register(cls.card_type, cls, clobber=clobber)
    return cls


def list_cards(registry: Registry | None = None) -> list[dict[str, Any]]:
    """The ``CardSchema`` JSON of every card type (the original ``GET /api/cards``), sorted by category and type."""
    reg = registry or card_registry
    schemas = []
    for name in reg.names():
        try:
            schemas.append(card_class_of(reg.get(name)).to_schema())
        except TensorragError as exc:  # e.g. a card whose optional dependency is not installed
            log.warning("card %r is unavailable: %s", name, exc)
    return sorted(schemas, key=lambda s: (s["category"], s["card_type"]))


def canvas_palette(registry: Registry | None = None) -> list[dict[str, Any]]:
    """Every card a canvas can add: :func:`list_cards` entries plus what the canvas needs.

    Each entry is the card's ``CardSchema`` with three additions: ``json_schema`` (the config
    schema as object JSON Schema, flat form converted), ``inputs`` and ``outputs`` (port -> type,
    normalised the way connection checks see them). The notebook widget and the web page share it.
    """
    reg = registry or card_registry
    out = []
    for entry in list_cards(reg):
        try:
            cls = card_class_of(reg.get(entry["card_type"]))
        except TensorragError:  # pragma: no cover - list_cards already skipped cards that cannot load
            continue
        out.append({**entry, "json_schema": cls.json_schema(), "inputs": cls.inputs(), "outputs": cls.outputs()})
    return out
