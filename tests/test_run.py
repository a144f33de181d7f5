"""``Run``: the handle of one execution — status, outputs, errors, manifest and storage layout."""

from __future__ import annotations

import re
import time
import uuid

import pytest

import tensorrag as tr
from tensorrag.errors import NodeFailedError, RunError
from tensorrag.executors import LocalExecutor
from tensorrag.run import new_run_id
from tensorrag.storage import open_store
from tests.executors import cards as C
from tests.executors.cards import settle

RUN_ID = re.compile(r"^\d{8}T\d{6}\d{6}Z-[0-9a-f]{6}$")


@pytest.fixture(autouse=True)
def _settle():
    yield
    settle()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("TENSORRAG_USER", "DEFAULT_USER_ID", "TENSORRAG_PROJECT", "TENSORRAG_STORAGE", "STORAGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S3_ENABLED", "false")


def mixed() -> tr.Pipeline:
    """src -> dbl, src -> bad -> after; types (multi-output)."""
    p = tr.Pipeline("mixed")
    p.add(C.t_source, id="src", n=3)
    p.add(C.t_double, id="dbl")
    p.add(C.t_fail, id="bad", message="broken on purpose")
    p.add(C.t_double, id="after")
    p.add(C.t_types, id="types")
    p.connect("src", "dbl")
    p.connect("src", "bad")
    p.connect("bad", "after")
    return p


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    storage = tmp_path_factory.mktemp("mixed")
    run = mixed().run(storage=storage, executor=LocalExecutor(max_workers=4))
    return run


def test_status_state_and_ok(mixed_run):
    assert mixed_run.status == {
        "src": "completed",
        "dbl": "completed",
        "bad": "failed",
        "after": "skipped",
        "types": "completed",
    }
    assert mixed_run.state == "failed"
    assert not mixed_run.ok
    assert mixed_run.done
    assert mixed_run.execution_time is not None and mixed_run.execution_time > 0


def test_ok_run(tmp_path):
    p = tr.Pipeline("fine")
    p.add(C.t_source, id="a")
    run = p.run(storage=tmp_path)
    assert run.ok
    assert run.state == "completed"
    assert run.raise_for_status() is run


def test_passing_a_project_store_back_does_not_nest_another_project(tmp_path):
    p = tr.Pipeline("again")
    p.add(C.t_source, id="a")
    first = p.run(storage=tmp_path)
    second = p.run(storage=first.store)  # already {user}/workspace/{project}
    assert second.store == first.store
    assert second.status == {"a": "cached"}


def test_output_loads_values(mixed_run):
    assert mixed_run.output("src", "output") == {"values": [0, 1, 2]}
    assert mixed_run.output("src") == {"values": [0, 1, 2]}  # the only output port
    assert mixed_run.output("dbl") == {"values": [0, 2, 4]}
    assert mixed_run.output("types", "doc")["s"] == "é"
    assert mixed_run.output("types", "chart") == b"\x89PNG fake chart"  # extras load too


def test_output_errors(mixed_run):
    with pytest.raises(RunError, match="Did you mean 'dbl'"):
        mixed_run.output("dbll")
    with pytest.raises(RunError, match="no node 'zzz'"):
        mixed_run.output("zzz")
    with pytest.raises(RunError, match="no output 'nope'"):
        mixed_run.output("src", "nope")
    with pytest.raises(RunError, match="name the one you want"):
        mixed_run.output("types")  # four output ports: the port is required
    with pytest.raises(NodeFailedError, match="broken on purpose"):
        mixed_run.output("bad")
    with pytest.raises(NodeFailedError, match="skipped"):
        mixed_run.output("after")
    assert issubclass(NodeFailedError, RunError)
    for method in (mixed_run.logs, mixed_run.preview, mixed_run.error, mixed_run.outputs, mixed_run.timings):
        with pytest.raises(RunError):
            method("dbll")


def test_outputs_refs(mixed_run):
    refs = mixed_run.outputs("dbl")
    assert set(refs) == {"output"}
    ref = refs["output"]
    assert ref["type"] == "json"
    assert ref["uri"].startswith(mixed_run.store.url + "/artifacts/")
    assert re.fullmatch(r"[0-9a-f]{64}", ref["sha256"])
    assert mixed_run.outputs("bad") == {}


def test_preview_logs_error_timings(mixed_run):
    assert mixed_run.preview("types")["shape"] == {"rows": 3, "cols": 2}
    assert mixed_run.preview("bad") is None
    assert mixed_run.logs("src") == ""
    err = mixed_run.error("bad")
    assert err["type"] == "ValueError"
    assert err["message"] == "broken on purpose"
    assert "Traceback" in err["traceback"]
    assert mixed_run.error("dbl") is None
    assert mixed_run.error("after") is None  # skipped, not failed
    timings = mixed_run.timings("dbl")
    assert {"execute", "preview", "total"} <= set(timings)
    assert timings["total"] >= timings["execute"] >= 0


def test_events_is_a_copy(mixed_run):
    events = mixed_run.events
    events.clear()
    assert mixed_run.events


def test_raise_for_status_names_the_failing_node(mixed_run):
    with pytest.raises(NodeFailedError, match=r"'bad'.*ValueError: broken on purpose"):
        mixed_run.raise_for_status()


def test_run_id_format():
    a, b = new_run_id(), new_run_id()
    assert RUN_ID.fullmatch(a), a
    assert a != b
    assert a[:8].isdigit()


def test_run_id_of_a_run(mixed_run):
    assert RUN_ID.fullmatch(mixed_run.run_id), mixed_run.run_id
    assert mixed_run.run_id in repr(mixed_run)


def test_manifest_and_written_run_file(mixed_run):
    manifest = mixed_run.manifest()
    saved = mixed_run.store.read_run(mixed_run.run_id)
    assert saved["run_id"] == manifest["run_id"] == mixed_run.run_id
    assert saved["status"] == manifest["status"] == "failed"
    for doc in (manifest, saved):
        assert {nid: n["status"] for nid, n in doc["nodes"].items()} == mixed_run.status
        assert doc["nodes"]["dbl"]["outputs"]["output"]["uri"] == mixed_run.outputs("dbl")["output"]["uri"]
        assert doc["nodes"]["dbl"]["outputs"]["output"]["sha256"] == mixed_run.outputs("dbl")["output"]["sha256"]
        assert doc["nodes"]["bad"]["error"]["type"] == "ValueError"
        assert doc["graph"] == mixed().to_dict()
        assert doc["events"][-1]["type"] == "pipeline_completion"
    assert mixed_run.run_id in mixed_run.store.list_runs()


def test_manifest_graph_is_the_graph_that_ran(tmp_path):
    p = tr.Pipeline("snapshot")
    p.add(C.t_sleep, id="s", seconds=0.3, tag="s")
    p.add(C.t_double, id="b", factor=2)
    p.connect("s", "b")
    before = p.to_dict()
    run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=1))
    p.configure("b", factor=99)  # edited while it runs
    run.wait(10)
    assert run.output("b") == {"values": [0.6]}  # ran with the old config
    assert run.manifest()["graph"] == before
    assert run.store.read_run(run.run_id)["graph"] == before


def test_pipeline_document_written_to_the_project(tmp_path):
    p = mixed()
    run = p.run(storage=tmp_path)
    assert run.store.read_pipeline() == p.to_dict()
    assert (tmp_path / "default" / "workspace" / "mixed" / "_pipeline.json").is_file()
    # an unchanged pipeline is not saved again as a new version
    history = run.store.pipeline_history()
    p.run(storage=tmp_path)
    assert run.store.pipeline_history() == history
    p.configure("src", n=4)
    p.run(storage=tmp_path)
    assert len(run.store.pipeline_history()) == len(history) + 1
    assert run.store.read_pipeline()["nodes"][0]["data"]["config"]["n"] == 4


def test_storage_layout_user_and_project_arguments(tmp_path):
    p = tr.Pipeline("layout")
    p.add(C.t_source, id="a")
    run = p.run(storage=tmp_path, user="alice", project="proj1")
    root = tmp_path / "alice" / "workspace" / "proj1"
    assert run.store.url == "file://" + str(root)
    assert (root / "_pipeline.json").is_file()
    assert (root / "runs" / f"{run.run_id}.json").is_file()
    uri = run.outputs("a")["output"]["uri"]
    assert uri.startswith("file://" + str(root / "artifacts") + "/")
    key = run.manifest()["nodes"]["a"]["key"]
    assert (root / "artifacts" / key / "_meta.json").is_file()
    # the preview is folded into _meta.json (no separate file per node); read_preview reads it from there
    assert run.store.read_preview(key) == {"output_type": run.manifest()["nodes"]["a"]["output_type"],
                                           "preview": run.preview("a")}


def test_storage_layout_from_the_environment(tmp_path, monkeypatch):
    p = tr.Pipeline("envlayout")
    p.add(C.t_source, id="a")
    monkeypatch.setenv("DEFAULT_USER_ID", "carol")
    run = p.run(storage=tmp_path)
    assert (tmp_path / "carol" / "workspace" / "envlayout" / "runs" / f"{run.run_id}.json").is_file()
    monkeypatch.setenv("TENSORRAG_USER", "bob")  # wins over DEFAULT_USER_ID
    monkeypatch.setenv("TENSORRAG_PROJECT", "envproj")
    run = p.run(storage=tmp_path)
    assert (tmp_path / "bob" / "workspace" / "envproj" / "runs" / f"{run.run_id}.json").is_file()
    monkeypatch.setenv("TENSORRAG_STORAGE", str(tmp_path / "from-env"))
    run = p.run()
    assert (tmp_path / "from-env" / "bob" / "workspace" / "envproj" / "_pipeline.json").is_file()
    assert run.status == {"a": "completed"}  # another store: nothing cached there


def test_default_storage_is_dot_tensorrag_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tr.Pipeline("cwd")
    p.add(C.t_source, id="a")
    p.run()
    assert (tmp_path / ".tensorrag" / "default" / "workspace" / "cwd" / "_pipeline.json").is_file()


def test_memory_storage_and_a_store_object(tmp_path):
    p = tr.Pipeline("mem")
    p.add(C.t_source, id="a")
    url = f"memory://run-{uuid.uuid4().hex}"
    run = p.run(storage=url)
    assert run.ok
    assert run.store.url == f"{url}/default/workspace/mem"
    again = p.run(storage=open_store(url))
    assert again.status == {"a": "cached"}


@pytest.mark.parametrize("bad", [{"user": "../evil"}, {"project": "a/b"}, {"project": ".."}])
def test_unsafe_user_or_project_is_refused(tmp_path, bad):
    p = tr.Pipeline("unsafe")
    p.add(C.t_source, id="a")
    with pytest.raises(tr.UnsafePathError):
        p.run(storage=tmp_path, **bad)
    assert not (tmp_path / "evil").exists()


def test_wait_false_status_while_running(tmp_path):
    p = tr.Pipeline("bg")
    p.add(C.t_sleep, id="s", seconds=0.3, tag="s")
    run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=1))
    deadline = time.monotonic() + 5
    while run.status["s"] != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.state == "running"
    assert run.execution_time is None
    assert not run.done
    with pytest.raises(NodeFailedError, match="running"):
        run.output("s")
    assert run.wait(10).ok
    assert run.output("s") == {"values": [0.3]}


def test_summary_lists_every_node(mixed_run):
    text = mixed_run.summary()
    for nid, status in mixed_run.status.items():
        assert re.search(rf"^{re.escape(nid)}\s+{status}\b", text, re.M), text


PREVIEWS: list[str] = []


class CountedPreview(tr.BaseCard):
    """Counts how often its preview is made."""

    card_type = "t_counted_preview"
    description = "a json output whose preview is counted"
    output_schema = {"out": "json"}
    output_view_type = "metrics"

    def execute(self, config, inputs, storage):
        return {"out": storage.save_json("", "", "out", {"r2": 0.5})}

    def get_output_preview(self, outputs, storage):
        PREVIEWS.append(outputs["out"])
        return {"metrics": storage.load_json(outputs["out"])}


def test_a_memory_run_makes_a_preview_when_asked_and_the_same_one_as_on_disk(tmp_path):
    p = tr.Pipeline("lazy-preview")
    p.add(CountedPreview, id="m")
    PREVIEWS.clear()
    on_disk = p.run(storage=tmp_path, progress=False)
    assert len(PREVIEWS) == 1  # persisted stores make it with the node (it goes in the cache entry)
    PREVIEWS.clear()
    in_memory = p.run(storage=f"memory://lazy-{uuid.uuid4().hex}", progress=False)
    assert in_memory.ok and PREVIEWS == []  # nothing asked yet: nothing made
    assert in_memory.preview("m") == on_disk.preview("m") == {"metrics": {"r2": 0.5}}
    assert in_memory.preview("m") == {"metrics": {"r2": 0.5}} and len(PREVIEWS) == 1  # made once, then kept


def test_running_manifests_follow_the_nodes_and_share_one_heartbeat_thread(tmp_path):
    import threading

    p = tr.Pipeline("watched")
    p.add(C.t_source, id="src")
    p.add(C.t_wait_go, id="wait")
    p2 = tr.Pipeline("watched-too")
    p2.add(C.t_wait_go, id="wait")
    first = p.run(storage=tmp_path / "a", wait=False, progress=False)
    second = p2.run(storage=tmp_path / "b", wait=False, progress=False)
    store = first.store
    deadline = time.monotonic() + 10
    while store.read_run(first.run_id)["nodes"]["src"]["status"] != "completed":  # rewritten as nodes change
        assert time.monotonic() < deadline, "the running manifest never showed the finished node"
        time.sleep(0.1)
    assert store.read_run(first.run_id)["status"] == "running"
    beats = [t for t in threading.enumerate() if t.name.startswith("tensorrag-heartbeat")]
    assert len(beats) == 1  # two runs, one thread
    C.GO.set()
    first.wait(10)
    second.wait(10)
    assert store.read_run(first.run_id)["status"] == "completed"
    assert second.store.read_run(second.run_id)["status"] == "completed"
