import math

import pandas as pd
import pytest

import tensorrag as tr
from tensorrag.demo import build
from tensorrag.registry import card_registry


def _exec(src: str) -> tr.Pipeline:
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)
    return ns["p"]


def test_demo_pipeline_round_trips_through_python():
    p = build()
    p.move("load", 12.5, -40)
    p.set_resources("train", {"timeout": 30, "gpu": "T4"})
    q = _exec(p.to_python())
    assert q == p
    assert q.to_dict()["nodes"] == p.to_dict()["nodes"]
    assert q.edges == p.edges


def test_loaded_file_with_a_larger_node_counter_is_still_equal():
    doc = build().to_dict()
    doc["nodeCounter"] = 42
    p = tr.Pipeline.from_dict(doc)
    assert _exec(p.to_python()) == p


def test_config_keys_that_are_not_identifiers_and_special_values():
    @tr.card
    def anything(x: dict, options: dict = {}) -> dict:  # noqa: B006
        return x

    tr.register(anything, clobber=True)
    try:
        p = tr.Pipeline("odd")
        p.add("anything", id="a", options={"class": 1, "with space": [1.5, None, True], "big": 1e308, "z": -0.0})
        p.add("anything", id="b", options={})
        p.connect("a", "output", "b", "x")
        src = p.to_python()
        assert "1e+308" in src
        assert _exec(src) == p
        with pytest.raises(tr.CardConfigError, match="is inf, which is not a JSON number"):
            p.configure("b", options={"nan": math.inf})  # it could not be saved as JSON (nor read by the canvas)
    finally:
        card_registry.unregister("anything")


def test_pipeline_only_cards_are_named_in_a_comment():
    @tr.card
    def local_only(df: pd.DataFrame) -> pd.DataFrame:
        return df

    p = tr.Pipeline("local")
    p.add(local_only, id="x")
    src = p.to_python()
    assert "# Card types to register first" in src and "local_only" in src
    with pytest.raises(tr.UnknownCardTypeError):
        _exec(src)  # until the card is registered, as the comment says


CARD_SOURCE = '''
from tensorrag import BaseCard


class Twice(BaseCard):
    card_type = "twice"
    display_name = "Twice"
    description = "Doubles a number"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {"n": {"type": "integer", "default": 2}}
    input_schema = {}
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        return {"out": storage.save_json("p", "n", "out", {"v": 2 * config["n"]})}

    def get_output_preview(self, outputs, storage):
        return storage.load_json(outputs["out"])
'''


def test_project_pipelines_rebuild_inside_their_project(tmp_path):
    ws = tr.Workspace(tmp_path / "ws", user="ana")
    proj = ws.create_project("proj")
    assert proj.write_card("twice.py", CARD_SOURCE).success
    p = tr.Pipeline("proj", project=proj)
    p.add("twice", id="t", n=5)
    src = p.to_python()
    assert "project=project" in src and "Card types to register first" not in src
    q = _exec(src)
    assert q == p
    assert q.run().output("t") == {"v": 10}
