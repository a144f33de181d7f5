"""Graph algorithms over node ids and edges, with one adjacency builder.

Every function is pure: it takes the node ids (in insertion order, where order matters) and the
edges, and never touches a :class:`~tensorrag.pipeline.Pipeline`. Edges may name nodes that do not
exist (a loaded file can); :func:`adjacency` drops them only when it is given the node ids.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from tensorrag.spec import EdgeSpec

__all__ = ["adjacency", "ancestors", "descendants", "find_cycle", "reaches", "topological_order"]


def adjacency(
    edges: Iterable[EdgeSpec], node_ids: Iterable[str] | None = None, *, reverse: bool = False
) -> dict[str, list[str]]:
    """Node id -> its children (its parents with ``reverse=True``), in edge order.

    Args:
        edges: the edges.
        node_ids: when given, every one of them gets an entry (in this order) and edges with an end
            outside them are left out; when None, every edge counts and only nodes with a neighbour
            get an entry.
        reverse: map each node to its parents instead of its children.
    """
    out: dict[str, list[str]] = {} if node_ids is None else {n: [] for n in node_ids}
    within = None if node_ids is None else set(out)
    for e in edges:
        if within is not None and (e.source not in within or e.target not in within):
            continue
        src, dst = (e.target, e.source) if reverse else (e.source, e.target)
        out.setdefault(src, []).append(dst)
    return out


def reaches(edges: Iterable[EdgeSpec], start: str, goal: str) -> bool:
    """Whether a path of edges leads from ``start`` to ``goal`` (a node reaches itself)."""
    children = adjacency(edges)
    stack, seen = [start], set()
    while stack:
        cur = stack.pop()
        if cur == goal:
            return True
        if cur not in seen:
            seen.add(cur)
            stack.extend(children.get(cur, []))
    return False


def _reach(adj: dict[str, list[str]], starts: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        for nxt in adj.get(stack.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def ancestors(edges: Iterable[EdgeSpec], node_ids: Iterable[str]) -> set[str]:
    """Every node some of ``node_ids`` depend on (not including them, unless in a cycle)."""
    return _reach(adjacency(edges, reverse=True), node_ids)


def descendants(edges: Iterable[EdgeSpec], node_ids: Iterable[str]) -> set[str]:
    """Every node that depends on some of ``node_ids`` (not including them, unless in a cycle)."""
    return _reach(adjacency(edges), node_ids)


def find_cycle(node_ids: Iterable[str], edges: Iterable[EdgeSpec]) -> list[str]:
    """One cycle among ``node_ids`` as a list of ids (its first node not repeated), or [] when none.

    The search starts from each node in the given order, so the same graph gives the same cycle.
    """
    children = adjacency(edges, node_ids)
    color: dict[str, int] = dict.fromkeys(children, 0)  # 0 unseen, 1 on the current path, 2 done
    for root in children:
        if color[root]:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(children[root]))]
        path = [root]
        color[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = 2
                stack.pop()
                path.pop()
            elif color[nxt] == 1:
                return path[path.index(nxt) :]
            elif color[nxt] == 0:
                color[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(children[nxt])))
    return []


def topological_order(node_ids: Sequence[str], edges: Iterable[EdgeSpec]) -> list[str]:
    """``node_ids`` in dependency order, ties broken by their order in ``node_ids`` (deterministic).

    Only edges between two of ``node_ids`` count. The result is shorter than ``node_ids`` when they
    contain a cycle: the nodes on or after it are left out.
    """
    rank = {nid: i for i, nid in enumerate(node_ids)}
    children = adjacency(edges, node_ids)
    indeg = dict.fromkeys(node_ids, 0)
    for kids in children.values():
        for c in kids:
            indeg[c] += 1
    heap = [(rank[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, n = heapq.heappop(heap)
        order.append(n)
        for c in children[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(heap, (rank[c], c))
    return order
