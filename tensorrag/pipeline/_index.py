"""``EdgeIndex``: a pipeline's edges in order, with each node's incoming and outgoing edges kept alongside.

The maps let ``connect`` judge a new edge by looking only at the nodes it touches (is the input fed,
does the target reach the source), so building an N-node pipeline costs O(N), not O(N²). Every
change goes through :meth:`EdgeIndex.add`, :meth:`EdgeIndex.remove` or :meth:`EdgeIndex.reset`,
which keep the list and the maps in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tensorrag.spec import EdgeSpec

__all__ = ["EdgeIndex"]


class EdgeIndex:
    """Edges in insertion order plus node id -> its incoming / outgoing edges (in the same order).

    Edges may name nodes that do not exist (a loaded file can); they are indexed like any other.
    """

    __slots__ = ("edges", "into", "out_of")

    def __init__(self, edges: Iterable[EdgeSpec] = ()) -> None:
        self.edges: list[EdgeSpec] = []
        self.into: dict[str, list[EdgeSpec]] = {}
        self.out_of: dict[str, list[EdgeSpec]] = {}
        self.reset(edges)

    def reset(self, edges: Iterable[EdgeSpec]) -> None:
        """Replace every edge with ``edges`` (in this order)."""
        self.edges, self.into, self.out_of = [], {}, {}
        for edge in edges:
            self.add(edge)

    def add(self, edge: EdgeSpec) -> None:
        """Append ``edge``."""
        self.edges.append(edge)
        self.into.setdefault(edge.target, []).append(edge)
        self.out_of.setdefault(edge.source, []).append(edge)

    def remove(self, edge: EdgeSpec) -> None:
        """Remove the first edge equal to ``edge`` (equal edges share both ends, so each map drops the same one)."""
        self.edges.remove(edge)
        for table, key in ((self.into, edge.target), (self.out_of, edge.source)):
            table[key].remove(edge)
            if not table[key]:
                del table[key]

    def feeding(self, node_id: str) -> list[EdgeSpec]:
        """The edges into ``node_id``, in edge order (a copy)."""
        return list(self.into.get(node_id, ()))

    def leaving(self, node_id: str) -> list[EdgeSpec]:
        """The edges out of ``node_id``, in edge order (a copy)."""
        return list(self.out_of.get(node_id, ()))

    def reaches(self, start: str, goal: str) -> bool:
        """Whether a path of edges leads from ``start`` to ``goal`` (a node reaches itself).

        Walks only what ``start`` reaches, so joining a new node to a graph looks at nothing else.
        """
        stack, seen = [start], {start}
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            for edge in self.out_of.get(cur, ()):
                if edge.target not in seen:
                    seen.add(edge.target)
                    stack.append(edge.target)
        return False
