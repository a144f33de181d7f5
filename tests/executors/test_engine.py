"""The engine: events, caching, resume, targets, validation and cancellation."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import pytest

import tensorrag as tr
from tensorrag.errors import PipelineValidationError
from tensorrag.executors import LocalExecutor
from tensorrag.executors.engine import TERMINAL, cache_key
from tensorrag.storage import open_store
from tensorrag.storage.codecs import sha256
from tests.executors import cards as C
from tests.executors.cards import read_marks, settle

# design.md §4, extended with the run id (a listener may hear events before it holds the Run).
EVENT_KEYS = {
    "node_status": {"type", "node_id", "status", "message", "timestamp", "run_id"},
    "log": {"type", "node_id", "text", "timestamp", "run_id"},
    "progress": {"type", "node_id", "current", "total", "timestamp", "run_id"},
    "pipeline_completion": {"type", "status", "execution_time", "timestamp", "run_id"},
}


@pytest.fixture(autouse=True)
def _settle():
    yield
    settle()


@pytest.fixture
def marks(tmp_path):
    return tmp_path / "marks.txt"


def statuses_by_node(events: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ev in events:
        if ev["type"] == "node_status":
            out.setdefault(ev["node_id"], []).append(ev["status"])
    return out


def chain_with_branch(marks) -> tr.Pipeline:
    """a -> b -> c, and a -> d; every card marks its executions."""
    p = tr.Pipeline("cachey")
    p.add(C.t_source, id="a", n=3, mark_file=str(marks))
    p.add(C.t_double, id="b", mark_file=str(marks), tag="b")
    p.add(C.t_double, id="c", mark_file=str(marks), tag="c")
    p.add(C.t_double, id="d", mark_file=str(marks), tag="d")
    p.connect("a", "b")
    p.connect("b", "c")
    p.connect("a", "d")
    return p


def run_local(p: tr.Pipeline, storage, **kwargs) -> tr.Run:
    kwargs.setdefault("executor", LocalExecutor(max_workers=4))
    return p.run(storage=storage, **kwargs)


# --------------------------------------------------------------------------- events


def test_every_node_goes_pending_running_terminal(tmp_path):
    p = tr.Pipeline("events")
    p.add(C.t_source, id="a")
    p.add(C.t_double, id="b")
    p.add(C.t_fail, id="bad")
    p.add(C.t_double, id="after_bad")
    p.connect("a", "b")
    p.connect("a", "bad")
    p.connect("bad", "after_bad")
    run = run_local(p, tmp_path)
    seq = statuses_by_node(run.events)
    assert seq == {
        "a": ["pending", "running", "completed"],
        "b": ["pending", "running", "completed"],
        "bad": ["pending", "running", "failed"],
        "after_bad": ["pending", "skipped"],
    }
    # all nodes are announced as pending before anything runs
    kinds = [e.get("status") for e in run.events if e["type"] == "node_status"]
    assert kinds[:4] == ["pending"] * 4
    assert run.events[-1]["type"] == "pipeline_completion"
    assert sum(e["type"] == "pipeline_completion" for e in run.events) == 1


def test_cached_nodes_go_pending_then_cached(tmp_path):
    p = tr.Pipeline("events-cached")
    p.add(C.t_source, id="a")
    p.add(C.t_double, id="b")
    p.connect("a", "b")
    run_local(p, tmp_path)
    second = run_local(p, tmp_path)
    assert statuses_by_node(second.events) == {"a": ["pending", "cached"], "b": ["pending", "cached"]}


def test_event_shapes_and_utc_timestamps(tmp_path):
    p = tr.Pipeline("shapes")
    p.add(C.t_talk, id="talk")
    p.add(C.t_progress, id="prog", steps=2)
    run = run_local(p, tmp_path)
    seen = set()
    stamps = []
    for ev in run.events:
        assert set(ev) == EVENT_KEYS[ev["type"]], ev
        seen.add(ev["type"])
        ts = ev["timestamp"]
        assert ts.endswith(("Z", "+00:00")), ts
        parsed = datetime.fromisoformat(ts)
        assert parsed.utcoffset() == timedelta(0)
        stamps.append(parsed)
    assert seen == set(EVENT_KEYS)
    assert stamps == sorted(stamps)
    last = run.events[-1]
    assert last["status"] == "completed"
    assert isinstance(last["execution_time"], float) and last["execution_time"] >= 0
    for ev in run.events:
        if ev["type"] == "node_status":
            assert ev["status"] in {"pending", "running", "completed", "failed", "skipped", "cached"}
            assert isinstance(ev["message"], str)


def test_failed_event_message_names_the_error(tmp_path):
    p = tr.Pipeline("msg")
    p.add(C.t_fail_root, id="bad", message="oh no")
    run = run_local(p, tmp_path)
    failed = [e for e in run.events if e["type"] == "node_status" and e["status"] == "failed"]
    assert [e["message"] for e in failed] == ["RuntimeError: oh no"]


def test_on_event_callable_and_list(tmp_path):
    p = tr.Pipeline("listeners")
    p.add(C.t_source, id="a")
    one: list[dict] = []
    run = run_local(p, tmp_path, on_event=one.append)
    assert one == run.events
    first: list[dict] = []
    second: list[dict] = []
    run2 = run_local(p, tmp_path, on_event=[first.append, second.append], cache=False)
    assert first == second == run2.events
    assert first[-1]["type"] == "pipeline_completion"


def test_listener_that_raises_does_not_break_the_run(tmp_path):
    p = tr.Pipeline("bad-listener")
    p.add(C.t_source, id="a")
    p.add(C.t_double, id="b")
    p.connect("a", "b")
    calls: list[str] = []

    def broken(event):
        calls.append(event["type"])
        raise RuntimeError("listener bug")

    good: list[dict] = []
    run = run_local(p, tmp_path, on_event=[broken, good.append])
    assert run.ok
    assert run.status == {"a": "completed", "b": "completed"}
    assert len(calls) == len(run.events)  # it kept being called
    assert good == run.events  # and the next listener saw everything


def test_listeners_are_never_called_concurrently_and_hear_events_in_order(tmp_path):
    p = tr.Pipeline("one-at-a-time")
    for i in range(6):
        p.add(C.t_sleep, id=f"s{i}", seconds=0.02, tag=f"s{i}")
    import threading

    inside = threading.Lock()
    overlaps: list[dict] = []
    got: list[dict] = []

    def listener(event):
        if not inside.acquire(blocking=False):  # another call is still running
            overlaps.append(event)
            return
        try:
            time.sleep(0.001)  # widen the window a second caller would hit
            got.append(event)
        finally:
            inside.release()

    run = run_local(p, tmp_path, on_event=listener)
    assert run.ok
    assert overlaps == []
    assert got == run.events
    stamps = [e["timestamp"] for e in got]
    assert stamps == sorted(stamps)  # in the order they happened


# --------------------------------------------------------------------------- caching


def test_second_run_is_all_cached_and_nothing_executes(tmp_path, marks):
    p = chain_with_branch(marks)
    first = run_local(p, tmp_path)
    assert first.ok
    assert sorted(read_marks(marks)) == ["t_double_b", "t_double_c", "t_double_d", "t_source"]
    second = run_local(p, tmp_path)
    assert second.ok
    assert set(second.status.values()) == {"cached"}
    assert len(read_marks(marks)) == 4  # no card function ran again
    assert second.output("c") == first.output("c")
    assert second.outputs("c") == first.outputs("c")
    assert second.preview("c") == first.preview("c")


def test_cached_node_keeps_logs(tmp_path):
    p = tr.Pipeline("cached-logs")
    p.add(C.t_talk, id="talk", text="remember me")
    first = run_local(p, tmp_path)
    second = run_local(p, tmp_path)
    assert second.status == {"talk": "cached"}
    assert "remember me" in second.logs("talk")
    assert second.logs("talk") == first.logs("talk")


def test_config_change_reruns_the_node_and_its_descendants_only(tmp_path, marks):
    p = chain_with_branch(marks)
    run_local(p, tmp_path)
    marks.unlink()
    p.configure("b", factor=5)
    run = run_local(p, tmp_path)
    assert run.status == {"a": "cached", "b": "completed", "c": "completed", "d": "cached"}
    assert sorted(read_marks(marks)) == ["t_double_b", "t_double_c"]
    assert run.output("c") == {"values": [0, 10, 20]}


def test_identical_output_bytes_leave_downstream_cached(tmp_path, marks):
    p = tr.Pipeline("content-addressed")
    p.add(C.t_source, id="a", n=3, mark_file=str(marks))
    p.add(C.t_nonempty, id="e", mark_file=str(marks))
    p.add(C.t_flag_fail, id="z", mark_file=str(marks))
    p.connect("a", "e")
    p.connect("e", "z")
    first = run_local(p, tmp_path)
    assert first.ok
    marks.unlink()
    p.configure("a", n=5)
    run = run_local(p, tmp_path)
    assert run.status == {"a": "completed", "e": "completed", "z": "cached"}
    assert sorted(read_marks(marks)) == ["t_nonempty", "t_source"]
    assert run.outputs("e")["output"]["sha256"] == first.outputs("e")["output"]["sha256"]


def test_deleted_artifact_forces_a_recompute(tmp_path, marks):
    p = chain_with_branch(marks)
    first = run_local(p, tmp_path)
    marks.unlink()
    uri = first.outputs("b")["output"]["uri"]
    first.store.delete(uri)
    run = run_local(p, tmp_path)
    # b recomputes; its bytes are the same, so c (keyed by content) stays cached
    assert run.status == {"a": "cached", "b": "completed", "c": "cached", "d": "cached"}
    assert read_marks(marks) == ["t_double_b"]
    assert run.output("b") == {"values": [0, 2, 4]}
    new_uri = run.outputs("b")["output"]["uri"]
    assert new_uri != uri and run.store.exists(new_uri)  # a new attempt folder; old files are never rewritten


def test_deleted_cache_entry_forces_a_recompute(tmp_path, marks):
    p = tr.Pipeline("entry")
    p.add(C.t_source, id="a", mark_file=str(marks))
    first = run_local(p, tmp_path)
    key = first.manifest()["nodes"]["a"]["key"]
    first.store.delete(f"artifacts/{key}/_meta.json")
    run = run_local(p, tmp_path)
    assert run.status == {"a": "completed"}
    assert read_marks(marks) == ["t_source", "t_source"]


def test_cache_false_executes_everything(tmp_path, marks):
    p = chain_with_branch(marks)
    run_local(p, tmp_path)
    marks.unlink()
    run = run_local(p, tmp_path, cache=False)
    assert set(run.status.values()) == {"completed"}
    assert sorted(read_marks(marks)) == ["t_double_b", "t_double_c", "t_double_d", "t_source"]
    # the earlier cache entries are still intact
    marks.unlink()
    again = run_local(p, tmp_path)
    assert set(again.status.values()) == {"cached"}
    assert read_marks(marks) == []


def test_cache_key_depends_on_card_config_and_input_content():
    card = C.t_double.card_class
    ref = {"type": "json", "uri": "file:///x/a.json", "sha256": "abc"}
    base = cache_key(card, {"factor": 2}, {"data": ref})
    assert base == cache_key(card, {"factor": 2}, {"data": dict(ref)})
    assert base == cache_key(card, {"factor": 2}, {"data": {**ref, "uri": "file:///elsewhere.json"}})
    assert base != cache_key(card, {"factor": 3}, {"data": ref})
    assert base != cache_key(card, {"factor": 2}, {"data": {**ref, "sha256": "abd"}})
    assert base != cache_key(C.t_add.card_class, {"factor": 2}, {"data": ref})


def test_resume_reexecutes_only_failed_and_skipped_nodes(tmp_path, marks):
    flag = tmp_path / "fail.flag"
    flag.write_text("fail")
    p = tr.Pipeline("resume")
    p.add(C.t_source, id="a", mark_file=str(marks))
    p.add(C.t_flag_fail, id="f", flag=str(flag), mark_file=str(marks))
    p.add(C.t_double, id="g", mark_file=str(marks), tag="g")
    p.add(C.t_double, id="h", mark_file=str(marks), tag="h")
    p.connect("a", "f")
    p.connect("f", "g")
    p.connect("a", "h")
    run = run_local(p, tmp_path)
    assert run.status == {"a": "completed", "f": "failed", "g": "skipped", "h": "completed"}
    marks.unlink()
    flag.unlink()
    resumed = run.resume()
    assert resumed.run_id != run.run_id
    assert resumed.status == {"a": "cached", "f": "completed", "g": "completed", "h": "cached"}
    assert sorted(read_marks(marks)) == ["t_double_g", "t_flag_fail"]
    assert resumed.ok
    assert resumed.output("g") == {"values": [0, 2, 4]}


def test_targets_run_only_the_target_and_its_ancestors(tmp_path, marks):
    p = chain_with_branch(marks)
    run = run_local(p, tmp_path, targets=["b"])
    assert run.status == {"a": "completed", "b": "completed"}
    assert run.ok
    assert sorted(read_marks(marks)) == ["t_double_b", "t_source"]
    with pytest.raises(tr.RunError):
        run.output("c")
    nodes = [e.get("node_id") for e in run.events if e["type"] == "node_status"]
    assert set(nodes) == {"a", "b"}


def test_unknown_target_is_an_error(tmp_path):
    p = tr.Pipeline("bad-target")
    p.add(C.t_source, id="a")
    with pytest.raises(tr.UnknownNodeError):
        run_local(p, tmp_path, targets=["nope"])


def test_invalid_pipeline_raises_before_anything_runs(tmp_path, marks):
    p = tr.Pipeline("invalid")
    p.add(C.t_source, id="a", mark_file=str(marks))
    p.add(C.t_double, id="dangling", mark_file=str(marks))  # required input not connected
    events: list[dict] = []
    with pytest.raises(PipelineValidationError) as info:
        run_local(p, tmp_path, on_event=events.append)
    assert any(pr["node_id"] == "dangling" for pr in info.value.problems)
    assert "dangling" in str(info.value)
    assert read_marks(marks) == []
    assert events == []
    assert open_store(tmp_path).project("invalid").list_runs() == []


def test_partial_run_whose_unselected_part_is_invalid_still_runs(tmp_path, marks):
    p = tr.Pipeline("partial")
    p.add(C.t_source, id="a", mark_file=str(marks))
    p.add(C.t_double, id="b", mark_file=str(marks), tag="b")
    p.add(C.t_double, id="dangling", mark_file=str(marks), tag="dangling")
    p.connect("a", "b")
    run = run_local(p, tmp_path, targets=["b"])
    assert run.ok
    assert run.status == {"a": "completed", "b": "completed"}
    assert sorted(read_marks(marks)) == ["t_double_b", "t_source"]


def test_full_run_rejects_what_validate_rejects(tmp_path):
    base = tr.Pipeline("ghost")
    base.add(C.t_source, id="a")
    doc = base.to_dict()
    doc["edges"].append(
        {
            "id": "e-ghost",
            "source": "a",
            "target": "ghost",
            "sourceHandle": "output",
            "targetHandle": "data",
            "data": {"source_output": "output", "target_input": "data"},
        }
    )
    p = tr.Pipeline.from_dict(doc, registry=base.registry)
    with pytest.raises(PipelineValidationError):
        p.validate()
    with pytest.raises(PipelineValidationError):
        run_local(p, tmp_path)


def test_identical_nodes_running_at_once_keep_their_artifacts_consistent(tmp_path):
    p = tr.Pipeline("same-key")
    p.add(C.NodeStampCard, id="first")
    p.add(C.NodeStampCard, id="second")
    run = run_local(p, tmp_path, executor=LocalExecutor(max_workers=2))
    assert run.ok
    for nid in ("first", "second"):
        ref = run.outputs(nid)["out"]
        assert ref["sha256"] == sha256(run.store.read_bytes(ref["uri"])), f"{nid}'s artifact was overwritten"


def test_identical_nodes_run_one_after_another_share_the_cache(tmp_path):
    p = tr.Pipeline("same-key-serial")
    p.add(C.NodeStampCard, id="first", seconds=0.0)
    p.add(C.NodeStampCard, id="second", seconds=0.0)
    run = run_local(p, tmp_path, executor=LocalExecutor(max_workers=1))
    assert run.status == {"first": "completed", "second": "cached"}
    assert run.output("second", "out") == {"made_by": "first"}


# --------------------------------------------------------------------------- cancellation


def test_cancel_ends_the_run_with_every_node_terminal(tmp_path):
    p = tr.Pipeline("cancel")
    p.add(C.t_sleep, id="s1", seconds=5.0, tag="s1")
    p.add(C.t_sleep_after, id="s2", seconds=5.0, tag="s2")
    p.add(C.t_sleep_after, id="s3", seconds=5.0, tag="s3")
    p.connect("s1", "s2")
    p.connect("s2", "s3")
    run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=2))
    deadline = time.monotonic() + 5
    while run.status.get("s1") != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not run.done
    t0 = time.perf_counter()
    run.cancel()
    run.wait(10)
    assert time.perf_counter() - t0 < 2.0
    assert run.state == "cancelled"
    assert run.done
    assert not run.ok
    assert all(s in TERMINAL for s in run.status.values()), run.status
    assert run.status["s1"] == "failed"
    assert run.status["s2"] == run.status["s3"] == "skipped"
    last = run.events[-1]
    assert last["type"] == "pipeline_completion"
    assert last["status"] == "cancelled"
    assert run.store.read_run(run.run_id)["status"] == "cancelled"


def test_cancel_after_the_run_ended_changes_nothing(tmp_path):
    p = tr.Pipeline("cancel-late")
    p.add(C.t_source, id="a")
    run = run_local(p, tmp_path)
    run.cancel()
    assert run.state == "completed"
    assert run.ok


def test_wait_false_then_wait(tmp_path):
    p = tr.Pipeline("background")
    p.add(C.t_sleep, id="s", seconds=0.2, tag="s")
    run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=1))
    assert not run.done
    assert not run.ok
    with pytest.raises(TimeoutError):
        run.wait(0.01)
    assert run.wait(10) is run
    assert run.done and run.ok
    assert run.status == {"s": "completed"}
    assert run.store.read_run(run.run_id)["status"] == "completed"


class Grabby(tr.BaseCard):
    """Changes its own config in place (the point of the tests below)."""

    card_type = "t_grabby"
    config_schema = {"options": {"type": "object", "default": {"seen": 0}}}
    output_schema = {"output": "json"}

    def execute(self, config, inputs, storage):
        config["options"]["seen"] += 1
        return {"output": storage.save_json("", "", "output", {"seen": config["options"]["seen"]})}


def test_a_card_changing_its_config_in_place_does_not_change_the_next_run():
    # Plans are kept between runs of an unchanged pipeline; the config a task gets must still be its own.
    p = tr.Pipeline("grabby")
    p.add(Grabby, id="g")
    store = f"memory://grabby-{uuid.uuid4().hex}"
    first = p.run(storage=store, cache=False, progress=False)
    second = p.run(storage=store, cache=False, progress=False)
    assert first.output("g") == second.output("g") == {"seen": 1}
    assert p.nodes["g"].resolved_config() == {"options": {"seen": 0}}


def test_an_edit_between_runs_is_planned():
    p = tr.Pipeline("edits")
    p.add(Grabby, id="g", options={"seen": 5})
    store = f"memory://edits-{uuid.uuid4().hex}"
    assert p.run(storage=store, progress=False).output("g") == {"seen": 6}
    p.configure("g", options={"seen": 10})
    assert p.run(storage=store, progress=False).output("g") == {"seen": 11}
