"""The source of a node's card, for the canvas's "Open card source" (read only; never executed)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from tensorrag.errors import RegistryError

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline

__all__ = ["card_source"]


def card_source(pipeline: Pipeline, node_id: str) -> dict[str, Any]:
    """``{"type": "card_source", "node_id", "card_type", "path", "source"}`` of ``node_id``'s card.

    A project card's file text is what it runs; other cards show their class (or ``@card``
    function) as Python finds it.

    Raises:
        UnknownNodeError: no such node.
        RegistryError: the node's card type is unknown or could not be loaded.
    """
    node = pipeline.node(node_id)
    cls = node.card
    if cls is None:
        why = node.load_error or f"card type {node.card_type!r} is not registered"
        raise RegistryError(f"No source to show for node {node.id!r}: {why}. Register the card, then try again.")
    source = getattr(cls, "__tensorrag_source__", None)
    path = getattr(cls, "__tensorrag_file__", None)
    if not source:
        root = cls._code_roots()[0]
        try:
            source = inspect.getsource(root)
            path = inspect.getsourcefile(root)
        except (OSError, TypeError):  # defined in exec'd code: nothing on disk to show
            source = f"# The source of {cls.__module__}.{cls.__qualname__} is not available (no file)."
    return {"type": "card_source", "node_id": node.id, "card_type": node.card_type, "path": path, "source": source}
