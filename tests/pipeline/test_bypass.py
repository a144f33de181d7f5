"""Disabled nodes on the Pipeline: the flag, its events, the file format, codegen and canvas edits."""

from __future__ import annotations

import json

import pytest

import tensorrag as tr
from tensorrag.codegen import pipeline_to_python
from tensorrag.errors import ConfigError, UnknownNodeError
from tensorrag.pipeline._bypass import bypassed
from tensorrag.widget._sync import apply_document
from tests.executors import cards as C


def chain() -> tr.Pipeline:
    """a -> b -> c, and a -> d."""
    p = tr.Pipeline("bypass")
    p.add(C.t_source, id="a")
    p.add(C.t_double, id="b")
    p.add(C.t_double, id="c")
    p.add(C.t_double, id="d")
    p.connect("a", "b")
    p.connect("b", "c")
    p.connect("a", "d")
    return p


def test_disable_and_enable_set_the_flag_and_emit() -> None:
    p = chain()
    events: list[dict] = []
    p.subscribe(events.append)
    assert p.disable("b").disabled is True
    assert p.nodes["b"].disabled
    assert events[-1] == {"op": "update_node", "node_id": "b", "fields": ["disabled"]}
    p.enable(p.nodes["b"])
    assert not p.nodes["b"].disabled
    assert p.set_disabled("c", True).disabled


def test_bad_arguments_are_refused_with_the_fix() -> None:
    p = chain()
    with pytest.raises(ConfigError, match=r"set_disabled\(node, disabled\) needs True or False; got 'yes'"):
        p.set_disabled("b", "yes")  # type: ignore[arg-type]
    with pytest.raises(UnknownNodeError, match="nope"):
        p.disable("nope")


def test_the_flag_round_trips_through_the_file(tmp_path) -> None:
    p = chain()
    p.disable("b")
    doc = p.to_dict()
    data = {n["id"]: n["data"] for n in doc["nodes"]}
    assert data["b"]["disabled"] is True
    assert "disabled" not in data["a"]  # only written when on: older readers see the same file
    path = tmp_path / "_pipeline.json"
    p.save(path)
    back = tr.Pipeline.load(path)
    assert back.nodes["b"].disabled and not back.nodes["a"].disabled
    assert back.to_dict() == doc
    bad = json.loads(json.dumps(doc))
    bad["nodes"][1]["data"]["disabled"] = "yes"
    with pytest.raises(tr.TensorragError, match=r"nodes\[1\]\.data\.disabled must be true or false \(node 'b'\)"):
        tr.Pipeline.from_dict(bad)


def test_bypassed_names_the_disabled_ancestor() -> None:
    p = chain()
    assert bypassed(p, p.nodes) == {}
    p.disable("b")
    assert bypassed(p, p.nodes) == {"b": "disabled", "c": "upstream node 'b' is disabled"}
    assert bypassed(p, ["a", "d"]) == {}  # only the selected part counts


def test_codegen_keeps_disabled_nodes_disabled() -> None:
    p = chain()
    p.disable("c")
    source = pipeline_to_python(p)
    assert "p.disable('c')" in source
    scope: dict = {"C": C}
    exec(source.replace("'t_source'", "C.t_source").replace("'t_double'", "C.t_double"), scope)
    assert scope["p"].nodes["c"].disabled and not scope["p"].nodes["b"].disabled


def test_canvas_edit_disables_enables_and_adds_disabled_nodes() -> None:
    p = chain()
    doc = p.to_dict()
    doc["nodes"][1]["data"]["disabled"] = True
    result = apply_document(p, doc)
    assert "disable:b" in result.applied and not result.errors
    assert p.nodes["b"].disabled
    # a pasted (or undone-delete) node that was disabled comes back disabled
    new = json.loads(json.dumps(doc["nodes"][1]))
    new["id"] = "b2"
    doc["nodes"].append(new)
    doc["nodes"][1]["data"].pop("disabled")
    result = apply_document(p, doc)
    assert not result.errors
    assert p.nodes["b2"].disabled and not p.nodes["b"].disabled
