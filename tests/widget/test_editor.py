"""The notebook card editor's kernel side, without a browser: every ``cards`` message and its errors.

The canvas gets the messages the browser's editor sends (``{"type": "cards", "id", "op", ...}``) and
answers each with one ``cards_reply``; saved cards reach the palette (with their schema) and the
pipeline's nodes. The source is read as a syntax tree only: the side-effect probe stays untouched
until a node of the card runs.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.widget._canvas import Canvas
from tensorrag.widget._editor import OPS

if TYPE_CHECKING:
    from .conftest import Wire

MAKE = '''\
from tensorrag import BaseCard


class Make(BaseCard):
    card_type = "make"
    display_name = "Make"
    description = "Make n numbers"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {"n": {"type": "integer", "default": 3}}
    input_schema = {}
    output_schema = {"values": "json"}

    def execute(self, config, inputs, storage):
        values = {"values": list(range(config["n"]))}
        return {"values": storage.save_json(config["_pipeline_id"], config["_node_id"], "values", values)}

    def get_output_preview(self, outputs, storage):
        return {"metrics": {"count": len(storage.load_json(outputs["values"])["values"])}}
'''
EXECUTE = "    def execute(self, config, inputs, storage):"
BROKEN = MAKE.replace(EXECUTE, EXECUTE[:-1])  # the colon is missing
BROKEN_LINE = MAKE.splitlines().index(EXECUTE) + 1

_ids = itertools.count(1)


class Editor:
    """Acts as the browser's editor over a wired canvas: one request, its one reply."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        rid = f"r{next(_ids)}"
        self.wire.clear()
        self.wire.command({"type": "cards", "id": rid, "op": op, **fields})
        replies = self.wire.messages("cards_reply")
        assert [r["id"] for r in replies] == [rid], self.wire.sent
        assert not self.wire.messages("error"), "editor errors come back as the reply, not as a canvas error"
        return replies[0]

    def ok(self, op: str, **fields: Any) -> Any:
        reply = self.call(op, **fields)
        assert reply["ok"] is True, reply
        return reply["result"]

    def error(self, op: str, **fields: Any) -> dict[str, Any]:
        reply = self.call(op, **fields)
        assert reply["ok"] is False and "result" not in reply, reply
        return reply["error"]


def palette_entry(canvas: Canvas, card_type: str) -> dict[str, Any] | None:
    return next((e for e in canvas.palette if e["card_type"] == card_type), None)


@pytest.fixture
def project(tmp_path: Path) -> tr.Workspace:
    return tr.Workspace(tmp_path / "store").create_project("demo")


@pytest.fixture
def editor(project, wired) -> Editor:
    return Editor(wired(Canvas(tr.Pipeline("demo", project=project))))


# --------------------------------------------------------------------------- every operation


def test_list_folder_save_read_validate_delete(editor: Editor, project) -> None:
    canvas = editor.wire.canvas
    assert editor.ok("list") == {"project": "demo", "url": project.url, "entries": []}
    assert editor.ok("folder", path="tools") == {"success": True, "path": "tools"}
    saved = editor.ok("save", path="tools/make.py", source_code=MAKE)
    assert saved == {"success": True, "card_type": "make", "errors": []}
    assert editor.ok("list")["entries"] == [{"path": "tools", "type": "folder"},
                                            {"path": "tools/make.py", "type": "file"}]
    assert editor.ok("read", path="tools/make.py") == {"path": "tools/make.py", "source_code": MAKE}
    assert project.read_card("tools/make.py") == MAKE  # the workspace's own file
    # in the palette, with its schema and ports (the trait was sent before the reply)
    entry = palette_entry(canvas, "make")
    assert entry is not None and entry["json_schema"]["properties"]["n"]["default"] == 3
    assert entry["outputs"] == {"values": "json"}

    checked = editor.ok("validate", source_code=MAKE, path="tools/make.py")
    assert checked["success"] is True and checked["extracted_schema"]["card_type"] == "make"
    assert editor.ok("delete", path="tools/make.py") == {"success": True}
    assert palette_entry(canvas, "make") is None
    assert editor.ok("list")["entries"] == [{"path": "tools", "type": "folder"}]
    assert editor.ok("delete_folder", path="tools") == {"success": True}
    assert editor.ok("list")["entries"] == []


def test_saving_sends_the_palette_before_the_reply(editor: Editor) -> None:
    editor.wire.clear()
    editor.wire.command({"type": "cards", "id": "x", "op": "save", "path": "make.py", "source_code": MAKE})
    kinds = [("palette" if "palette" in m.get("state", {}) else m.get("content", {}).get("type"))
             for m in editor.wire.sent]
    assert "palette" in kinds and kinds.index("palette") < kinds.index("cards_reply")


def test_delete_folder_removes_every_card_in_it(editor: Editor) -> None:
    canvas = editor.wire.canvas
    editor.ok("save", path="a/make.py", source_code=MAKE)
    editor.ok("save", path="a/b/other.py", source_code=MAKE.replace('"make"', '"other"'))
    assert palette_entry(canvas, "make") and palette_entry(canvas, "other")
    editor.ok("delete_folder", path="a")
    assert palette_entry(canvas, "make") is None and palette_entry(canvas, "other") is None


# --------------------------------------------------------------------------- errors


def test_syntax_error_validates_with_its_line_and_is_never_saved(editor: Editor, project) -> None:
    checked = editor.ok("validate", source_code=BROKEN)
    assert checked["success"] is False and checked["extracted_schema"] is None
    assert checked["errors"][0]["line"] == BROKEN_LINE and checked["errors"][0]["message"].startswith("Syntax error")
    error = editor.error("save", path="make.py", source_code=BROKEN)
    assert error["type"] == "CardDefinitionError"
    assert error["message"].startswith(f"Card file 'make.py' is invalid: line {BROKEN_LINE}: Syntax error")
    assert error["errors"][0]["line"] == BROKEN_LINE and error["errors"][0]["severity"] == "error"
    assert editor.ok("list")["entries"] == [] and project.cards == {}
    assert palette_entry(editor.wire.canvas, "make") is None


def test_same_answers_as_the_server_route(editor: Editor, project) -> None:
    """One implementation: the reply's error is the body the server's POST .../cards answers with."""
    from tensorrag.workspace._project import card_rejection

    assert editor.error("save", path="make.py", source_code=BROKEN) == card_rejection(
        "make.py", project.write_card("make.py", BROKEN))


def test_duplicate_card_type_is_refused_with_the_owner(editor: Editor) -> None:
    editor.ok("save", path="make.py", source_code=MAKE)
    error = editor.error("save", path="copy.py", source_code=MAKE)
    assert error["type"] == "CardDefinitionError" and "already defined by 'make.py'" in error["message"]


@pytest.mark.parametrize(
    ("op", "fields", "kind", "text"),
    [
        ("read", {"path": "nope.py"}, "ArtifactNotFoundError", "No card file 'nope.py' in project 'demo'"),
        ("delete", {"path": "nope.py"}, "ArtifactNotFoundError", "No card file 'nope.py'"),
        ("delete_folder", {"path": "nope"}, "ArtifactNotFoundError", "No card folder 'nope'"),
        ("save", {"path": "../x.py", "source_code": MAKE}, "UnsafePathError", ".."),
        ("read", {"path": "/etc/passwd"}, "UnsafePathError", ""),
        ("folder", {"path": "a/../../b"}, "UnsafePathError", ""),
        ("save", {"path": "make.txt", "source_code": MAKE}, "UnsafePathError", ".py"),
        ("save", {"path": "make.py"}, "ArgumentError", "'save' needs 'source_code'"),
        ("read", {}, "ArgumentError", "'read' needs 'path' (a string: 'data/my_card.py'); got NoneType None"),
        ("read", {"path": 3}, "ArgumentError", "got int 3"),
        ("rename", {}, "ArgumentError", "Unknown card editor operation 'rename'; expected one of: " + ", ".join(OPS)),
    ],
)
def test_errors_are_typed_replies(editor: Editor, op: str, fields: dict[str, Any], kind: str, text: str) -> None:
    error = editor.error(op, **fields)
    assert error["type"] == kind, error
    assert text in error["message"]


def test_a_storage_failure_is_a_reply_too(editor: Editor, project) -> None:
    (Path(project.store.root) / "cards").write_text("a file where the card folder belongs")
    error = editor.error("folder", path="x")
    assert error["type"].startswith("Storage") and "cards/x" in error["message"], error


# --------------------------------------------------------------------------- the pipeline follows the files


def test_nodes_follow_the_card_file(editor: Editor) -> None:
    canvas, pipeline = editor.wire.canvas, editor.wire.canvas.pipeline
    pipeline.replace({"nodes": [{"id": "m", "type": "cardNode", "position": {"x": 0, "y": 0},
                                 "data": {"card_type": "make", "config": {"n": 2}}}], "edges": []})
    assert [p["node_id"] for p in canvas.problems] == ["m"]  # unknown card type, for now
    editor.ok("save", path="make.py", source_code=MAKE)
    assert canvas.problems == [] and pipeline.nodes["m"].outputs == {"values": "json"}
    assert pipeline.nodes["m"].config == {"n": 2}  # the node kept its config and position
    # a new version of the file: the node is bound to the new class (new port)
    editor.ok("save", path="make.py", source_code=MAKE.replace('{"values": "json"}', '{"values": "json", "n": "json"}'))
    assert pipeline.nodes["m"].outputs == {"values": "json", "n": "json"}
    assert palette_entry(canvas, "make")["outputs"] == {"values": "json", "n": "json"}
    editor.ok("delete", path="make.py")
    assert pipeline.nodes["m"].card is None
    assert "make" in canvas.problems[0]["message"] and canvas.problems[0]["node_id"] == "m"


def test_existing_card_files_reach_the_palette_on_the_first_request(project, wired) -> None:
    project.write_card("make.py", MAKE)
    canvas = Canvas(tr.Pipeline("demo", project=project))
    assert palette_entry(canvas, "make") is not None  # a project pipeline sees its cards at once
    Editor(wired(canvas)).ok("list")
    assert palette_entry(canvas, "make") is not None


def test_a_pipeline_in_no_project_edits_the_canvas_project_folder(tmp_path: Path, wired) -> None:
    store = tmp_path / "store"
    pipeline = tr.Pipeline("loose")
    canvas = Canvas(pipeline, storage=str(store))
    editor = Editor(wired(canvas))
    listed = editor.ok("list")
    assert listed["project"] == "loose" and listed["entries"] == []
    assert not (store / "default" / "workspace" / "loose").exists()  # opening it wrote nothing
    editor.ok("save", path="make.py", source_code=MAKE)
    assert (store / "default" / "workspace" / "loose" / "cards" / "make.py").read_text() == MAKE
    assert "make" in pipeline.registry and palette_entry(canvas, "make") is not None
    assert canvas.editor.project == tr.Workspace(store).project("loose")  # the folder canvas.save() writes to
    pipeline.add("make", id="m", n=4)
    run = canvas.run()
    canvas.wait(60)
    assert run.ok, run.error("m")
    assert run.output("m", "values") == {"values": [0, 1, 2, 3]}
    editor.ok("delete", path="make.py")
    assert "make" not in pipeline.registry and palette_entry(canvas, "make") is None


def test_a_card_registered_in_code_wins_over_a_file_of_the_same_type(tmp_path: Path, wired) -> None:
    @tr.card(outputs={"values": "json"})
    def make(n: int = 1) -> dict:
        return {"values": [n]}

    pipeline = tr.Pipeline("loose")
    pipeline.register(make)
    mine = pipeline.registry.get("make")
    editor = Editor(wired(Canvas(pipeline, storage=str(tmp_path / "store"))))
    editor.ok("save", path="make.py", source_code=MAKE)
    assert pipeline.registry.get("make") is mine


def test_the_project_option_names_the_folder(tmp_path: Path, wired) -> None:
    canvas = Canvas(tr.Pipeline("p"), storage=str(tmp_path / "store"), project="shared", user="ann")
    editor = Editor(wired(canvas))
    editor.ok("save", path="make.py", source_code=MAKE)
    assert (tmp_path / "store" / "ann" / "workspace" / "shared" / "cards" / "make.py").is_file()


# --------------------------------------------------------------------------- never executed in the kernel


PROBE = '''\
import pathlib
pathlib.Path({module_marker!r}).write_text("module level ran")
from tensorrag import BaseCard


class Probe(BaseCard):
    card_type = "probe"
    display_name = "Probe"
    description = "Side effects"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {{"n": {{"type": "integer", "default": 1}}}}
    output_schema = {{"out": "json"}}
    _touched = pathlib.Path({class_marker!r}).write_text("class body ran")

    def execute(self, config, inputs, storage):
        return {{"out": storage.save_json(config["_pipeline_id"], config["_node_id"], "out", {{"ok": True}})}}
'''


def test_side_effect_probe_through_the_notebook_editor(editor: Editor, tmp_path: Path) -> None:
    module_marker, class_marker = tmp_path / "module.txt", tmp_path / "class.txt"
    source = PROBE.format(module_marker=str(module_marker), class_marker=str(class_marker))
    canvas = editor.wire.canvas
    assert editor.ok("validate", source_code=source)["success"]
    assert editor.ok("save", path="probe.py", source_code=source)["card_type"] == "probe"
    editor.ok("list")
    editor.ok("read", path="probe.py")
    assert palette_entry(canvas, "probe")["json_schema"]["properties"]["n"]["default"] == 1
    editor.wire.edit({**canvas.graph, "nodes": [{"id": "probe", "type": "cardNode", "position": {"x": 0, "y": 0},
                                                 "data": {"card_type": "probe", "config": {}}}]})
    assert "probe" in canvas.pipeline.nodes and canvas.problems == []
    canvas.sync()
    editor.ok("save", path="probe.py", source_code=source + "\n")  # a new version rebinds the node
    assert not module_marker.exists() and not class_marker.exists(), "the editor ran a card file in the kernel"
    run = canvas.run()  # now the node executes: the file runs, where nodes run
    canvas.wait(60)
    assert run.ok, run.error("probe")
    assert module_marker.read_text() == "module level ran" and class_marker.read_text() == "class body ran"


def test_a_message_without_an_id_still_gets_its_reply(editor: Editor) -> None:
    editor.wire.clear()
    editor.wire.command({"type": "cards", "op": "list"})
    (reply,) = editor.wire.messages("cards_reply")
    assert reply["id"] is None and reply["ok"] is True
