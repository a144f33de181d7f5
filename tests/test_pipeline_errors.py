"""Every bad argument or document given to a Pipeline fails at once with a typed error saying what to do."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

import tensorrag as tr
from tensorrag import Pipeline
from tensorrag.errors import (
    ArgumentError,
    ArtifactNotFoundError,
    CardConfigError,
    PipelineValidationError,
    SpecError,
    StorageError,
    TensorragError,
    UnknownNodeError,
)
from tensorrag.run import run_pipeline


def _doc(**data: Any) -> dict[str, Any]:
    return {"nodes": [{"id": "load", "data": {"card_type": "data_load", **data}}]}


class TestMalformedText:
    @pytest.mark.parametrize(
        ("text", "pattern"),
        [
            ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
            ('{"nodes": ' + "[" * 5_000 + "]" * 5_000 + "}", "nested too deeply"),
            (b'{"name": "\xff"}', "not valid UTF-8"),
            ('{"nodeCounter": ' + "9" * 5_000 + "}", "5000 digits"),
            ('"x"', "must be a JSON object; got str 'x'"),
            ("[1]", r"must be a JSON object; got list \[1\]"),
            ('{"name": "\\ud800"}', "lone surrogate"),
            ('{"nodes": [{"id": "a", "data": {"card_type": "data_load", "config": {"v": NaN}}}]}', "NaN"),
        ],
    )
    def test_from_json(self, text: str | bytes, pattern: str) -> None:
        with pytest.raises(SpecError, match=pattern):
            Pipeline.from_json(text)

    @pytest.mark.parametrize("doc", ["x", [1], 5, None])
    def test_from_dict_and_replace_need_an_object(self, doc: Any) -> None:
        with pytest.raises(SpecError, match="must be a JSON object"):
            Pipeline.from_dict(doc)
        with pytest.raises(SpecError, match="must be a JSON object"):
            Pipeline().replace(doc)

    def test_deep_config_values(self) -> None:
        deep: dict[str, Any] = {}
        cur = deep
        for _ in range(5_000):
            cur["a"] = {}
            cur = cur["a"]
        with pytest.raises(SpecError, match=r"nodes\[0\]\.data\.config\.a\.a.* is nested too deeply"):
            Pipeline.from_dict(_doc(config=deep))
        with pytest.raises(CardConfigError, match="nested too deeply"):
            Pipeline().add("data_load", source=deep)

    def test_load_names_the_file(self, tmp_path: Any) -> None:
        path = tmp_path / "p.json"
        path.write_bytes(b"\xff\xfe{")
        with pytest.raises(SpecError, match=r"Pipeline file '.*p\.json' is not valid UTF-8"):
            Pipeline.load(path)
        path.write_text("[1]")
        with pytest.raises(SpecError, match=r"Pipeline file '.*p\.json': A pipeline document must be a JSON object"):
            Pipeline.load(path)
        with pytest.raises(ArtifactNotFoundError, match="No pipeline file at"):
            Pipeline.load(tmp_path / "missing.json")
        with pytest.raises(StorageError, match="Cannot read the pipeline file"):
            Pipeline.load(tmp_path)

    @pytest.mark.parametrize(
        ("path", "pattern"), [(5, "must be a path"), ("a\0b.json", "NUL"), ("a\ud800.json", "surrogate")]
    )
    def test_load_and_save_refuse_odd_paths(self, path: Any, pattern: str) -> None:
        with pytest.raises(ArgumentError, match=pattern):
            Pipeline.load(path)
        with pytest.raises(ArgumentError, match=pattern):
            Pipeline().save(path)


class TestResourcesAndPositions:
    @pytest.mark.parametrize(
        ("resources", "pattern"),
        [
            ([1], r"resources must be a dict such as .*; got list \[1\]"),
            ({"timeout": "soon"}, r"resources\.timeout must be a positive number of seconds \(or None\); got str"),
            ({"timeout": -1}, "resources.timeout must be a positive number"),
            ({"timeout": float("nan")}, "resources.timeout must be a positive number"),
            ({"memory": 1.5}, "resources.memory must be a positive whole number of MiB"),
            ({"gpu": 1}, "resources.gpu must be a GPU name"),
            ({"timout": 60}, r"resources\.timout is not a resource key; did you mean 'timeout'\?"),
            ({"num_gpus": object()}, "not a JSON value"),
        ],
    )
    def test_refused_by_add_and_set_resources_and_reported_by_validate(self, resources: Any, pattern: str) -> None:
        p = Pipeline()
        with pytest.raises(ArgumentError, match=pattern):
            p.add("data_load", id="load", resources=resources)
        p.add("data_load", id="load")
        with pytest.raises(ArgumentError, match=pattern):
            p.set_resources("load", resources)
        assert p.node("load").resources is None
        try:
            loaded = Pipeline.from_dict(_doc(resources=resources))
        except SpecError:  # not JSON at all (NaN, objects): refused when the document is read
            return
        with pytest.raises(PipelineValidationError) as info:
            loaded.validate()
        assert info.value.problems[0]["node_id"] == "load"
        assert info.value.problems[0]["field"].startswith("resources")

    def test_good_resources_and_plugin_keys_pass(self) -> None:
        p = Pipeline()
        node = p.add("data_load", resources={"gpu": "A10G", "timeout": 0.5, "memory": 2048, "cpu": 2, "num_cpus": 4})
        assert node.resources == {"gpu": "A10G", "timeout": 0.5, "memory": 2048, "cpu": 2, "num_cpus": 4}
        assert p.set_resources(node, {}).resources is None

    @pytest.mark.parametrize("bad", [{"x": "left"}, {"x": float("inf"), "y": 0}, {"y": True}, [1, 2]])
    def test_positions(self, bad: Any) -> None:
        p = Pipeline()
        with pytest.raises(ArgumentError, match="Invalid position for node"):
            p.add("data_load", position=bad)
        node = p.add("data_load", id="load", position={"x": 1, "y": 2})
        with pytest.raises(ArgumentError, match="x must be a finite number; got str 'left'"):
            p.move(node, "left", 0)  # type: ignore[arg-type]
        assert node.position == {"x": 1, "y": 2}


class TestArguments:
    def test_run_with_a_typo_says_did_you_mean(self) -> None:
        with pytest.raises(ArgumentError, match=r"Pipeline\.run\(\) got an unexpected keyword argument 'target'\. "
                           r"Did you mean 'targets'\? It takes: executor, storage, ") as info:
            Pipeline().run(target=["a"])  # type: ignore[call-arg]
        assert isinstance(info.value, TypeError)
        with pytest.raises(ArgumentError, match="run_pipeline\\(\\) got an unexpected keyword argument 'exectuor'"):
            run_pipeline(Pipeline(), exectuor="local")  # type: ignore[call-arg]

    def test_run_has_the_signature_of_run_pipeline(self) -> None:
        mine = list(inspect.signature(Pipeline.run).parameters.values())[1:]
        theirs = list(inspect.signature(run_pipeline).parameters.values())[1:]
        assert [(p.name, p.kind, p.default) for p in mine] == [(p.name, p.kind, p.default) for p in theirs]

    def test_run_forwards_every_argument(self, tmp_path: Any) -> None:
        p = Pipeline("fwd")
        p.add("data_load", id="load", source="sample", sample_name="diabetes")
        events: list[dict[str, Any]] = []
        run = p.run(storage=tmp_path, targets=["load"], cache=False, on_event=events.append, progress=False,
                    project="proj", user="u")
        assert run.ok and run.store.url.endswith("/u/workspace/proj")
        assert events[-1]["type"] == "pipeline_completion"

    @pytest.mark.parametrize("name", [5, None, b"x", "a\ud800"])
    def test_pipeline_names(self, name: Any) -> None:
        with pytest.raises(ArgumentError, match="A pipeline name"):
            Pipeline(name)

    @pytest.mark.parametrize("ref", [5, None, ["a"], 1.5])
    def test_node_references_must_be_ids(self, ref: Any) -> None:
        p = Pipeline()
        p.add("data_load", id="load")
        for call in (p.node, p.remove, p.configure, lambda r: p.move(r, 0, 0), lambda r: p.set_resources(r, None)):
            with pytest.raises(ArgumentError, match="A node must be given as a Node or its id"):
                call(ref)
        assert "load" in p

    def test_ports_must_be_strings(self) -> None:
        p = Pipeline()
        p.add("data_load", id="load")
        p.add("data_split", id="split")
        with pytest.raises(ArgumentError, match="Port names must be strings; got int 5"):
            p.connect("load", 5, "split", "dataset")  # type: ignore[arg-type]

    def test_unknown_node_with_odd_id_is_still_typed(self) -> None:
        assert "No node with id 5" in str(UnknownNodeError(5, ["a"]))  # type: ignore[arg-type]


class TestConfigValues:
    @pytest.mark.parametrize(
        ("value", "pattern"),
        [
            (float("nan"), "test_ratio: is nan, which is not a JSON number"),
            (float("inf"), "test_ratio: is inf"),
            ("0.2\ud800", "lone surrogate"),
        ],
    )
    def test_non_json_values_are_refused(self, value: Any, pattern: str) -> None:
        p = Pipeline()
        with pytest.raises(CardConfigError, match=pattern):
            p.add("data_split", test_ratio=value)
        node = p.add("data_split", id="split")
        with pytest.raises(CardConfigError, match=pattern):
            p.configure(node, test_ratio=value)
        assert "test_ratio" not in node.config

    def test_what_add_accepts_can_be_saved_and_loaded(self) -> None:
        p = Pipeline()
        p.add("data_split", id="split", test_ratio=0.25)
        again = Pipeline.from_json(p.to_json())
        assert json.loads(again.to_json()) == json.loads(p.to_json())


def test_argument_error_is_both_type_and_value_error() -> None:
    assert issubclass(ArgumentError, TensorragError)
    assert issubclass(ArgumentError, TypeError) and issubclass(ArgumentError, ValueError)
    assert tr.ArgumentError is ArgumentError


def test_extra_position_keys_must_be_json() -> None:
    with pytest.raises(ArgumentError, match=r"position\.z is an integer with more than 4000 digits"):
        Pipeline().add("data_load", position={"x": 0, "y": 0, "z": -(10**4300)})
