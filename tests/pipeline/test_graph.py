"""tensorrag.pipeline._graph: the pure graph functions and their one adjacency builder."""

from __future__ import annotations

from tensorrag.pipeline._graph import adjacency, ancestors, descendants, find_cycle, reaches, topological_order
from tensorrag.spec import EdgeSpec


def _e(src: str, dst: str, port: str = "x") -> EdgeSpec:
    return EdgeSpec(source=src, source_output="out", target=dst, target_input=port)


EDGES = [_e("a", "b"), _e("b", "c"), _e("a", "c", "y"), _e("ghost", "a")]


def test_adjacency_without_node_ids_counts_every_edge():
    assert adjacency(EDGES) == {"a": ["b", "c"], "b": ["c"], "ghost": ["a"]}
    assert adjacency(EDGES, reverse=True) == {"b": ["a"], "c": ["b", "a"], "a": ["ghost"]}


def test_adjacency_with_node_ids_keeps_their_order_and_drops_outside_edges():
    assert adjacency(EDGES, ["c", "b", "a"]) == {"c": [], "b": ["c"], "a": ["b", "c"]}
    assert adjacency(EDGES, ["c", "a"], reverse=True) == {"c": ["a"], "a": []}


def test_reaches_ancestors_descendants():
    assert reaches(EDGES, "ghost", "c") and reaches(EDGES, "a", "a") and not reaches(EDGES, "c", "a")
    assert ancestors(EDGES, ["c"]) == {"a", "b", "ghost"}
    assert descendants(EDGES, ["ghost"]) == {"a", "b", "c"}


def test_topological_order_breaks_ties_by_the_given_order():
    assert topological_order(["c", "b", "a"], EDGES) == ["a", "b", "c"]
    assert topological_order(["x", "b", "y"], EDGES) == ["x", "b", "y"]


def test_a_cycle_is_found_and_shortens_the_order():
    edges = [_e("a", "b"), _e("b", "c"), _e("c", "b", "y")]
    assert find_cycle(["a", "b", "c"], edges) == ["b", "c"]
    assert topological_order(["a", "b", "c"], edges) == ["a"]
    assert find_cycle(["a", "b"], edges) == []
