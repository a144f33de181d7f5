"""Disabled (bypassed) nodes: kept in the graph, skipped by runs together with their descendants.

A disabled node is saved as ``data.disabled = true`` in ``_pipeline.json`` (an optional key, like
``data.cache``). A run plans neither it nor anything downstream of it: they end ``skipped`` with a
reason, their config is not checked (so a broken node can be switched off to run the rest), and
the run still counts as ``completed`` when everything else completed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tensorrag.errors import ConfigError
from tensorrag.pipeline._graph import adjacency

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tensorrag.pipeline._node import Node
    from tensorrag.pipeline._pipeline import Pipeline

__all__ = ["BypassMixin", "bypassed"]


class BypassMixin:
    """``Pipeline.disable`` / ``enable`` / ``set_disabled`` (mixed into :class:`Pipeline`)."""

    def set_disabled(self: Pipeline, node: str | Node, disabled: bool) -> Node:  # type: ignore[misc]
        """Disable (True) or enable (False) a node: runs skip a disabled node and its descendants.

        Raises:
            UnknownNodeError: no such node.
            ConfigError: ``disabled`` is not a bool.
        """
        if not isinstance(disabled, bool):
            raise ConfigError(f"set_disabled(node, disabled) needs True or False; got {disabled!r}.")
        with self._lock:
            target = self.node(node)
            target.disabled = disabled
        self._emit({"op": "update_node", "node_id": target.id, "fields": ["disabled"]})
        return target

    def disable(self: Pipeline, node: str | Node) -> Node:  # type: ignore[misc]
        """Skip ``node`` and everything downstream of it in runs, without removing it (undo: :meth:`enable`)."""
        return self.set_disabled(node, True)

    def enable(self: Pipeline, node: str | Node) -> Node:  # type: ignore[misc]
        """Let a disabled node run again."""
        return self.set_disabled(node, False)


def bypassed(pipeline: Pipeline, selected: Iterable[str]) -> dict[str, str]:
    """The nodes of ``selected`` a run skips (disabled ones and their descendants) -> why, in graph order."""
    chosen = set(selected)
    off = [nid for nid, n in pipeline.nodes.items() if n.disabled and nid in chosen]
    if not off:
        return {}
    # One walk from every disabled node at once; each skipped node names the disabled one that reached it.
    children = adjacency(pipeline.edges)
    cause = {nid: nid for nid in off}
    stack = list(off)
    while stack:
        src = stack.pop()
        for child in children.get(src, []):
            if child not in cause:
                cause[child] = cause[src]
                stack.append(child)
    return {
        nid: "disabled" if cause[nid] == nid else f"upstream node {cause[nid]!r} is disabled"
        for nid in pipeline.nodes
        if nid in cause and nid in chosen
    }
