"""The notebook canvas's card editor in headless Chromium: the stub model, bridged to a real kernel side.

The test page renders the bundle with the stub anywidget model (``tests/widget/page``). The card
editor's ``cards`` messages go over HTTP to a real :class:`~tensorrag.widget.Canvas` in this process
(as the comm would carry them); what the canvas sends back (the reply, the new palette) is handed to
the stub model as if from Python. Open the editor, type a syntax error, see the inline diagnostic,
fix it, save: the card is in the palette with its schema, and its source never ran.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.widget._canvas import Canvas

from .browser import PageServer, _Handler, canvas_state, unavailable
from .conftest import Wire

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.browser

WHY = unavailable()
if WHY:
    pytest.skip(f"browser tests skipped: {WHY}", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

# Hand each kernel message the canvas sends to the stub model: state first (the palette), then the messages.
BRIDGE = """() => {
  const model = window.model;
  const send = model.send.bind(model);
  model.send = (content) => {
    send(content);
    if (content?.type !== "cards") return;
    fetch("/kernel", { method: "POST", body: JSON.stringify(content) }).then((r) => r.json()).then((out) => {
      for (const [key, value] of Object.entries(out.state)) model.fromPython(key, value);
      for (const msg of out.messages) model.message(msg);
    });
  };
}"""


class KernelBridge:
    """The kernel side: a real canvas whose outgoing comm traffic is collected per request."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.wire = Wire(canvas)
        self.lock = threading.Lock()

    def __call__(self, content: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.wire.clear()
            self.wire.command(content)
            state: dict[str, Any] = {}
            for update in self.wire.updates():
                state.update(update)
            return {"state": json.loads(json.dumps(state)), "messages": self.wire.messages()}


class _BridgeHandler(_Handler):
    bridge: KernelBridge

    def do_POST(self) -> None:
        content = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(self.server.bridge(content)).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class BridgedPageServer(PageServer):
    def __init__(self, bridge: KernelBridge) -> None:
        super().__init__()
        self.httpd.RequestHandlerClass = _BridgeHandler
        self.httpd.bridge = bridge  # type: ignore[attr-defined]


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelBridge]:
    project = tr.Workspace(tmp_path / "store").create_project("nb")
    canvas = Canvas(tr.Pipeline("nb", project=project))
    yield KernelBridge(canvas)
    canvas.close()


@pytest.fixture
def page(browser, kernel: KernelBridge) -> Iterator[Page]:
    server = BridgedPageServer(kernel)
    server.set_state(canvas_state(kernel.canvas))
    context = browser.new_context(viewport={"width": 1220, "height": 760})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_function("window.ready === true")
    pg.evaluate(BRIDGE)
    yield pg
    context.close()
    server.close()
    assert errors == [], errors


def set_source(page: Page, source: str) -> None:
    """Replace the editor's text as one user edit (a CodeMirror transaction: the linter sees a change)."""
    page.evaluate("s => { const v = document.querySelector('[data-testid=code-editor]').cmView;"
                  " v.dispatch({changes: {from: 0, to: v.state.doc.length, insert: s}}); }", source)


def editor_text(page: Page) -> str:
    return page.evaluate("() => document.querySelector('[data-testid=code-editor]').cmView.state.doc.toString()")


def test_open_type_error_fix_save_and_use(page: Page, kernel: KernelBridge, tmp_path: Path) -> None:
    probe = tmp_path / "probe.txt"
    expect(page.locator('[data-testid="palette-double"]')).to_have_count(0)
    page.click('[data-testid="btn-cards"]')
    expect(page.locator('[data-testid="cards-panel"]')).to_be_visible()
    expect(page.locator('[data-testid="card-files"]')).to_contain_text("No card files yet.")
    page.fill('[data-testid="new-card-path"]', "tools")
    page.click('[data-testid="btn-new-folder"]')
    expect(page.locator('[data-testid="card-files"]')).to_contain_text("tools")
    page.fill('[data-testid="new-card-path"]', "tools/double")
    page.click('[data-testid="btn-new-card"]')
    expect(page.locator('[data-testid="editor-path"]')).to_have_text("tools/double.py")
    expect(page.locator('[data-testid="editor-check"]')).to_have_text("valid")  # the kernel validated the template
    template = editor_text(page)
    assert 'card_type = "double"' in template

    # a syntax error: underlined, in the gutter, listed with its line number; Save is refused
    side_effect = f"import pathlib\npathlib.Path({str(probe)!r}).write_text('ran')\n"  # runs only if imported
    good = template.replace("from tensorrag import BaseCard\n", f"from tensorrag import BaseCard\n{side_effect}")
    header = "    def execute(self, config, inputs, storage):"
    line = good.splitlines().index(header) + 1
    set_source(page, good.replace(header, header[:-1]))
    expect(page.locator(".cm-lintRange-error")).to_have_count(1)
    expect(page.locator(".cm-lint-marker-error")).to_have_count(1)
    expect(page.locator('[data-testid="editor-issues"]')).to_contain_text(f"line {line}: Syntax error")
    expect(page.locator('[data-testid="editor-check"]')).to_have_text("1 error")
    expect(page.locator('[data-testid="btn-save-card"]')).to_be_disabled()

    # fixed: the error goes, Save writes it through the kernel, and the card is in the palette with its schema
    set_source(page, good)
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)
    expect(page.locator('[data-testid="editor-check"]')).to_have_text("valid")
    page.click('[data-testid="btn-save-card"]')
    expect(page.locator('[data-testid="editor-note"]')).to_contain_text("card double is in the palette")
    expect(page.locator('[data-testid="card-files"]')).to_contain_text("double.py")
    assert kernel.canvas.pipeline.project.read_card("tools/double.py") == good
    page.click('[data-testid="btn-close-cards"]')
    expect(page.locator('[data-testid="cards-panel"]')).to_have_count(0)
    page.click('[data-testid="palette-double"] button')  # add with +
    expect(page.locator('[data-testid="node-double-1"]')).to_be_visible()
    expect(page.locator('[data-testid="inspector"] [data-field="n"]')).to_have_attribute("placeholder", "3")
    assert not probe.exists(), "the notebook card editor must never run a card file in the kernel"

    # reopened: the file is listed and opens with its source
    page.click('[data-testid="btn-cards"]')
    page.click('[data-testid="card-file-tools/double.py"]')
    expect(page.locator('[data-testid="editor-path"]')).to_have_text("tools/double.py")
    page.wait_for_function("s => document.querySelector('[data-testid=code-editor]').cmView.state.doc.toString()"
                           " === s", arg=good)


def test_save_refused_by_the_kernel_shows_its_issues(page: Page, kernel: KernelBridge) -> None:
    kernel.canvas.pipeline.project.write_card("first.py", _template("twice"))
    page.click('[data-testid="btn-cards"]')
    expect(page.locator('[data-testid="card-files"]')).to_contain_text("first.py")
    page.fill('[data-testid="new-card-path"]', "twice")  # the same card_type as first.py
    page.click('[data-testid="btn-new-card"]')
    expect(page.locator('[data-testid="editor-check"]')).to_have_text("valid")  # valid alone...
    page.click('[data-testid="btn-save-card"]')  # ...but the project already has that card type
    expect(page.locator('[data-testid="editor-note"]')).to_contain_text("already defined by 'first.py'")
    expect(page.locator('[data-testid="editor-issues"]')).to_contain_text("already defined by 'first.py'")
    assert kernel.canvas.pipeline.project.cards == {"twice": "first.py"}
    # delete from the list: gone from the files and the palette
    page.click('[data-testid="delete-first.py"]')
    expect(page.locator('[data-testid="card-files"]')).not_to_contain_text("first.py")
    page.click('[data-testid="btn-close-cards"]')
    expect(page.locator('[data-testid="palette-twice"]')).to_have_count(0)


def _template(card_type: str) -> str:
    return f'''from tensorrag import BaseCard


class Twice(BaseCard):
    card_type = "{card_type}"
    display_name = "Twice"
    description = "What this card does"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {{"n": {{"type": "integer", "default": 3}}}}
    input_schema = {{}}
    output_schema = {{"result": "json"}}

    def execute(self, config, inputs, storage):
        return {{"result": storage.save_json(config["_pipeline_id"], config["_node_id"], "result", {{}})}}

    def get_output_preview(self, outputs, storage):
        return {{"metrics": {{}}}}
'''
