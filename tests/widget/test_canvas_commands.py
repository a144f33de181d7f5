"""Canvas commands added for editing: the card source of a node, and disabled nodes over the wire."""

from __future__ import annotations

import copy
import inspect

import tensorrag as tr
from tensorrag.widget._canvas import Canvas

from . import cards


def small() -> tr.Pipeline:
    p = tr.Pipeline("small")
    p.add(cards.w_source, id="src", n=4)
    p.add(cards.w_double, id="dbl", factor=3)
    p.connect("src", "output", "dbl", "data")
    return p


def test_card_source_of_a_function_card_and_of_a_builtin(wired) -> None:
    p = small()
    p.add("data_split", id="split")
    c = Canvas(p)
    w = wired(c)
    w.command({"type": "card_source", "node_id": "dbl"})
    [msg] = w.messages("card_source")
    assert msg["node_id"] == "dbl" and msg["card_type"] == "w_double"
    assert msg["source"] == inspect.getsource(cards.w_double.__wrapped__)
    assert msg["path"].endswith("tests/widget/cards.py")
    w.clear()
    w.command({"type": "card_source", "node_id": "split"})
    [msg] = w.messages("card_source")
    assert "class " in msg["source"] and "data_split" in msg["source"]


def test_card_source_errors_say_what_and_how_to_fix(wired) -> None:
    p = small()
    doc = p.to_dict()
    doc["nodes"].append({"id": "ghost", "type": "cardNode", "position": {"x": 0, "y": 0},
                         "data": {"card_type": "not_a_card", "config": {}}})
    c = Canvas(tr.Pipeline.from_dict(doc))
    w = wired(c)
    w.command({"type": "card_source", "node_id": "ghost"})
    [err] = w.messages("error")
    assert err["op"] == "card_source" and err["node_id"] == "ghost"
    assert "No source to show for node 'ghost': card type 'not_a_card' is not registered" in err["message"]
    assert "Register the card" in err["message"]
    w.clear()
    w.command({"type": "card_source", "node_id": "nope"})
    assert "nope" in w.messages("error")[0]["message"]


def test_disabling_on_the_canvas_reaches_the_pipeline_and_back(wired) -> None:
    p = small()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["nodes"][1]["data"]["disabled"] = True
    w.edit(doc)
    assert p.nodes["dbl"].disabled and c.problems == []
    p.enable("dbl")  # and from Python, the canvas hears it
    assert "disabled" not in next(n for n in c.graph["nodes"] if n["id"] == "dbl")["data"]
