from __future__ import annotations

import json

import pandas as pd  # noqa: TC002 -- @card resolves annotations at runtime
import pytest

import tensorrag as tr
from tensorrag import BaseCard, Pipeline
from tensorrag.errors import (
    CardConfigError,
    DuplicateNodeError,
    PipelineValidationError,
    RegistryError,
    SpecError,
    UnknownCardTypeError,
    UnknownNodeError,
    WiringError,
)
from tensorrag.registry import Registry, card_registry

# --------------------------------------------------------------------------- test cards


class _Card(BaseCard):
    def execute(self, config, inputs, storage):
        raise NotImplementedError


class Src(_Card):
    card_type = "src"
    config_schema = {"rows": {"type": "integer", "default": 3, "minimum": 1}}
    output_schema = {"table": "dataframe"}


class Tx(_Card):
    card_type = "tx"
    config_schema = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
            "k": {"type": "integer"},
        },
    }
    input_schema = {"table": "dataframe"}
    output_schema = {"table": "dataframe"}


class Join(_Card):
    card_type = "join"
    input_schema = {"left": "dataframe", "right": "dataframe"}
    output_schema = {"joined": "dataframe"}


class Fit(_Card):
    card_type = "fit"
    config_schema = {"type": "object", "properties": {"target": {"type": "string"}}, "required": ["target"]}
    input_schema = {"spec": "json"}
    output_schema = {"model": "model", "metrics": "json"}


class Sink(_Card):
    card_type = "sink"
    input_schema = {"anything": "any"}


class Spec(_Card):
    card_type = "spec"
    output_schema = {"spec": "json"}


CARDS = (Src, Tx, Join, Fit, Sink, Spec)


@pytest.fixture
def reg() -> Registry:
    """A registry with the test cards, falling back to the global one (built-ins)."""
    r = card_registry.child()
    for cls in CARDS:
        r.register(cls.card_type, cls)
    return r


@pytest.fixture
def p(reg) -> Pipeline:
    return Pipeline("t", registry=reg)


def _chain(p: Pipeline) -> Pipeline:
    p.add("src", id="a")
    p.add("tx", id="b")
    p.add("tx", id="c")
    p.connect("a", "table", "b", "table")
    p.connect("b", "table", "c", "table")
    return p


# --------------------------------------------------------------------------- add


class TestAdd:
    def test_by_name(self, p):
        node = p.add("src", id="load", rows=5)
        assert node.id == "load"
        assert node.card is Src
        assert node.card_type == "src"
        assert dict(node.config) == {"rows": 5}
        assert node.outputs == {"table": "dataframe"}
        assert node.inputs == {}
        assert p.nodes["load"] is node
        assert "load" in p and len(p) == 1

    def test_by_class_registers_on_the_pipeline_only(self):
        class Local(_Card):
            card_type = "pipeline_local_card"
            output_schema = {"out": "json"}

        p = Pipeline("t")
        node = p.add(Local)
        assert node.card is Local
        assert p.registry.get("pipeline_local_card") is Local
        assert "pipeline_local_card" not in card_registry

    def test_by_card_function(self):
        @tr.card
        def drop_nulls(dataset: pd.DataFrame, how: str = "any") -> pd.DataFrame:
            return dataset.dropna(how=how)

        p = Pipeline("t")
        node = p.add(drop_nulls, how="all")
        assert node.id == "drop_nulls-1"
        assert node.card is drop_nulls.card_class
        assert node.inputs == {"dataset": "dataframe"}

    def test_builtin_by_name(self):
        p = Pipeline("t")
        node = p.add("data_load", source="sample", sample_name="iris")
        assert node.id == "data_load-1"
        assert node.outputs == {"dataset": "dataframe"}

    def test_default_ids(self, p):
        assert [p.add("src").id, p.add("src").id, p.add("tx").id] == ["src-1", "src-2", "tx-3"]

    def test_default_id_skips_taken(self, p):
        p.add("src", id="src-1")
        assert p.add("src").id == "src-2"

    def test_default_ids_continue_after_remove(self, p):
        p.add("src")
        p.add("src")
        p.remove("src-2")
        assert p.add("src").id == "src-3"

    def test_duplicate_id(self, p):
        p.add("src", id="a")
        with pytest.raises(DuplicateNodeError, match="A node with id 'a' already exists in pipeline 't'"):
            p.add("tx", id="a")
        assert p.nodes["a"].card_type == "src"

    @pytest.mark.parametrize("bad", ["", "has space", "../x", "a/b", "-lead", "x" * 129, "é"])
    def test_invalid_id(self, p, bad):
        with pytest.raises(WiringError, match="Invalid node id"):
            p.add("src", id=bad)
        assert len(p) == 0

    @pytest.mark.parametrize("good", ["a", "A_1", "node.1", "ns:x", "_x", "1", "x" * 128])
    def test_valid_ids(self, p, good):
        assert p.add("src", id=good).id == good

    def test_unknown_type_did_you_mean(self, p):
        with pytest.raises(UnknownCardTypeError, match=r"Unknown card type 'data_lod'\. Did you mean 'data_load'"):
            p.add("data_lod")
        with pytest.raises(UnknownCardTypeError, match=r"Did you mean 'src'\?"):
            p.add("srcc")
        assert len(p) == 0

    def test_bad_config_names_node_and_field(self, p):
        with pytest.raises(
            CardConfigError, match=r"Invalid config for node 's' \(src\): rows: must be >= 1, got 0"
        ) as ei:
            p.add("src", id="s", rows=0)
        err = ei.value
        assert (err.node_id, err.card_type) == ("s", "src")
        assert err.problems == [{"node_id": "s", "field": "rows", "message": "must be >= 1, got 0"}]
        assert "s" not in p

    def test_bad_config_every_field(self, p):
        with pytest.raises(CardConfigError) as ei:
            p.add("tx", id="t", mode="fsat", k="x", kk=1)
        assert [q["field"] for q in ei.value.problems] == ["mode", "k", "kk"]
        assert "did you mean 'fast'" in str(ei.value)

    def test_bad_config_does_not_use_up_an_id(self, p):
        with pytest.raises(CardConfigError):
            p.add("src", rows=0)
        assert p.add("src").id == "src-1"

    def test_positions(self, p):
        a = p.add("src")
        b = p.add("src")
        c = p.add("src", position={"x": 5, "y": 7})
        d = p.add("src")
        assert a.position == {"x": 0.0, "y": 0.0}
        assert b.position == {"x": 280.0, "y": 0.0}
        assert c.position == {"x": 5, "y": 7}
        assert d.position == {"x": 285.0, "y": 7.0}

    def test_resources(self, p):
        node = p.add("src", resources={"gpu": "A10G", "timeout": 900})
        assert node.resources == {"gpu": "A10G", "timeout": 900}
        p.set_resources(node, None)
        assert node.resources is None

    def test_config_is_read_only(self, p):
        node = p.add("src", rows=2)
        with pytest.raises(TypeError):
            node.config["rows"] = 3  # type: ignore[index]

    def test_resolved_config(self, p):
        node = p.add("tx", k="4")
        assert node.resolved_config() == {"mode": "fast", "k": 4}
        assert dict(node.config) == {"k": "4"}  # stored as given

    def test_not_a_card(self, p):
        with pytest.raises(tr.CardDefinitionError, match="Expected a BaseCard subclass"):
            p.add(object)
        with pytest.raises(tr.CardDefinitionError, match="must implement execute"):
            p.add(type("NoExec", (BaseCard,), {"card_type": "no_exec"}))
        assert len(p) == 0

    def test_unknown_node_did_you_mean(self, p):
        p.add("src", id="load")
        with pytest.raises(UnknownNodeError, match=r"No node with id 'laod'\. Did you mean 'load'\?"):
            p.node("laod")

    def test_redefined_class_replaces_quietly(self, p):
        def define(version: int):
            class Versioned(_Card):
                card_type = "versioned"
                output_schema = {"out": "json"}
                v = version

            return Versioned

        first, second = define(1), define(2)
        node = p.add(first, id="n")
        p.add(second, id="m")
        assert p.registry.get("versioned") is second
        assert node.card is second

    def test_other_class_with_same_type_is_refused(self, p):
        class Other(_Card):
            card_type = "src"
            output_schema = {"x": "json"}

        p.add("src", id="a")
        with pytest.raises(RegistryError, match="'src' is already registered"):
            p.register(Other)
        p.register(Other, clobber=True)
        assert p.node("a").card is Other


# --------------------------------------------------------------------------- connect / disconnect


class TestConnect:
    def test_connect_explicit(self, p):
        _chain(p)
        edges = p.edges
        assert [(e.source, e.source_output, e.target, e.target_input) for e in edges] == [
            ("a", "table", "b", "table"),
            ("b", "table", "c", "table"),
        ]
        assert edges[0].id == "e-a-table-b-table"
        assert p.upstream("b") == [edges[0]]
        assert p.downstream("b") == [edges[1]]

    def test_connect_nodes_objects(self, p):
        a, b = p.add("src"), p.add("tx")
        edge = p.connect(a, "table", b, "table")
        assert (edge.source, edge.target) == (a.id, b.id)

    def test_unknown_node(self, p):
        p.add("src", id="a")
        with pytest.raises(UnknownNodeError, match=r"No node with id 'bb'"):
            p.connect("a", "table", "bb", "table")
        with pytest.raises(UnknownNodeError, match=r"No node with id 'aa'\. Did you mean 'a'"):
            p.connect("aa", "table", "a", "table")

    def test_unknown_output_port(self, p):
        p.add("src", id="a")
        p.add("tx", id="b")
        with pytest.raises(WiringError, match=r"Node 'a' \(src\) has no output 'tabel'\. Did you mean 'table'\?"):
            p.connect("a", "tabel", "b", "table")

    def test_unknown_input_port(self, p):
        p.add("src", id="a")
        p.add("join", id="j")
        with pytest.raises(WiringError, match=r"Node 'j' \(join\) has no input 'lft'\. Did you mean 'left'\?"):
            p.connect("a", "table", "j", "lft")
        with pytest.raises(WiringError, match=r"has no input 'zzz'\. It has: left, right\."):
            p.connect("a", "table", "j", "zzz")

    def test_type_mismatch(self, p):
        p.add("src", id="a")
        p.add("fit", id="f", target="y")
        with pytest.raises(WiringError, match=r"Type mismatch: a\.table gives 'dataframe' but f\.spec expects 'json'"):
            p.connect("a", "table", "f", "spec")
        assert p.edges == []

    def test_any_accepts_everything(self, p):
        p.add("fit", id="f", target="y")
        p.add("sink", id="s")
        edge = p.connect("f", "model", "s", "anything")
        assert edge.target_input == "anything"

    def test_input_already_fed(self, p):
        p.add("src", id="a")
        p.add("src", id="a2")
        p.add("tx", id="b")
        p.connect("a", "table", "b", "table")
        with pytest.raises(WiringError, match=r"Input b\.table is already fed by a\.table; disconnect that edge first"):
            p.connect("a2", "table", "b", "table")

    def test_fan_out_allowed(self, p):
        p.add("src", id="a")
        p.add("join", id="j")
        p.connect("a", "table", "j", "left")
        p.connect("a", "table", "j", "right")
        assert len(p.edges) == 2

    def test_self_loop(self, p):
        p.add("tx", id="b")
        with pytest.raises(WiringError, match=r"Cannot connect node 'b' to itself"):
            p.connect("b", "table", "b", "table")

    def test_cycle(self, p):
        _chain(p)
        p.add("join", id="j")
        p.connect("c", "table", "j", "left")
        p.disconnect("a", "table", "b", "table")
        with pytest.raises(WiringError, match=r"Connecting j -> b would create a cycle"):
            p.connect("j", "joined", "b", "table")

    def test_auto_pick_only_pair(self, p):
        p.add("src", id="a")
        p.add("tx", id="b")
        edge = p.connect("a", "b")
        assert (edge.source_output, edge.target_input) == ("table", "table")

    def test_auto_pick_with_one_port_named(self, p):
        p.add("src", id="a")
        p.add("join", id="j")
        with pytest.raises(WiringError, match="2 compatible"):
            p.connect("a", "table", "j")
        p.connect("a", "table", "j", "left")
        edge = p.connect("a", "table", "j")  # the only free input is right
        assert edge.target_input == "right"
        with pytest.raises(WiringError, match="no compatible"):
            p.connect("a", "j")

    def test_auto_pick_ambiguous(self, p):
        p.add("src", id="a")
        p.add("join", id="j")
        with pytest.raises(WiringError, match=r"Cannot choose ports for a -> j: 2 compatible \(output, input\) pairs"):
            p.connect("a", "j")

    def test_auto_pick_prefers_same_name(self, p):
        p.add("fit", id="f", target="y")
        p.add("sink", id="s")
        p.add("spec", id="sp")
        # fit.model -> sink.anything and fit.metrics -> sink.anything are both compatible
        with pytest.raises(WiringError, match="2 compatible"):
            p.connect("f", "s")
        edge = p.connect("sp", "f")
        assert (edge.source_output, edge.target_input) == ("spec", "spec")

    def test_auto_pick_none(self, p):
        p.add("src", id="a")
        p.add("fit", id="f", target="y")
        with pytest.raises(WiringError, match=r"Cannot choose ports for a -> f: no compatible"):
            p.connect("a", "f")

    def test_connect_needs_target(self, p):
        p.add("src", id="a")
        with pytest.raises(WiringError, match="needs a target node"):
            p.connect("a")

    def test_unknown_card_node_cannot_connect(self, reg):
        p = Pipeline.from_dict({"nodes": [{"id": "x", "data": {"card_type": "nope"}}]}, registry=reg)
        p.add("tx", id="b")
        with pytest.raises(WiringError, match=r"Node 'x' has unknown card type 'nope'"):
            p.connect("x", "table", "b", "table")

    def test_disconnect_by_ends_edge_and_id(self, p):
        _chain(p)
        e1, e2 = p.edges
        assert p.disconnect("a", "table", "b", "table") == e1
        p.connect("a", "table", "b", "table")
        assert p.disconnect(e2.id) == e2
        p.connect("b", "table", "c", "table")
        assert p.disconnect(p.edges[0]).source == "a"
        assert len(p.edges) == 1

    def test_disconnect_by_nodes_only(self, p):
        _chain(p)
        p.disconnect("b", target="c")
        assert [(e.source, e.target) for e in p.edges] == [("a", "b")]

    def test_disconnect_missing(self, p):
        _chain(p)
        with pytest.raises(WiringError, match="No such edge"):
            p.disconnect("c", "table", "a", "table")
        with pytest.raises(WiringError, match="No such edge"):
            p.disconnect("no-such-edge-id")

    def test_remove_drops_edges(self, p):
        _chain(p)
        p.remove("b")
        assert "b" not in p
        assert p.edges == []
        with pytest.raises(UnknownNodeError):
            p.remove("b")


# --------------------------------------------------------------------------- configure


class TestConfigure:
    def test_merges_and_validates(self, p):
        node = p.add("tx", id="t", mode="slow")
        p.configure("t", k="5")
        assert dict(node.config) == {"mode": "slow", "k": "5"}
        assert node.resolved_config() == {"mode": "slow", "k": 5}

    def test_none_removes_key(self, p):
        node = p.add("tx", id="t", mode="slow", k=1)
        p.configure(node, mode=None)
        assert dict(node.config) == {"k": 1}

    def test_error_keeps_old_config(self, p):
        node = p.add("tx", id="t", mode="slow")
        with pytest.raises(CardConfigError, match=r"node 't' \(tx\): mode: must be one of 'fast', 'slow'; got 'sloww'"):
            p.configure("t", mode="sloww", k=2)
        assert dict(node.config) == {"mode": "slow"}

    def test_node_configure(self, p):
        node = p.add("src", id="s")
        assert node.configure(rows=9) is node
        assert dict(node.config) == {"rows": 9}

    def test_set_config_replaces(self, p):
        node = p.add("tx", id="t", mode="slow", k=1)
        p.set_config("t", {"k": 2})
        assert dict(node.config) == {"k": 2}
        with pytest.raises(CardConfigError):
            p.set_config("t", {"k": "two"})
        assert dict(node.config) == {"k": 2}

    def test_configure_unknown_node(self, p):
        with pytest.raises(UnknownNodeError):
            p.configure("ghost", k=1)

    def test_move(self, p):
        node = p.add("src", id="s")
        assert p.move("s", 10, -4) is node
        assert node.position == {"x": 10, "y": -4}


# --------------------------------------------------------------------------- observing


class TestSubscribe:
    def test_every_change_emits(self, p):
        events: list[dict] = []
        p.subscribe(events.append)
        p.add("src", id="a")
        p.add("tx", id="b")
        edge = p.connect("a", "b")
        p.configure("b", mode="slow")
        p.move("b", 1, 2)
        p.set_resources("b", {"gpu": "T4"})
        p.disconnect(edge)
        p.connect("a", "b")
        p.remove("b")
        edge_doc = edge.to_dict()
        assert events == [
            {"op": "add_node", "node_id": "a"},
            {"op": "add_node", "node_id": "b"},
            {"op": "connect", "edge": edge_doc},
            {"op": "update_node", "node_id": "b", "fields": ["config"]},
            {"op": "update_node", "node_id": "b", "fields": ["position"]},
            {"op": "update_node", "node_id": "b", "fields": ["resources"]},
            {"op": "disconnect", "edge": edge_doc},
            {"op": "connect", "edge": edge_doc},
            {"op": "disconnect", "edge": edge_doc},
            {"op": "remove_node", "node_id": "b"},
        ]

    def test_register_event(self):
        class Fresh(_Card):
            card_type = "fresh_card_for_events"

        p = Pipeline("t")
        events: list[dict] = []
        p.subscribe(events.append)
        p.add(Fresh, id="f")
        assert events == [
            {"op": "register", "card_type": "fresh_card_for_events"},
            {"op": "add_node", "node_id": "f"},
        ]

    def test_failed_changes_emit_nothing(self, p):
        p.add("src", id="a")
        events: list[dict] = []
        p.subscribe(events.append)
        for bad in (
            lambda: p.add("src", id="a"),
            lambda: p.add("src", rows=0),
            lambda: p.connect("a", "nope", "a", "x"),
            lambda: p.configure("a", rows=-1),
        ):
            with pytest.raises(tr.TensorragError):
                bad()
        assert events == []

    def test_unsubscribe(self, p):
        events: list[dict] = []
        unsubscribe = p.subscribe(events.append)
        p.add("src", id="a")
        unsubscribe()
        unsubscribe()  # idempotent
        p.add("src", id="b")
        assert events == [{"op": "add_node", "node_id": "a"}]

    def test_several_listeners(self, p):
        first: list[dict] = []
        second: list[dict] = []
        p.subscribe(first.append)
        p.subscribe(second.append)
        p.add("src", id="a")
        assert first == second == [{"op": "add_node", "node_id": "a"}]


# --------------------------------------------------------------------------- validate


BROKEN_DOC = {
    "nodes": [
        {"id": "typo", "data": {"card_type": "data_lod"}},
        {"id": "s", "data": {"card_type": "src", "config": {"rows": 0}}},
        {"id": "c1", "data": {"card_type": "tx"}},
        {"id": "c2", "data": {"card_type": "tx"}},
        {"id": "j", "data": {"card_type": "join"}},
        {"id": "f", "data": {"card_type": "fit", "config": {"target": "y"}}},
        {"id": "lonely", "data": {"card_type": "tx"}},
        {"id": "j2", "data": {"card_type": "join"}},
    ],
    "edges": [
        {"source": "c1", "target": "c2", "sourceHandle": "table", "targetHandle": "table"},
        {"source": "c2", "target": "c1", "sourceHandle": "table", "targetHandle": "table"},
        {"source": "s", "target": "j", "sourceHandle": "tabel", "targetHandle": "left"},
        {"source": "s", "target": "f", "sourceHandle": "table", "targetHandle": "spec"},
        {"source": "s", "target": "j2", "sourceHandle": "table", "targetHandle": "left"},
        {"source": "c1", "target": "j2", "sourceHandle": "table", "targetHandle": "left"},
        {"source": "s", "target": "j", "sourceHandle": "table", "targetHandle": "right"},
        {"source": "s", "target": "ghost", "sourceHandle": "table", "targetHandle": "table"},
    ],
}


class TestValidate:
    def test_every_problem_at_once(self, reg):
        p = Pipeline.from_dict(BROKEN_DOC, name="broken", registry=reg)
        with pytest.raises(PipelineValidationError) as ei:
            p.validate()
        problems = ei.value.problems
        assert problems == p.problems()

        def find(node_id, field=None, text=""):
            hits = [q for q in problems if q["node_id"] == node_id and q.get("field") == field and text in q["message"]]
            assert hits, f"no problem for {node_id}.{field} containing {text!r} in {problems}"
            return hits

        find("typo", text="Unknown card type 'data_lod'. Did you mean 'data_load'")
        find("s", "rows", "must be >= 1, got 0")
        find("j", "left", "Node 's' (src) has no output 'tabel'. Did you mean 'table'?")
        find("f", "spec", "Type mismatch: s.table gives 'dataframe' but f.spec expects 'json'")
        find("lonely", "table", "Required input 'table' (dataframe) is not connected")
        find("j2", "right", "Required input 'right'")
        find("j2", "left", "Input 'left' has two incoming edges ('s' and 'c1')")
        assert [q for q in problems if "ghost" in q["message"] and "missing node" in q["message"]]
        (cycle,) = [q for q in problems if "cycle" in q["message"]]
        assert cycle["node_id"] in ("c1", "c2")
        assert "c1 -> c2 -> c1" in cycle["message"] or "c2 -> c1 -> c2" in cycle["message"]
        text = str(ei.value)
        assert text.startswith(f"Pipeline 'broken' is invalid ({len(problems)} problems):")
        assert "[s.rows] must be >= 1, got 0" in text

    def test_problems_do_not_raise(self, reg):
        p = Pipeline.from_dict(BROKEN_DOC, registry=reg)
        assert len(p.problems()) == 9

    def test_valid_pipeline(self, p):
        _chain(p)
        assert p.problems() == []
        assert p.validate() is p

    def test_missing_required_input(self, p):
        p.add("tx", id="b")
        with pytest.raises(
            PipelineValidationError, match=r"\[b\.table\] Required input 'table' \(dataframe\) is not connected"
        ):
            p.validate()

    def test_missing_required_config(self, reg):
        doc = {"nodes": [{"id": "f", "data": {"card_type": "fit"}}, {"id": "sp", "data": {"card_type": "spec"}}]}
        doc["edges"] = [{"source": "sp", "target": "f", "sourceHandle": "spec", "targetHandle": "spec"}]
        p = Pipeline.from_dict(doc, registry=reg)
        assert p.problems() == [{"node_id": "f", "field": "target", "message": "is required"}]

    def test_card_with_missing_dependency_keeps_install_hint(self):
        r = card_registry.child()
        r.register("needs_dep", "tr_missing_module_for_test:Card", hint="pip install 'tensorrag[llm]'")
        p = Pipeline.from_dict({"nodes": [{"id": "x", "data": {"card_type": "needs_dep"}}]}, registry=r)
        (problem,) = p.problems()
        assert "Unknown card type" not in problem["message"]
        assert "pip install 'tensorrag[llm]'" in problem["message"]

    def test_add_card_with_missing_dependency(self):
        r = card_registry.child()
        r.register("needs_dep", "tr_missing_module_for_test:Card", hint="pip install 'tensorrag[llm]'")
        with pytest.raises(RegistryError, match=r"needs 'tr_missing_module_for_test'.*pip install 'tensorrag\[llm\]'"):
            Pipeline("t", registry=r).add("needs_dep")

    def test_loaded_unknown_type_fixed_by_register(self):
        p = Pipeline.from_dict({"nodes": [{"id": "x", "data": {"card_type": "late_card"}}]})
        assert p.node("x").card is None
        assert "Unknown card type 'late_card'" in p.problems()[0]["message"]

        class Late(_Card):
            card_type = "late_card"

        p.register(Late)
        assert p.node("x").card is Late
        assert p.problems() == []


# --------------------------------------------------------------------------- documents


def _rich(p: Pipeline) -> Pipeline:
    _chain(p)
    p.add("spec", id="sp", position={"x": 12.5, "y": -40})
    p.add("fit", id="f", target="y", resources={"gpu": "T4", "timeout": 600})
    p.connect("sp", "f")
    p.move("c", 900, 100)
    return p


class TestDocuments:
    def test_to_dict_shape(self, p):
        _rich(p)
        doc = p.to_dict()
        assert doc["schema_version"] == 1
        assert doc["name"] == "t"
        assert doc["nodeCounter"] == 5
        f = next(n for n in doc["nodes"] if n["id"] == "f")
        assert set(f) == {"id", "type", "position", "data"}
        assert f["type"] == "cardNode"
        assert f["data"] == {"card_type": "fit", "config": {"target": "y"}, "resources": {"gpu": "T4", "timeout": 600}}
        sp = next(n for n in doc["nodes"] if n["id"] == "sp")
        assert sp["position"] == {"x": 12.5, "y": -40}
        assert doc["edges"][-1] == {
            "id": "e-sp-spec-f-spec",
            "source": "sp",
            "target": "f",
            "sourceHandle": "spec",
            "targetHandle": "spec",
            "data": {"source_output": "spec", "target_input": "spec"},
        }

    def test_json_round_trip(self, p, reg):
        _rich(p)
        text = p.to_json()
        again = Pipeline.from_json(text, registry=reg)
        assert again == p
        assert again.to_dict() == p.to_dict()
        assert again.node("f").resources == {"gpu": "T4", "timeout": 600}
        assert again.node("c").position == {"x": 900, "y": 100}
        assert again.node("f").card is Fit
        assert json.loads(p.to_json(indent=None)) == p.to_dict()

    def test_equality(self, p, reg):
        _rich(p)
        other = Pipeline.from_dict(p.to_dict(), registry=reg)
        assert other == p
        other.move("c", 0, 0)
        assert other != p
        assert p != "not a pipeline"
        with pytest.raises(TypeError):
            hash(p)

    def test_from_json_accepts_bytes_and_dict(self, p, reg):
        _rich(p)
        assert Pipeline.from_json(p.to_json().encode(), registry=reg) == p
        assert Pipeline.from_json(p.to_dict(), registry=reg) == p

    def test_from_json_invalid_text(self):
        with pytest.raises(SpecError, match="is not valid JSON"):
            Pipeline.from_json("{nodes: ")

    def test_from_dict_duplicate_ids(self, reg):
        doc = {"nodes": [{"id": "a", "data": {"card_type": "src"}}, {"id": "a", "data": {"card_type": "tx"}}]}
        with pytest.raises(DuplicateNodeError, match="Two nodes share the id 'a'"):
            Pipeline.from_dict(doc, registry=reg)

    def test_from_dict_keeps_bad_config_for_validate(self, reg):
        p = Pipeline.from_dict(
            {"nodes": [{"id": "s", "data": {"card_type": "src", "config": {"rows": "many"}}}]}, registry=reg
        )
        assert dict(p.node("s").config) == {"rows": "many"}
        assert p.problems() == [{"node_id": "s", "field": "rows", "message": "expected an integer, got string 'many'"}]

    def test_original_file_shape(self):
        doc = {
            "nodes": [
                {
                    "id": "node_1",
                    "type": "custom",
                    "position": {"x": 100, "y": 100},
                    "data": {
                        "label": "Data Load",
                        "cardSchema": {"card_type": "data_load", "display_name": "Data Load", "category": "data"},
                        "config": {"source": "sample", "sample_name": "iris"},
                    },
                },
                {
                    "id": "node_2",
                    "type": "custom",
                    "position": {"x": 400, "y": 100},
                    "data": {
                        "label": "Data Split",
                        "cardSchema": {"card_type": "data_split"},
                        "config": {"test_ratio": 0.3},
                    },
                },
            ],
            "edges": [
                {
                    "id": "edge_1_2",
                    "source": "node_1",
                    "target": "node_2",
                    "sourceHandle": "dataset",
                    "targetHandle": "dataset",
                    "label": "dataset",
                    "data": {"source_output": "dataset", "target_input": "dataset"},
                }
            ],
            "nodeCounter": 2,
        }
        p = Pipeline.from_json(json.dumps(doc), name="imported")
        assert p.name == "imported"
        assert list(p.nodes) == ["node_1", "node_2"]
        assert p.node("node_1").card_type == "data_load"
        assert p.node("node_2").card is not None
        assert p.problems() == []
        assert p.topological_order() == ["node_1", "node_2"]
        out = p.to_dict()
        assert out["nodes"][0]["data"]["label"] == "Data Load"
        assert out["nodes"][0]["data"]["cardSchema"]["display_name"] == "Data Load"
        assert out["nodes"][0]["type"] == "custom"
        assert out["edges"][0]["label"] == "dataset"
        assert out["nodeCounter"] == 2
        assert Pipeline.from_dict(out) == p
        assert p.add("data_split").id == "data_split-3"

    def test_name_from_document(self, p):
        p.add("src")
        assert Pipeline.from_dict(p.to_dict()).name == "t"
        assert Pipeline.from_dict({"nodes": []}).name == "pipeline"

    def test_save_and_load(self, p, reg, tmp_path):
        _rich(p)
        path = tmp_path / "sub" / "_pipeline.json"
        assert p.save(path) == str(path)
        assert json.loads(path.read_text()) == p.to_dict()
        assert Pipeline.load(path, registry=reg) == p
        assert not list(path.parent.glob("*.tmp"))

    def test_save_to_fsspec_url(self, p, reg):
        _rich(p)
        url = "memory://tr-test-pipeline-save/_pipeline.json"
        p.save(url)
        assert Pipeline.load(url, registry=reg) == p

    def test_unknown_keys_survive(self, reg):
        doc = {
            "schema_version": 1,
            "name": "x",
            "nodes": [
                {
                    "id": "a",
                    "type": "cardNode",
                    "position": {"x": 1, "y": 2},
                    "data": {"card_type": "src", "config": {"rows": 2}, "label": "A"},
                    "selected": True,
                }
            ],
            "edges": [],
            "nodeCounter": 1,
            "viewport": {"zoom": 2},
        }
        p = Pipeline.from_dict(doc, registry=reg)
        assert p.to_dict() == doc
        p.configure("a", rows=3)
        assert p.to_dict()["nodes"][0]["selected"] is True


# --------------------------------------------------------------------------- graph queries


class TestGraph:
    def test_topological_order_insertion_tie_break(self, p):
        for nid in ("z", "y", "x"):
            p.add("src", id=nid)
        p.add("join", id="j")
        p.add("tx", id="t")
        p.connect("y", "table", "j", "left")
        p.connect("z", "table", "j", "right")
        p.connect("x", "table", "t", "table")
        assert p.topological_order() == ["z", "y", "x", "j", "t"]
        assert p.topological_order() == p.topological_order()

    def test_topological_order_respects_edges_over_insertion(self, p):
        p.add("tx", id="late")
        p.add("src", id="first")
        p.connect("first", "late")
        assert p.topological_order() == ["first", "late"]

    def test_topological_order_subset(self, p):
        _chain(p)
        assert p.topological_order(["c", "a"]) == ["a", "c"]

    def test_topological_order_unknown_node(self, p):
        _chain(p)
        with pytest.raises(UnknownNodeError, match="ghost"):
            p.topological_order(["a", "ghost"])

    def test_topological_order_cycle(self, reg):
        doc = {
            "nodes": [{"id": "a", "data": {"card_type": "tx"}}, {"id": "b", "data": {"card_type": "tx"}}],
            "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
        }
        p = Pipeline.from_dict(doc, registry=reg)
        with pytest.raises(PipelineValidationError, match=r"cycle: a -> b"):
            p.topological_order()

    def test_ancestors_descendants(self, p):
        _chain(p)
        p.add("src", id="other")
        assert p.ancestors(["c"]) == {"a", "b"}
        assert p.ancestors(["a"]) == set()
        assert p.descendants(["a"]) == {"b", "c"}
        assert p.descendants(["c", "other"]) == set()
        assert p.ancestors(["b", "c"]) == {"a", "b"}

    def test_iteration(self, p):
        _chain(p)
        assert [n.id for n in p] == ["a", "b", "c"]
        assert repr(p) == "Pipeline('t', 3 nodes, 2 edges)"


class TestReplaceAndCopy:
    def test_replace_emits_one_load_and_keeps_identity(self, p, reg):
        _chain(p)
        other = Pipeline("other", registry=reg)
        _rich(other)
        events: list[dict] = []
        p.subscribe(events.append)
        same = p.replace(other.to_dict())
        assert same is p
        assert events == [{"op": "load"}]
        assert p.to_dict() == other.to_dict()
        assert p.name == "other"
        assert all(n._pipeline is p for n in p)
        p.configure("f", target="z")  # nodes are wired to p, not the staging pipeline
        assert events[-1] == {"op": "update_node", "node_id": "f", "fields": ["config"]}

    def test_replace_malformed_leaves_pipeline_unchanged(self, p):
        _chain(p)
        before = p.to_dict()
        events: list[dict] = []
        p.subscribe(events.append)
        with pytest.raises(SpecError):
            p.replace({"nodes": "nope"})
        with pytest.raises(DuplicateNodeError):
            p.replace({"nodes": [{"id": "a", "data": {"card_type": "src"}}, {"id": "a", "data": {"card_type": "src"}}]})
        assert p.to_dict() == before
        assert events == []

    def test_copy_is_independent(self, p):
        _rich(p)
        events: list[dict] = []
        p.subscribe(events.append)
        clone = p.copy()
        assert clone == p
        assert clone is not p
        assert clone.registry is p.registry
        clone.configure("f", target="other")
        clone.remove("a")
        assert p.node("f").config["target"] == "y"
        assert "a" in p
        assert events == []
