"""Floats stay floats across the canvas (issue 15, bug 1): JavaScript reads ``1.0`` as ``1``.

The page starts from a real :class:`~tensorrag.widget.Canvas`'s traits; what the browser assigns
goes back through that canvas, and the pipeline's config must hold the same Python types.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.widget._canvas import Canvas

from .browser import unavailable
from .float_cards import w_hyper
from .pages import canvas_page, last_graph, state_of

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402


def typed(value: Any) -> Any:
    """``value`` with every number as ``(type name, value)``: 1 and 1.0 compare different."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (type(value).__name__, value)
    return value


def floats_pipeline() -> tuple[tr.Pipeline, Canvas]:
    p = tr.Pipeline("floats")
    p.add(w_hyper, id="h", position={"x": 0, "y": 0}, hyperparameters={"max_features": 1.0, "depth": 3},
          rate=2.0, sizes=[1.0, 2.5])
    p.add(w_hyper, id="plain", position={"x": 0, "y": 200})
    return p, Canvas(p)


def wait_config(page: Any, node: str, js_check: str) -> None:
    page.wait_for_function(
        f"(() => {{ const g = window.model.lastGraph(); const n = g && g.nodes.find(n => n.id === '{node}');"
        f" return !!n && ({js_check})(n.data.config); }})()")


def test_json_number_and_list_fields_keep_floats_both_ways(browser) -> None:
    p, canvas = floats_pipeline()
    try:
        with canvas_page(browser, state_of(canvas)) as page:
            page.locator('[data-testid="node-h"]').click()
            hyper = page.locator('textarea[data-field="hyperparameters"]')
            rate = page.locator('input[data-field="rate"]')
            sizes = page.locator('input[data-field="sizes"]')
            # Python's floats are shown as floats
            assert json.loads(hyper.input_value()) == {"max_features": 1.0, "depth": 3}
            assert '"max_features": 1.0' in hyper.input_value()
            expect(rate).to_have_value("2.0")
            expect(sizes).to_have_value("1.0, 2.5")
            # an edit of one field: the floats the user typed and those of the other fields stay floats
            hyper.fill('{"max_features": 1.0, "depth": 4, "ratio": 2}')
            wait_config(page, "h", "c => c.hyperparameters.depth === 4")
            canvas.set_state({"graph": last_graph(page)})
            assert typed(dict(p.nodes["h"].config)) == typed(
                {"hyperparameters": {"max_features": 1.0, "depth": 4, "ratio": 2}, "rate": 2.0,
                 "sizes": [1.0, 2.5]})
            # a number field: "3.0" is a float, "3" an int (as Python would read the text)
            rate.fill("3.0")
            wait_config(page, "h", "c => c.rate === 3")
            canvas.set_state({"graph": last_graph(page)})
            assert typed(p.nodes["h"].config["rate"]) == ("float", 3.0)
            sizes.fill("4.0, 5, 6.5")
            wait_config(page, "h", "c => c.sizes.length === 3")
            canvas.set_state({"graph": last_graph(page)})
            assert typed(p.nodes["h"].config["sizes"]) == [("float", 4.0), ("int", 5), ("float", 6.5)]
            # a change made in Python comes back marked: the form shows it as Python wrote it
            p.set_config("h", {**p.nodes["h"].config, "hyperparameters": {"max_features": 7.0}})
            page.evaluate("g => window.model.fromPython('graph', g)", state_of(canvas)["graph"])
            page.locator('[data-testid="node-h"]').click()
            expect(hyper).to_have_value('{\n "max_features": 7.0\n}')
            # a default that is a float is shown as one
            page.locator('[data-testid="node-plain"]').click()
            expect(page.locator('input[data-field="rate"]')).to_have_attribute("placeholder", "1.0")
    finally:
        canvas.close()


def test_the_rest_model_writes_and_reads_floats_as_python_does(browser) -> None:
    """The web page's model talks JSON text to the server: marked floats are written ``1.0``, and read back marked."""
    p, canvas = floats_pipeline()
    try:
        with canvas_page(browser, state_of(canvas)) as page:
            doc = state_of(canvas)["graph"]
            text = page.evaluate("d => window.widget.stringifyJson(d)", doc)
            back = tr.Pipeline.from_dict(json.loads(text), name="floats")
            assert typed(dict(back.nodes["h"].config)) == typed(dict(p.nodes["h"].config))
            assert "floats" not in json.loads(text)["nodes"][0]["data"]  # the server sees plain JSON
            reread = page.evaluate(
                "t => { const r = window.widget.parseJson(t); return window.widget.attachFloats(r.value, r.floats); }",
                json.dumps(p.to_dict()))
            h = next(n for n in reread["nodes"] if n["id"] == "h")
            assert sorted(h["data"]["floats"]) == sorted(doc["nodes"][0]["data"]["floats"])
    finally:
        canvas.close()
