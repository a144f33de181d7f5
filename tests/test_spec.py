from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tensorrag.errors import SpecError
from tensorrag.spec import (
    PORT_TYPES,
    SCHEMA_VERSION,
    EdgeSpec,
    GraphSpec,
    NodeSpec,
    Task,
    TaskResult,
    check_wire,
    json_problem,
    load_json,
    port_compatible,
    position_problem,
)


def _current_doc() -> dict:
    return {
        "schema_version": 1,
        "name": "demo",
        "nodes": [
            {
                "id": "load",
                "type": "cardNode",
                "position": {"x": 10.5, "y": -3},
                "data": {
                    "card_type": "data_load",
                    "config": {"source": "sample", "nested": {"a": [1, 2, {"b": None}]}},
                    "resources": {"gpu": "T4", "timeout": 600},
                    "cardSchema": {"card_type": "data_load", "display_name": "Data Load"},
                    "label": "Data Load",
                    "ui_color": "#fff",
                },
                "selected": True,
                "width": 220,
                "measured": {"width": 220, "height": 80},
            },
            {
                "id": "split",
                "type": "custom",
                "position": {"x": 300, "y": 0},
                "data": {"card_type": "data_split", "config": {}},
            },
        ],
        "edges": [
            {
                "id": "edge_1_2",
                "source": "load",
                "target": "split",
                "sourceHandle": "dataset",
                "targetHandle": "dataset",
                "data": {"source_output": "dataset", "target_input": "dataset", "weight": 3},
                "label": "dataset",
                "animated": False,
            }
        ],
        "nodeCounter": 2,
        "viewport": {"x": 0, "y": 0, "zoom": 1.25},
        "x-custom": [1, "two"],
    }


class TestPortCompatible:
    @pytest.mark.parametrize(
        ("out", "inp", "ok"),
        [
            ("dataframe", "dataframe", True),
            ("dataframe", "json", False),
            ("model", "any", True),
            ("any", "bytes", True),
            ("json", "model", False),
        ],
    )
    def test_rule(self, out, inp, ok):
        assert port_compatible(out, inp) is ok

    def test_port_types(self):
        assert set(PORT_TYPES) == {"dataframe", "model", "json", "bytes", "directory", "any"}


class TestRoundTrip:
    def test_lossless_with_unknown_keys_at_every_level(self):
        doc = _current_doc()
        original = copy.deepcopy(doc)
        assert GraphSpec.from_dict(doc).to_dict() == original
        assert doc == original  # input untouched

    def test_json_text_round_trip(self):
        doc = _current_doc()
        again = json.loads(json.dumps(GraphSpec.from_dict(doc).to_dict()))
        assert GraphSpec.from_dict(again).to_dict() == doc

    def test_parsed_fields(self):
        spec = GraphSpec.from_dict(_current_doc())
        load, split = spec.nodes
        assert (spec.name, spec.node_counter) == ("demo", 2)
        assert spec.extra == {"viewport": {"x": 0, "y": 0, "zoom": 1.25}, "x-custom": [1, "two"]}
        assert load.card_type == "data_load"
        assert load.resources == {"gpu": "T4", "timeout": 600}
        assert load.card_schema == {"card_type": "data_load", "display_name": "Data Load"}
        assert load.data_extra == {"label": "Data Load", "ui_color": "#fff"}
        assert load.extra == {"selected": True, "width": 220, "measured": {"width": 220, "height": 80}}
        assert split.node_type == "custom"
        (edge,) = spec.edges
        assert (edge.source, edge.source_output, edge.target, edge.target_input) == (
            "load",
            "dataset",
            "split",
            "dataset",
        )
        assert edge.data_extra == {"weight": 3}
        assert edge.extra == {"label": "dataset", "animated": False}

    def test_parsed_values_are_copies(self):
        doc = _current_doc()
        spec = GraphSpec.from_dict(doc)
        spec.nodes[0].config["nested"]["a"].append(99)
        spec.extra["viewport"]["zoom"] = 9
        assert doc["nodes"][0]["data"]["config"]["nested"]["a"] == [1, 2, {"b": None}]
        assert doc["viewport"]["zoom"] == 1.25

    def test_to_dict_is_independent(self):
        spec = GraphSpec.from_dict(_current_doc())
        out = spec.to_dict()
        out["nodes"][0]["data"]["config"]["source"] = "csv"
        assert spec.nodes[0].config["source"] == "sample"

    def test_built_in_code(self):
        spec = GraphSpec(
            nodes=[NodeSpec(id="a", card_type="t", config={"k": 1})],
            edges=[EdgeSpec(source="a", source_output="o", target="b", target_input="i")],
            node_counter=1,
        )
        doc = spec.to_dict()
        assert doc == {
            "schema_version": SCHEMA_VERSION,
            "nodes": [
                {
                    "id": "a",
                    "type": "cardNode",
                    "position": {"x": 0.0, "y": 0.0},
                    "data": {"card_type": "t", "config": {"k": 1}},
                }
            ],
            "edges": [
                {
                    "id": "e-a-o-b-i",
                    "source": "a",
                    "target": "b",
                    "sourceHandle": "o",
                    "targetHandle": "i",
                    "data": {"source_output": "o", "target_input": "i"},
                }
            ],
            "nodeCounter": 1,
        }
        assert GraphSpec.from_dict(doc).to_dict() == doc


class TestOriginalShapes:
    def test_react_flow_state_without_version(self):
        doc = {
            "nodes": [
                {
                    "id": "node_1",
                    "type": "cardNode",
                    "position": {"x": 100, "y": 200},
                    "data": {
                        "label": "Data Load",
                        "cardSchema": {"card_type": "data_load", "display_name": "Data Load", "category": "data"},
                        "config": {"source": "sample", "sample_name": "iris"},
                    },
                },
                {
                    "id": "node_2",
                    "type": "custom",
                    "position": {"x": 400, "y": 200},
                    "data": {"cardSchema": {"card_type": "data_split"}, "config": {}},
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
                }
            ],
            "nodeCounter": 2,
        }
        spec = GraphSpec.from_dict(doc)
        assert [n.card_type for n in spec.nodes] == ["data_load", "data_split"]
        assert spec.nodes[0].config == {"source": "sample", "sample_name": "iris"}
        assert spec.nodes[0].position == {"x": 100, "y": 200}
        assert spec.nodes[1].node_type == "custom"
        (edge,) = spec.edges
        assert (edge.source_output, edge.target_input, edge.id) == ("dataset", "dataset", "edge_1_2")
        out = spec.to_dict()
        assert out["schema_version"] == 1
        assert out["nodes"][0]["data"]["card_type"] == "data_load"
        assert out["nodes"][0]["data"]["label"] == "Data Load"
        assert out["edges"][0]["data"] == {"source_output": "dataset", "target_input": "dataset"}
        assert out["edges"][0]["label"] == "dataset"
        # a second trip through the current format is stable
        assert GraphSpec.from_dict(out).to_dict() == out

    def test_pipeline_request_shape(self):
        doc = {
            "pipeline_id": "test-001",
            "nodes": [
                {"id": "load", "type": "data_load", "config": {"source": "sample"}, "position": {"x": 0, "y": 0}},
                {"id": "split", "type": "data_split"},
            ],
            "edges": [{"source": "load", "target": "split", "source_output": "dataset", "target_input": "dataset"}],
        }
        spec = GraphSpec.from_dict(doc)
        assert [(n.id, n.card_type, n.node_type) for n in spec.nodes] == [
            ("load", "data_load", "cardNode"),
            ("split", "data_split", "cardNode"),
        ]
        assert spec.nodes[0].config == {"source": "sample"}
        assert spec.nodes[1].config == {}
        (edge,) = spec.edges
        assert (edge.source_output, edge.target_input) == ("dataset", "dataset")
        assert edge.id == "e-load-dataset-split-dataset"
        assert spec.node_counter == 2
        assert spec.extra == {"pipeline_id": "test-001"}

    def test_edge_without_ports_defaults(self):
        spec = GraphSpec.from_dict({"nodes": [], "edges": [{"source": "a", "target": "b"}]})
        assert (spec.edges[0].source_output, spec.edges[0].target_input) == ("default", "default")

    def test_data_ports_win_over_handles(self):
        edge = {"source": "a", "target": "b", "sourceHandle": "h", "targetHandle": "g"}
        edge["data"] = {"source_output": "out", "target_input": "in"}
        spec = GraphSpec.from_dict({"nodes": [], "edges": [edge]})
        assert (spec.edges[0].source_output, spec.edges[0].target_input) == ("out", "in")

    def test_empty_document(self):
        assert GraphSpec.from_dict({}).to_dict() == {"schema_version": 1, "nodes": [], "edges": [], "nodeCounter": 0}


class TestMalformed:
    @pytest.mark.parametrize(
        ("doc", "pattern"),
        [
            ([], r"must be a JSON object; got list"),
            ({"nodes": {}}, r"'nodes' and 'edges' must be lists"),
            ({"edges": "x"}, r"'nodes' and 'edges' must be lists"),
            ({"nodes": [1]}, r"nodes\[0\] must be an object; got int"),
            (
                {"nodes": [{"id": "a", "data": {"card_type": "t"}}, {"data": {}}]},
                r"nodes\[1\]\.id must be 1-128 characters",
            ),
            ({"nodes": [{"id": ""}]}, r"nodes\[0\]\.id must be 1-128 characters"),
            ({"nodes": [{"id": "a", "data": "x"}]}, r"nodes\[0\]\.data must be an object \(node 'a'\)"),
            ({"nodes": [{"id": "a", "data": {"config": {}}}]}, r"nodes\[0\] \(node 'a'\) has no card type"),
            ({"nodes": [{"id": "a", "data": {"card_type": "t", "config": [1]}}]}, r"nodes\[0\]\.data\.config must be"),
            ({"nodes": [{"id": "a", "data": {"card_type": "t"}, "position": [0, 0]}]}, r"nodes\[0\]\.position must be"),
            ({"edges": ["e"]}, r"edges\[0\] must be an object; got str"),
            ({"edges": [{"source": "a"}]}, r"edges\[0\] needs string 'source' and 'target'"),
            ({"nodeCounter": "3"}, r"'nodeCounter' must be an integer; got '3'"),
            ({"nodeCounter": True}, r"'nodeCounter' must be an integer"),
        ],
    )
    def test_spec_error_names_location(self, doc, pattern):
        with pytest.raises(SpecError, match=pattern):
            GraphSpec.from_dict(doc)

    @pytest.mark.parametrize("version", [2, 0, "1"])
    def test_unsupported_schema_version(self, version):
        with pytest.raises(SpecError, match=rf"Unsupported schema_version {version!r}; this tensorrag reads 1"):
            GraphSpec.from_dict({"schema_version": version, "nodes": []})

    def test_edge_data_not_an_object(self):
        with pytest.raises(SpecError, match=r"edges\[0\]"):
            GraphSpec.from_dict({"nodes": [], "edges": [{"source": "a", "target": "b", "data": "x"}]})

    def test_edge_port_not_a_string(self):
        with pytest.raises(SpecError, match=r"edges\[0\]"):
            GraphSpec.from_dict({"nodes": [], "edges": [{"source": "a", "target": "b", "sourceHandle": 5}]})


def _task() -> Task:
    return Task(
        run_id="20240101T000000000000Z-abc123",
        node_id="load",
        card={"card_type": "data_load", "module": "tensorrag.cards.data.load"},
        config={"source": "sample", "ratio": 0.5, "cols": ["a", "b"], "_node_id": "load"},
        inputs={
            "dataset": {"type": "dataframe", "uri": "memory://x/a.parquet"},
            "raw": {"type": "bytes", "data": b"\x00"},
        },
        key="k" * 40,
        pipeline_id="demo",
        storage={"url": "memory://x", "options": {}},
        resources={"gpu": "T4", "timeout": 600},
    )


class TestTaskWire:
    def test_round_trip(self):
        task = _task()
        wire = task.to_wire()
        assert wire["v"] == 1
        assert wire["card"] == {"card_type": "data_load", "module": "tensorrag.cards.data.load"}
        back = Task.from_wire(wire)
        assert back == task
        assert back.to_wire() == wire

    def test_card_source_and_path_round_trip(self):
        task = _task()
        task.card = {"card_type": "scale", "source": "x = 1\n", "path": "cards/data/scale.py"}
        wire = task.to_wire()
        assert wire["card"] == {"card_type": "scale", "source": "x = 1\n", "path": "cards/data/scale.py"}
        back = Task.from_wire(wire)
        assert back.card == task.card and back.to_wire() == wire

    def test_card_path_must_be_a_string(self):
        wire = _task().to_wire()
        wire["card"]["path"] = 3
        with pytest.raises(SpecError, match=r"'card\.path' must be a string; got int 3"):
            Task.from_wire(wire)

    def test_storage_omitted_when_none(self):
        task = _task()
        task.storage = None
        wire = task.to_wire()
        assert "storage" not in wire
        assert Task.from_wire(wire).storage is None

    def test_transient_fields_stay_off_the_wire(self):
        task = _task()
        task.card_class = object
        task.store = object()
        wire = task.to_wire()
        assert "card_class" not in wire and "store" not in wire
        assert Task.from_wire(wire) == task  # compare=False fields

    def test_to_wire_rejects_objects_in_config(self):
        task = _task()
        task.config = {"model": object()}
        with pytest.raises(SpecError, match=r"task\.config\.model: object cannot travel"):
            task.to_wire()

    @pytest.mark.parametrize(
        ("mutate", "pattern"),
        [
            (lambda w: w.update(v=2), r"Not a v1 task payload"),
            (lambda w: w.pop("run_id"), r"'run_id' must be a string"),
            (lambda w: w.update(node_id=3), r"'node_id' must be a string"),
            (lambda w: w.update(card="data_load"), r"'card' must be"),
            (lambda w: w.update(card={}), r"'card' must be"),
            (lambda w: w.update(inputs={"x": {"type": "json"}}), r"Task input 'x' must be"),
            (lambda w: w.update(inputs={"x": "memory://a"}), r"Task input 'x' must be"),
        ],
    )
    def test_from_wire_rejects(self, mutate, pattern):
        wire = _task().to_wire()
        mutate(wire)
        with pytest.raises(SpecError, match=pattern):
            Task.from_wire(wire)

    def test_from_wire_rejects_non_dict(self):
        with pytest.raises(SpecError, match="Not a v1 task payload"):
            Task.from_wire([1, 2])

    def test_from_wire_rejects_inputs_list(self):
        wire = _task().to_wire()
        wire["inputs"] = []
        with pytest.raises(SpecError, match="inputs"):
            Task.from_wire(wire)


class TestTaskResultWire:
    def test_round_trip_ok(self):
        result = TaskResult(
            outputs={"dataset": {"type": "dataframe", "uri": "memory://x/d.parquet", "ext": "parquet", "sha256": "ab"}},
            extras={"chart": {"type": "bytes", "data": b"\x89PNG", "ext": "png", "sha256": "cd"}},
            preview={"columns": ["a"], "rows": [[1]], "row_count": 1},
            logs="hello\n",
            logs_truncated=True,
            timings={"execute": 0.5, "total": 0.75},
        )
        assert result.ok
        wire = result.to_wire()
        assert "error" not in wire
        back = TaskResult.from_wire(wire)
        assert back == result
        assert back.to_wire() == wire

    def test_round_trip_error(self):
        result = TaskResult(error={"type": "ValueError", "message": "boom", "traceback": "Traceback..."})
        assert not result.ok
        back = TaskResult.from_wire(result.to_wire())
        assert back == result
        assert not back.ok

    @pytest.mark.parametrize(
        ("payload", "pattern"),
        [
            ({"v": 9}, r"Not a v1 result payload"),
            ("x", r"Not a v1 result payload"),
            ({"v": 1, "error": "boom"}, r"'error' must be"),
            ({"v": 1, "error": {"type": "X"}}, r"'error' must be"),
        ],
    )
    def test_from_wire_rejects(self, payload, pattern):
        with pytest.raises(SpecError, match=pattern):
            TaskResult.from_wire(payload)

    def test_to_wire_rejects_objects(self):
        with pytest.raises(SpecError, match=r"result\.preview\.fig: Figure cannot travel"):
            TaskResult(preview={"fig": type("Figure", (), {})()}).to_wire()


class TestCheckWire:
    def test_accepts_json_like_values(self):
        check_wire(
            {
                "b": b"\x00\x01",
                "s": "x",
                "i": 1,
                "f": 1.5,
                "t": True,
                "n": None,
                "l": [1, [2, {"d": b""}]],
                "tu": (1, 2),
            }
        )

    def test_accepts_subclasses_of_wire_types(self):
        import enum

        class Level(enum.IntEnum):
            HIGH = 2

        class Name(str):
            pass

        class Ratio(float):  # as numpy.float64 is
            pass

        check_wire({Name("k"): [Level.HIGH, Name("v")], "r": Ratio(1.5), "t": (Ratio(2.0),)})

    @pytest.mark.parametrize(
        ("value", "pattern"),
        [
            ({"a": {1, 2}}, r"^payload\.a: set cannot travel in a payload; only bytes, str, numbers, lists and dicts"),
            ({"a": [1, {"b": object()}]}, r"^payload\.a\[1\]\.b: object cannot travel"),
            ({"a": [1, {"b": bytearray(b"x")}]}, r"^payload\.a\[1\]\.b: bytearray cannot travel"),
            ({1: "x"}, r"^payload: keys must be strings; got 1"),
            (lambda: 1, r"^payload: function cannot travel"),
        ],
    )
    def test_rejects_objects_with_path(self, value, pattern):
        with pytest.raises(SpecError, match=pattern):
            check_wire(value)

    def test_custom_where(self):
        class Model:
            pass

        with pytest.raises(SpecError, match=r"^task\.inputs\.m: Model cannot travel"):
            check_wire({"inputs": {"m": Model()}}, "task")


class TestLoadJson:
    """``load_json``: the one strict reader of documents; everything it refuses is a SpecError saying why."""

    @pytest.mark.parametrize(
        ("text", "pattern"),
        [
            ("[" * 100_000 + "]" * 100_000, r"nested too deeply \(at most 128 levels\)"),
            ('{"a":' + "[" * 200 + "]" * 200 + "}", r"a\[0\].* is nested too deeply"),
            (b'{"name": "\xff"}', r"f\.json is not valid UTF-8 \(invalid start byte at byte 10, line 1\)"),
            ('{"n": ' + "9" * 5000 + "}", r"an integer has 5000 digits; at most 4000"),
            ('{"x": NaN}', r"NaN is not a JSON number"),
            ('{"x": -Infinity}', r"-Infinity is not a JSON number"),
            ('{"x": 1e999}', r"1e999 is out of range"),
            ('{"x": 1.5E+0309}', r"1.5E\+0309 is out of range"),
            ('{"x": ' + "9" * 250 + "e60}", r"is out of range"),  # a long mantissa, a small exponent
            ('{"x": ' + "9" * 310 + ".5}", r"is out of range"),
            ('{"name": "\\ud800"}', r"name is not valid Unicode text \(a lone surrogate '\\ud800' at index 0\)"),
            ('{"\\udfff": 1}', r"lone surrogate"),
            ("{bad", r"not valid JSON: Expecting property name .* at line 1 column 2"),
        ],
    )
    def test_refused(self, text, pattern):
        with pytest.raises(SpecError, match=pattern) as info:
            load_json(text, "f.json")
        assert str(info.value).startswith("f.json")

    def test_accepts_plain_json_and_a_bom(self):
        assert load_json(b'\xef\xbb\xbf{"a": [1, 2.5, "\xc3\xa9", null, true]}') == {"a": [1, 2.5, "é", None, True]}
        assert load_json("\ufeff[]") == []

    def test_json_problem_walks_without_recursion(self):
        deep: list[Any] = []
        for _ in range(10_000):
            deep = [deep]
        where, what = json_problem(deep, "v", 50) or ("", "")
        assert where.startswith("v[0][0]") and what == "is nested too deeply (at most 50 levels)"
        assert json_problem({"a": (1, 2.0, "x")}) is None
        assert json_problem({"a": {1: 2}}) == ("a", "has the key 1; JSON object keys must be strings")
        assert str(json_problem({"a": object()})).startswith("('a', 'holds object")
        assert json_problem(10**5000) == ("", "is an integer with more than 4000 digits")


class TestMalformedDocuments:
    @pytest.mark.parametrize(
        ("doc", "pattern"),
        [
            ("x", r"must be a JSON object; got str 'x'"),
            ([1], r"must be a JSON object; got list \[1\]"),
            ({"name": 5}, r"'name' must be a string; got int 5"),
            ({"nodes": [{"id": "a", "position": {"x": "left"}, "data": {"card_type": "t"}}]},
             r"nodes\[0\]\.position \(node 'a'\): x must be a finite number; got str 'left'"),
            ({"nodes": [{"id": "a", "position": {"x": 0, "y": float("inf")}, "data": {"card_type": "t"}}]},
             r"nodes\[0\]\.position\.y is inf, which is not a JSON number"),
            ({"nodes": [{"id": "a", "position": {"x": True}, "data": {"card_type": "t"}}]}, r"x must be a finite"),
            ({"edges": [{"id": 5, "source": "a", "target": "b"}]}, r"edges\[0\]\.id must be a string; got int 5"),
            ({"nodes": [{"id": "a", "data": {"card_type": "t", "config": {"v": float("nan")}}}]},
             r"nodes\[0\]\.data\.config\.v is nan, which is not a JSON number"),
            ({"nodes": [{"id": "a", "data": {"card_type": "t", "config": {"v": {1, 2}}}}]}, r"holds set"),
        ],
    )
    def test_named_location(self, doc, pattern):
        with pytest.raises(SpecError, match=pattern):
            GraphSpec.from_dict(doc)

    def test_position_problem(self):
        assert position_problem({"x": 1, "y": 2.5}) is None
        assert str(position_problem({"x": 10**400})).startswith("x must be a finite number; got int 1000")
        assert position_problem({}) is None  # the original's files sometimes omit them
        assert "must be an object" in str(position_problem([1, 2]))
