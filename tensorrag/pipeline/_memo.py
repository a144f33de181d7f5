"""Results computed from a whole pipeline, kept until its next edit (every run asks again)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.pipeline._pipeline import Pipeline

__all__ = ["memoised"]


def memoised(pipeline: Pipeline, name: str, compute: Callable[[Pipeline], Any]) -> Any:
    """``compute(pipeline)``, reused while the pipeline's edit counter and its nodes' card classes stay the same.

    Every edit goes through the pipeline and bumps ``_rev``; the card classes are part of the key
    because a node's card resolves when a type is registered anywhere up the registry chain. A
    node of unknown type is never memoised (a later registration elsewhere could make it valid).
    Callers get the shared result: treat it as read-only.
    """
    cards = tuple(node.card for node in pipeline._nodes.values())
    if None in cards:
        return compute(pipeline)
    key = (pipeline._rev, cards)
    hit = pipeline._memos.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute(pipeline)
    pipeline._memos[name] = (key, value)
    return value
