"""tensorrag.pipeline._index: the edge index a pipeline keeps stays equal to one rebuilt from its edges."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorrag as tr
from tensorrag.errors import TensorragError
from tensorrag.pipeline._graph import reaches
from tensorrag.pipeline._index import EdgeIndex
from tensorrag.spec import EdgeSpec
from tensorrag.widget._sync import apply_document

OPS = ["add", "connect", "connect", "connect", "disconnect", "remove", "replace", "canvas", "load"]
PORTS = ["train_dataset", "test_dataset"]


def _grouped(edges: list[EdgeSpec], end: str) -> dict[str, list[EdgeSpec]]:
    out: dict[str, list[EdgeSpec]] = {}
    for e in edges:
        out.setdefault(getattr(e, end), []).append(e)
    return out


def _assert_consistent(p: tr.Pipeline) -> None:
    edges = p.edges
    assert p._index.edges == edges
    assert p._index.into == _grouped(edges, "target")
    assert p._index.out_of == _grouped(edges, "source")
    for nid in p.nodes:
        assert p.upstream(nid) == [e for e in edges if e.target == nid]
        assert p.downstream(nid) == [e for e in edges if e.source == nid]


def _odd_document(p: tr.Pipeline, i: int) -> dict[str, Any]:
    """The pipeline's document plus a doubly-fed input and an edge from a missing node (a file can hold both)."""
    doc = p.to_dict()
    if doc["edges"]:
        first = doc["edges"][i % len(doc["edges"])]
        doc["edges"] += [dict(first), {**first, "source": "ghost"}]
    return doc


def _step(p: tr.Pipeline, op: str, i: int, j: int) -> tr.Pipeline:
    ids = list(p.nodes)
    if op == "add":
        p.add("data_split", id=f"n{i}") if f"n{i}" not in p else None
    elif op == "connect" and ids:
        src, dst = ids[i % len(ids)], ids[j % len(ids)]
        would_cycle = reaches(p.edges, dst, src)
        try:
            edge = p.connect(src, PORTS[i % 2], dst, "dataset")
        except TensorragError as exc:
            assert ("would create a cycle" in str(exc)) == (would_cycle and src != dst)
        else:
            assert not would_cycle and edge == p.edges[-1]
    elif op == "disconnect" and p.edges:
        p.disconnect(p.edges[i % len(p.edges)])
    elif op == "remove" and ids:
        p.remove(ids[i % len(ids)])
    elif op == "replace":
        p.replace(_odd_document(p, i))
    elif op == "canvas":
        doc = p.to_dict()
        doc["edges"] = doc["edges"][: j % (len(doc["edges"]) + 1)]
        apply_document(p, doc)
    elif op == "load":
        p = tr.Pipeline.from_dict(_odd_document(p, i))
    return p


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 7), st.integers(0, 7)), max_size=40))
def test_the_index_equals_one_rebuilt_from_scratch_after_any_edits(steps: list[tuple[str, int, int]]) -> None:
    p = tr.Pipeline("fuzz")
    p.add("data_load", id="root")
    for op, i, j in steps:
        p = _step(p, op, i, j)
        _assert_consistent(p)


def test_removing_one_of_two_equal_edges_keeps_the_other_everywhere() -> None:
    e = EdgeSpec(source="a", source_output="out", target="b", target_input="x")
    index = EdgeIndex([e, e, EdgeSpec(source="c", source_output="out", target="b", target_input="x")])
    index.remove(e)
    assert index.edges == [e, index.edges[1]] and index.into["b"] == index.edges and index.out_of["a"] == [e]
    index.remove(e)
    assert "a" not in index.out_of and index.into["b"] == index.edges and len(index.edges) == 1


def test_reaches_walks_edges_to_missing_nodes_and_a_node_reaches_itself() -> None:
    index = EdgeIndex([EdgeSpec(source="ghost", source_output="o", target="a", target_input="x")])
    assert index.reaches("ghost", "a") and index.reaches("a", "a") and not index.reaches("a", "ghost")
