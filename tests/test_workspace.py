"""Workspaces and projects: CRUD, card files (AST-registered, executed only when a node runs),
isolation of two projects, saved pipelines and history, runs, path attacks, concurrent saves.

Every test that touches storage runs against local disk and a real S3 server on loopback (moto).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import uuid
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.errors import (
    ArtifactNotFoundError,
    CardDefinitionError,
    SpecError,
    StorageError,
    UnknownCardTypeError,
    UnsafePathError,
)
from tensorrag.executors.runtime import card_ref, resolve_card
from tensorrag.registry import card_registry
from tensorrag.workspace import (
    MAX_CARD_PATH,
    Project,
    ProjectCard,
    Workspace,
    card_class_from_source,
    check_card_path,
)

# --------------------------------------------------------------------------- card sources

MAKE = '''\
from tensorrag import BaseCard


class Make(BaseCard):
    """Emit a number."""

    card_type = "{card_type}"
    display_name = "Make"
    description = "Emit n * {mult}"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {{"n": {{"type": "integer", "default": {default}}}}}
    output_schema = {{"{port}": "json"}}
    resources = {{"timeout": 120}}

    def execute(self, config, inputs, storage):
        value = {{"value": config["n"] * {mult}}}
        return {{"{port}": storage.save_json(config["_pipeline_id"], config["_node_id"], "{port}", value)}}

    def get_output_preview(self, outputs, storage):
        return storage.load_json(outputs["{port}"])
'''


def make_source(card_type: str = "make", mult: int = 2, default: int = 3, port: str = "value") -> str:
    return MAKE.format(card_type=card_type, mult=mult, default=default, port=port)


ADD_ONE = '''\
from tensorrag import BaseCard


class AddOne(BaseCard):
    card_type = "add_one"
    display_name = "Add one"
    description = "value + 1"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    input_schema = {"value": "json"}
    output_schema = {"value": "json"}

    def execute(self, config, inputs, storage):
        v = storage.load_json(inputs["value"])["value"] + 1
        return {"value": storage.save_json(config["_pipeline_id"], config["_node_id"], "value", {"value": v})}
'''

# A card file whose module level and class body have side effects: it must only run when a node executes.
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
    output_schema = {{"out": "json"}}
    _touched = pathlib.Path({class_marker!r}).write_text("class body ran")

    def execute(self, config, inputs, storage):
        return {{"out": storage.save_json(config["_pipeline_id"], config["_node_id"], "out", {{"ok": True}})}}
'''

INVALID = '''\
from tensorrag import BaseCard


class Broken(BaseCard):
    card_type = "broken-type"
    display_name = "Broken"
    category = "data"
    execution_mode = "gpu"
    output_view_type = "table"

    def execute(self, config, inputs, storage):
        return {}
'''


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["local", "s3"])
def ws(request: pytest.FixtureRequest, tmp_path: Any) -> Workspace:
    """A fresh workspace on local disk, or under a unique prefix of the moto S3 bucket."""
    if request.param == "local":
        return Workspace(tmp_path / "root", user="alice")
    server = request.getfixturevalue("s3_server")
    request.getfixturevalue("aws_env")
    return Workspace(f"s3://{server['bucket']}/ws-{uuid.uuid4().hex[:10]}", user="alice", **server["options"])


@pytest.fixture
def local_ws(tmp_path: Any) -> Workspace:
    return Workspace(tmp_path / "root", user="alice")


def fresh(project: Project) -> Project:
    """The same project opened anew: everything comes from storage."""
    return Workspace(project.workspace.store, user=project.workspace.user).project(project.name)


def make_pipeline(project: Project, card_type: str = "make", **config: Any) -> tr.Pipeline:
    p = tr.Pipeline("flow", project=project)
    p.add(card_type, id="m", **config)
    return p


# --------------------------------------------------------------------------- projects


class TestProjects:
    def test_create_list_open_delete(self, ws: Workspace) -> None:
        assert ws.list_projects() == []
        a = ws.create_project("image-classification")
        ws.create_project("b 2")
        assert ws.list_projects() == ["b 2", "image-classification"]
        assert "image-classification" in ws and "nope" not in ws and "../x" not in ws and 5 not in ws
        opened = ws.project("image-classification")
        assert opened == a and opened.name == "image-classification"
        assert opened.url.endswith("/alice/workspace/image-classification")
        ws.delete_project("b 2")
        assert ws.list_projects() == ["image-classification"]
        with pytest.raises(ArtifactNotFoundError, match="No project 'b 2'"):
            ws.project("b 2")

    def test_new_project_has_an_empty_saved_pipeline(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        p = proj.load_pipeline()
        assert len(p) == 0 and p.name == "p" and p.project is proj
        assert proj.history() == [] and proj.runs() == [] and proj.cards == {} and proj.card_files() == []
        assert proj.store.read_pipeline()["nodes"] == []  # the original's empty state, readable by other tools

    def test_create_twice(self, ws: Workspace) -> None:
        ws.create_project("p")
        with pytest.raises(StorageError, match="already exists"):
            ws.create_project("p")
        assert ws.create_project("p", exist_ok=True).name == "p"
        assert ws.project("q", create=True).name == "q" and "q" in ws

    def test_missing_project_suggests_close_names(self, ws: Workspace) -> None:
        ws.create_project("image-classification")
        with pytest.raises(ArtifactNotFoundError, match="Did you mean 'image-classification'"):
            ws.project("image-clasification")
        with pytest.raises(ArtifactNotFoundError):
            ws.delete_project("nope")
        ws.delete_project("nope", missing_ok=True)

    def test_delete_removes_everything(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        make_pipeline(proj).run(progress=False)
        ws.delete_project("p")
        assert "p" not in ws and ws.list_projects() == []
        assert ws.create_project("p").runs() == []

    def test_names_are_not_prefixes(self, ws: Workspace) -> None:
        ws.create_project("p2").write_card("make.py", make_source())
        ws.create_project("p")
        assert "p" in ws and "p2" in ws and "p2x" not in ws
        ws.delete_project("p")
        assert ws.list_projects() == ["p2"] and ws.project("p2").cards == {"make": "make.py"}
        assert "p" not in ws
        with pytest.raises(ArtifactNotFoundError):
            ws.delete_project("p")
        ws.create_project("p2x")
        ws.delete_project("p2")
        assert ws.list_projects() == ["p2x"]

    def test_users_are_separate(self, ws: Workspace) -> None:
        ws.create_project("shared-name")
        bob = Workspace(ws.store, user="bob")
        assert bob.list_projects() == []
        bob.create_project("shared-name")
        assert ws.project("shared-name").url != bob.project("shared-name").url

    def test_defaults_come_from_the_environment(self, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TENSORRAG_STORAGE", str(tmp_path / "env-root"))
        monkeypatch.setenv("TENSORRAG_USER", "carol")
        ws = Workspace()
        assert ws.user == "carol" and ws.url == f"file://{tmp_path}/env-root"
        ws.create_project("p")
        assert (tmp_path / "env-root" / "carol" / "workspace" / "p" / "_pipeline.json").is_file()

    def test_repr_never_shows_credentials(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        assert "testing" not in repr(ws) and "testing" not in repr(proj)
        assert repr(proj).startswith("Project('p', workspace=Workspace(")

    def test_public_names(self) -> None:
        assert tr.Workspace is Workspace and tr.Project is Project


# --------------------------------------------------------------------------- card files


class TestCards:
    def test_write_registers_without_executing(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        result = proj.write_card("data/make.py", make_source())
        assert result.success and result.card_type == "make" and result.errors == []
        assert proj.cards == {"make": "data/make.py"}
        assert proj.card_files() == ["data/", "data/make.py"]
        assert proj.read_card("data/make.py") == make_source()
        cls = proj.registry.get("make")
        assert issubclass(cls, ProjectCard) and cls is proj.card("make")
        assert cls.outputs() == {"value": "json"} and cls.inputs() == {}
        assert cls.resources == {"timeout": 120} and cls.__doc__ == "Emit a number."
        assert cls.__tensorrag_path__ == "data/make.py" and cls.__tensorrag_project__ == "p"
        assert cls.to_schema() == result.extracted_schema
        assert "_tr_real" not in vars(cls)  # the source has not run

    def test_invalid_card_is_never_saved(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        result = proj.write_card("broken.py", INVALID)
        assert not result.success
        messages = {(i.line, i.message) for i in result.errors if i.severity == "error"}
        assert (4, "Missing required attribute: description") in messages
        assert any(line == 5 and "valid Python identifier" in m for line, m in messages)
        assert any(line == 8 and "execution_mode" in m for line, m in messages)
        assert proj.card_files() == [] and proj.cards == {}
        assert result.to_dict()["success"] is False and result.to_dict()["extracted_schema"] is None

    def test_syntax_error_and_bytes(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        result = proj.write_card("x.py", "class X(BaseCard:\n")
        assert not result.success and result.errors[0].line == 1 and "Syntax error" in result.errors[0].message
        bad_utf8 = proj.write_card("y.py", b"# ok\n\xff\xfe")
        assert not bad_utf8.success and bad_utf8.errors[0].line == 2
        assert proj.write_card("z.py", make_source().encode()).success
        assert proj.card_files() == ["z.py"]

    def test_cards_load_from_storage_and_skip_bad_files(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("a/make.py", make_source())
        proj.write_card("a/b/add.py", ADD_ONE)
        proj.store.write_bytes("cards/broken.py", INVALID.encode())  # written behind the project's back
        proj.store.write_bytes("cards/notes.txt", b"not a card")
        again = fresh(proj)
        assert again.cards == {"add_one": "a/b/add.py", "make": "a/make.py"}
        assert set(again.card_errors) == {"broken.py"} and not again.card_errors["broken.py"].success
        assert again.card_files() == ["a/", "a/b/", "a/b/add.py", "a/make.py", "broken.py"]
        assert sorted(again.registry.own_names()) == ["add_one", "make"]

    def test_reload_sees_changes_from_elsewhere(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        assert proj.cards == {}
        other = fresh(proj)
        other.write_card("make.py", make_source())
        assert proj.cards == {}
        assert proj.reload_cards() == {"make": "make.py"}

    def test_duplicate_card_type_in_one_project(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        assert proj.write_card("one.py", make_source()).success
        dup = proj.write_card("two.py", make_source(mult=5))
        assert not dup.success and "already defined by 'one.py'" in dup.errors[0].message
        assert dup.errors[0].line == 7  # the card_type line
        assert proj.card_files() == ["one.py"]
        assert proj.write_card("one.py", make_source(mult=5)).success  # the same file may change
        proj.store.write_bytes("cards/zz.py", make_source(mult=7).encode())
        again = fresh(proj)
        assert again.cards == {"make": "one.py"} and "already defined" in str(again.card_errors["zz.py"].errors[-1])

    def test_rename_of_card_type_in_the_same_file(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source("make"))
        proj.write_card("make.py", make_source("make_v2"))
        assert proj.cards == {"make_v2": "make.py"} and "make" not in proj.registry.own_names()

    def test_shadowing_a_builtin_is_a_warning(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        result = proj.write_card("split.py", make_source("data_split"))
        assert result.success and any("shadows a built-in" in w.message for w in result.warnings)
        assert issubclass(proj.registry.get("data_split"), ProjectCard)
        assert not issubclass(card_registry.get("data_split"), ProjectCard)

    def test_delete_card_and_folder(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        proj.write_card("lib/add.py", ADD_ONE)
        proj.write_card("lib/deep/other.py", make_source("other"))
        proj.delete_card("make.py")
        assert "make" not in proj.cards and "make" not in proj.registry
        with pytest.raises(ArtifactNotFoundError):
            proj.delete_card("make.py")
        with pytest.raises(ArtifactNotFoundError, match=re.escape("Card files: lib/add.py, lib/deep/other.py.")):
            proj.read_card("make.py")
        proj.delete_folder("lib")
        assert proj.cards == {} and proj.card_files() == []
        with pytest.raises(ArtifactNotFoundError):
            proj.delete_folder("lib")

    def test_card_class_from_source(self) -> None:
        cls = card_class_from_source(make_source("standalone"), "s.py")
        assert cls.card_type == "standalone" and cls.__tensorrag_source__ == make_source("standalone")
        with pytest.raises(CardDefinitionError, match="line 5"):
            card_class_from_source(INVALID)


class TestSideEffectProbe:
    def test_loading_never_executes_the_card_file(self, ws: Workspace, tmp_path: Any) -> None:
        module_marker, class_marker = tmp_path / "module.txt", tmp_path / "class.txt"
        source = PROBE.format(module_marker=str(module_marker), class_marker=str(class_marker))
        proj = ws.create_project("p")
        assert proj.write_card("probe.py", source).success
        again = fresh(proj)  # load from storage
        p = tr.Pipeline("probe", project=again)
        p.add("probe", id="probe")
        p.validate()
        cls = again.registry.get("probe")
        cls.fingerprint(), cls.json_schema(), cls.to_schema(), tr.list_cards(again.registry), p.to_dict()
        card_ref(cls)
        assert not module_marker.exists() and not class_marker.exists()
        run = p.run(progress=False)  # now the node executes: the file runs, in the worker
        assert run.ok, run.error("probe")
        assert module_marker.read_text() == "module level ran" and class_marker.read_text() == "class body ran"
        assert run.output("probe", "out") == {"ok": True}


# --------------------------------------------------------------------------- running project cards


class TestRunning:
    def test_pipeline_sees_builtins_and_project_cards(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        proj.write_card("add.py", ADD_ONE)
        p = tr.Pipeline("train", project=proj)
        assert {"make", "add_one", "data_load", "train"} <= set(p.registry.names())
        p.add("make", id="m", n=4)
        p.add("add_one", id="a")
        p.connect("m", "a")
        run = p.run(progress=False)
        assert run.ok, run.error("a")
        assert run.output("a", "value") == {"value": 9} and run.preview("m") == {"value": 8}
        assert run.store.url == proj.url
        assert run.outputs("a")["value"]["uri"].startswith(proj.url + "/artifacts/")
        with pytest.raises(UnknownCardTypeError):
            tr.Pipeline("outside").add("make")  # not global

    def test_two_projects_same_card_type_differently(self, ws: Workspace) -> None:
        a, b = ws.create_project("a"), ws.create_project("b")
        a.write_card("make.py", make_source(mult=2, port="value"))
        b.write_card("make.py", make_source(mult=10, port="number"))
        pa, pb = make_pipeline(a, n=1), make_pipeline(b, n=1)
        assert pa.node("m").outputs == {"value": "json"} and pb.node("m").outputs == {"number": "json"}
        ra, rb = pa.run(progress=False), pb.run(progress=False)
        assert ra.output("m", "value") == {"value": 2} and rb.output("m", "number") == {"value": 10}
        assert a.card("make").fingerprint() != b.card("make").fingerprint()
        assert "make" not in card_registry

    def test_editing_the_source_invalidates_the_cache(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source(mult=2))
        old = proj.card("make")
        assert make_pipeline(proj).run(progress=False).output("m", "value") == {"value": 6}
        assert make_pipeline(proj).run(progress=False).status == {"m": "cached"}
        proj.write_card("make.py", make_source(mult=3))
        assert proj.card("make").fingerprint() != old.fingerprint()
        run = make_pipeline(fresh(proj)).run(progress=False)
        assert run.status == {"m": "completed"} and run.output("m", "value") == {"value": 9}
        # the same source gives the same fingerprint in another process or project object
        assert fresh(proj).card("make").fingerprint() == proj.card("make").fingerprint()

    def test_a_worker_elsewhere_builds_the_card_from_its_source(self, local_ws: Workspace) -> None:
        proj = local_ws.create_project("p")
        proj.write_card("make.py", make_source(mult=7))
        ref = json.loads(json.dumps(card_ref(proj.card("make"))))  # what travels to a worker
        assert ref["source"] == make_source(mult=7) and ref["card_type"] == "make"
        real = resolve_card(ref)
        assert not issubclass(real, ProjectCard) and real.__name__ == "Make" and real.outputs() == {"value": "json"}

    def test_process_workers_build_the_card_from_its_source(self, local_ws: Workspace, tmp_path: Any) -> None:
        marker = tmp_path / "pid.txt"
        source = f"import os, pathlib\npathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\n" + make_source()
        proj = local_ws.create_project("p")
        assert proj.write_card("make.py", source).success
        run = make_pipeline(proj, n=5).run(executor="process", max_workers=1, progress=False)
        assert run.ok, run.error("m")
        assert run.output("m", "value") == {"value": 10}
        assert int(marker.read_text()) != os.getpid()  # the file ran in the worker, never here

    def test_ports_changed_at_import_time_fail_the_node(self, local_ws: Workspace) -> None:
        proj = local_ws.create_project("p")
        source = make_source() + '\nMake.output_schema = {"other": "json"}\n'
        assert proj.write_card("make.py", source).success
        run = make_pipeline(proj).run(progress=False)
        assert run.status == {"m": "failed"}
        assert "changes its ports" in run.error("m")["message"]

    def test_a_card_file_that_raises_at_import_fails_only_its_node(self, local_ws: Workspace) -> None:
        proj = local_ws.create_project("p")
        assert proj.write_card("make.py", "raise RuntimeError('boom at import')\n" + make_source()).success
        run = make_pipeline(proj).run(progress=False)
        assert run.status == {"m": "failed"} and "boom at import" in run.error("m")["message"]


# --------------------------------------------------------------------------- saved pipelines and runs


class TestPipelinesAndRuns:
    def test_save_load_history(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        first = make_pipeline(proj, n=1)
        proj.save_pipeline(first)
        second = make_pipeline(proj, n=2)
        uri = proj.save_pipeline(second)
        assert uri == proj.url + "/_pipeline.json"
        versions = proj.history()
        assert len(versions) == 2 and versions == sorted(versions, reverse=True)
        loaded = fresh(proj).load_pipeline()
        assert loaded == second and loaded.node("m").card is not None and loaded.project is not None
        assert proj.load_pipeline(versions[1]) == first
        assert proj.load_pipeline(versions[0].removesuffix(".json")) == second
        with pytest.raises(ArtifactNotFoundError, match="Latest versions"):
            proj.load_pipeline("20000101T000000.000000Z-000000")
        with pytest.raises(UnsafePathError):
            proj.load_pipeline("../_pipeline")

    def test_save_a_document(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        proj.save_pipeline({"nodes": [], "edges": [], "nodeCounter": 0})  # the original's format
        assert len(proj.load_pipeline()) == 0 and len(proj.history()) == 1
        with pytest.raises(SpecError):
            proj.save_pipeline({"nodes": "nope"})
        with pytest.raises(TypeError):
            proj.save_pipeline(42)  # type: ignore[arg-type]

    def test_runs_listing(self, ws: Workspace, tmp_path: Any) -> None:
        proj = ws.create_project("p")
        proj.write_card("make.py", make_source())
        proj.write_card("add.py", ADD_ONE)
        ok = make_pipeline(proj).run(progress=False)
        p = tr.Pipeline("bad", project=proj)
        p.add("data_load", id="load", source="csv", path=str(tmp_path / "missing.csv"))
        bad = p.run(progress=False)
        runs = proj.runs()
        assert [r["run_id"] for r in runs] == [bad.run_id, ok.run_id]
        assert runs[0]["status"] == "failed" and runs[0]["failed"] == ["load"] and runs[0]["pipeline"] == "bad"
        assert runs[1]["status"] == "completed" and runs[1]["nodes"] == {"m": "completed"}
        assert runs[1]["execution_time"] >= 0 and runs[1]["started_at"] <= runs[1]["finished_at"]
        assert proj.runs(limit=1) == runs[:1]
        manifest = proj.run(ok.run_id)
        node = manifest["nodes"]["m"]
        assert node["outputs"]["value"]["uri"].startswith(proj.url) and "total" in node["timings"]
        with pytest.raises(ArtifactNotFoundError, match="Latest runs"):
            proj.run("20000101T000000000000Z-000000")
        with pytest.raises(UnsafePathError):
            proj.run("../../etc/passwd")

    def test_unreadable_manifest_is_listed(self, local_ws: Workspace) -> None:
        proj = local_ws.create_project("p")
        proj.store.write_bytes("runs/20990101T000000000000Z-abcdef.json", b"{not json")
        (only,) = proj.runs()
        assert only["run_id"] == "20990101T000000000000Z-abcdef" and only["status"] == "unreadable"
        assert "not valid JSON" in only["error"]


# --------------------------------------------------------------------------- path attacks

ATTACK_PATHS = [
    "../evil.py",
    "../../etc/cron.d/evil.py",
    "a/../../evil.py",
    "a/./b.py",
    "/etc/evil.py",
    "//server/share/evil.py",
    "..\\evil.py",
    "a\\..\\..\\evil.py",
    "C:\\evil.py",
    "C:/evil.py",
    "~/evil.py",
    "~root/evil.py",
    "s3://other-bucket/evil.py",
    "file:///etc/evil.py",
    "evil.py\x00.txt",
    "ev\x00il.py",
    "evil\n.py",
    "evil\r.py",
    "",
    ".py",
    ".hidden.py",
    "a/.git/config.py",
    "a//b.py",
    "evil.txt",
    "evil.py.txt",
    "evil.pyc",
    "evil",
    "folder/",
    "évil.py",
    "evil.py ",
    " evil.py",
    "a/ /b.py",
    "%2e%2e/evil.py",
    "x" * (MAX_CARD_PATH + 1) + ".py",
    "/".join(["d"] * 20) + "/evil.py",
    "a/" + "x" * 300 + ".py",
]

ATTACK_NAMES = [
    "..",
    ".",
    "",
    "a/b",
    "../other-user",
    "a\\b",
    "..\\..",
    "/abs",
    "C:",
    "~root",
    "s3://bucket",
    "a\x00b",
    "a\nb",
    "-rf",
    ".hidden",
    "name.",
    "name ",
    " name",
    "x" * 129,
    "évil",
    "a*b",
    "a:b",
]


class TestPathAttacks:
    def test_tables_are_large(self) -> None:
        assert len(ATTACK_PATHS) >= 20 and len(ATTACK_NAMES) >= 20

    def test_card_paths(self, ws: Workspace, tmp_path: Any) -> None:
        proj = ws.create_project("p")
        for path in ATTACK_PATHS:
            for op in (
                lambda p=path: proj.write_card(p, make_source()),
                lambda p=path: proj.read_card(p),
                lambda p=path: proj.delete_card(p),
            ):
                with pytest.raises(UnsafePathError):
                    op()
        for bad in (None, 3, b"x.py"):
            with pytest.raises(UnsafePathError, match="must be a string"):
                check_card_path(bad)  # type: ignore[arg-type]
        for folder in ("..", "../x", "/abs", "a\\b", ""):
            with pytest.raises(UnsafePathError):
                proj.delete_folder(folder)
        assert proj.card_files() == [] and proj.cards == {}
        self.assert_nothing_escaped(ws, tmp_path)

    def test_project_and_user_names(self, ws: Workspace, tmp_path: Any) -> None:
        for name in ATTACK_NAMES:
            for op in (ws.create_project, ws.project, ws.delete_project):
                with pytest.raises(UnsafePathError):
                    op(name)
            assert name not in ws
            with pytest.raises(UnsafePathError):
                Workspace(ws.store, user=name)
        assert ws.list_projects() == []
        self.assert_nothing_escaped(ws, tmp_path)

    def test_messages_say_what_is_wrong(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        cases = {
            "../evil.py": "'..' segments are not allowed",
            "/etc/evil.py": "absolute paths are not allowed",
            "a\\b.py": "contains '\\\\'",
            "evil.txt": "must name a .py file",
            "ev\x00il.py": "NUL",
            "x" * 600 + ".py": "at most 512",
        }
        for path, message in cases.items():
            with pytest.raises(UnsafePathError, match=re.escape(message)):
                proj.write_card(path, make_source())

    def test_normal_names_work(self, ws: Workspace) -> None:
        proj = ws.create_project("My Project_2.v1")
        for path in ("a.py", "Data/load_images.py", "x/y/z/card-1.py", "_private/card.py", "a b/c d.py"):
            assert check_card_path(path) == path
        assert check_card_path("a.py/") == "a.py"
        assert proj.write_card("a b/c d.py", make_source()).success and proj.cards == {"make": "a b/c d.py"}

    @staticmethod
    def assert_nothing_escaped(ws: Workspace, tmp_path: Any) -> None:
        if ws.store.protocol == "file":
            found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
            assert all(f.startswith("root/alice/workspace/") for f in found), found
        else:
            assert all(p.startswith("alice/workspace/") for p in ws.store.list()), ws.store.list()


# --------------------------------------------------------------------------- concurrent saves


def _save_many(url: str, options: dict[str, Any], tag: str, count: int, barrier: Any) -> None:
    proj = Workspace(url, user="alice", **options).project("p")
    barrier.wait()
    for i in range(count):
        p = tr.Pipeline(f"{tag}-{i}")
        p.add("data_load", id=f"load_{tag}_{i}", source="sample", sample_name="iris")
        proj.save_pipeline(p)


class TestConcurrentSaves:
    def test_two_processes_never_corrupt_the_pipeline(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(2)
        count = 8
        url = ws.store.url
        procs = [
            ctx.Process(target=_save_many, args=(url, ws.store.options, tag, count, barrier)) for tag in ("a", "b")
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0, 0]
        final = proj.load_pipeline()  # parses: never a torn or interleaved file
        assert final.name in {f"{t}-{count - 1}" for t in ("a", "b")}
        versions = proj.history()
        assert len(versions) == 2 * count  # history keeps every save of both writers
        names = {proj.store.read_history(v)["name"] for v in versions}
        assert names == {f"{t}-{i}" for t in ("a", "b") for i in range(count)}
        if ws.store.protocol == "file":
            leftovers = [n for n in os.listdir(proj.store.root) if n.startswith(".tmp")]
            assert leftovers == []
