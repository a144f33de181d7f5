"""The canvas's run history (``runs`` / ``open_run`` messages), node durations and the ``ui`` document key."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.errors import ArtifactNotFoundError
from tensorrag.widget._canvas import Canvas
from tensorrag.widget._history import list_runs, run_status

from . import cards
from .test_canvas import wait_for

if TYPE_CHECKING:
    from pathlib import Path


def failing() -> tr.Pipeline:
    p = tr.Pipeline("hist")
    p.add(cards.w_source, id="src", n=4)
    p.add(cards.w_double, id="dbl", factor=3)
    p.add(cards.w_fail, id="bad", message="kaput")
    p.connect("src", "output", "dbl", "data")
    p.connect("src", "output", "bad", "data")
    return p


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def test_live_status_carries_start_and_end_of_each_node(store: str, wired: Any) -> None:
    c = Canvas(failing(), storage=store)
    wired(c)
    c.run()
    c.wait(30)
    nodes = c.status["nodes"]
    for nid in ("src", "dbl", "bad"):
        rec = nodes[nid]
        assert rec["started"] and rec["finished"], rec
        assert rec["started"] <= rec["finished"]  # ISO-8601 UTC strings sort by time
    # a cached node never ran in this run: it has an end but no start
    c.run()
    c.wait(30)
    assert c.status["nodes"]["src"]["status"] == "cached"
    assert c.status["nodes"]["src"]["started"] is None and c.status["nodes"]["src"]["finished"]


def test_runs_message_lists_past_runs_newest_first(store: str, wired: Any) -> None:
    c = Canvas(failing(), storage=store)
    w = wired(c)
    first = c.run().wait(30)
    c.wait(30)
    second = c.run().wait(30)
    c.wait(30)
    w.clear()
    w.command({"type": "runs"})
    [msg] = w.messages("runs")
    ids = [r["run_id"] for r in msg["runs"]]
    assert ids == [second.run_id, first.run_id]
    top = msg["runs"][0]
    assert top["status"] == "failed" and top["failed"] == ["bad"]
    assert top["started_at"] and top["nodes"]["dbl"] == "cached"


def test_open_run_shows_a_past_run_with_errors_previews_and_times(store: str, wired: Any) -> None:
    p = failing()
    c = Canvas(p, storage=store)
    w = wired(c)
    old = c.run().wait(30)
    c.wait(30)
    p.configure("dbl", factor=5)  # the next run differs
    c.run().wait(30)
    c.wait(30)
    assert c.status["run_id"] != old.run_id
    w.clear()
    w.command({"type": "open_run", "run_id": old.run_id})
    assert w.messages("opened_run") == [{"type": "opened_run", "run_id": old.run_id}]
    status = c.status
    assert status["run_id"] == old.run_id and status["state"] == "failed" and status["reopened"] is True
    assert status["nodes"]["dbl"]["status"] == "completed"
    assert status["nodes"]["dbl"]["started"] and status["nodes"]["dbl"]["finished"]
    assert status["nodes"]["bad"]["message"] == "ValueError: kaput"
    previews = c.previews
    assert previews["bad"]["error"]["type"] == "ValueError" and "kaput" in previews["bad"]["error"]["traceback"]
    assert previews["dbl"]["run_id"] == old.run_id
    assert previews["dbl"]["data"] == old.preview("dbl")  # the old run's output, not the newer one's


def test_open_run_of_an_unknown_run_says_which_exist(store: str, wired: Any) -> None:
    c = Canvas(failing(), storage=store)
    w = wired(c)
    run = c.run().wait(30)
    c.wait(30)
    w.clear()
    w.command({"type": "open_run", "run_id": "20000101T000000000000Z-000000"})
    [err] = w.messages("error")
    assert err["op"] == "open_run" and "No run" in err["message"] and run.run_id in err["message"]
    with pytest.raises(ArtifactNotFoundError):
        c.open_run("20000101T000000000000Z-000000")


def test_open_run_is_refused_while_a_run_goes_on(store: str, wired: Any) -> None:
    p = tr.Pipeline("busy")
    p.add(cards.w_source, id="src")
    p.add(cards.w_slow, id="slow", seconds=20)
    p.connect("src", "output", "slow", "data")
    c = Canvas(p, storage=store)
    wired(c)
    cards.RELEASE.clear()
    c.run()
    wait_for(lambda: c.status["nodes"].get("slow", {}).get("status") == "running", what="slow running")
    try:
        with pytest.raises(tr.errors.RunError, match="still going"):
            c.open_run("whatever")
    finally:
        cards.RELEASE.set()
        c.wait(30)


def test_an_unreadable_manifest_is_listed_not_fatal(tmp_path: Path) -> None:
    root = tr.storage.open_store(str(tmp_path / "s")).project("p", "u")
    root.write_run("20260101T000000000000Z-aaaaaa", {"run_id": "20260101T000000000000Z-aaaaaa", "status": "completed",
                                                      "nodes": {}})
    target = tmp_path / "s" / "u" / "workspace" / "p" / "runs" / "20260102T000000000000Z-bbbbbb.json"
    target.write_text("{not json", encoding="utf-8")
    runs = list_runs(root)
    assert [r["run_id"] for r in runs] == ["20260102T000000000000Z-bbbbbb", "20260101T000000000000Z-aaaaaa"]
    assert runs[0]["status"] == "unreadable" and runs[0]["error"]


def test_run_status_of_a_manifest_without_events() -> None:
    status = run_status({"run_id": "r", "status": "completed", "execution_time": 1.5,
                         "nodes": {"a": {"status": "completed", "timings": {"total": 0.25}}}})
    assert status["nodes"]["a"] == {"status": "completed", "message": "", "progress": None, "started": None,
                                    "finished": None, "seconds": 0.25}
    assert status["execution_time"] == 1.5 and status["reopened"] is True


# --------------------------------------------------------------------------- groups and collapsed nodes


def test_ui_key_of_a_canvas_edit_is_kept_and_saved(tmp_path: Path, wired: Any) -> None:
    p = failing()
    c = Canvas(p)
    w = wired(c)
    doc = copy.deepcopy(c.graph)
    doc["ui"] = {"groups": [{"id": "g1", "label": "Prep", "nodes": ["src", "dbl"], "collapsed": False}],
                 "collapsed": ["bad"]}
    w.edit(doc)
    assert p.to_dict()["ui"] == doc["ui"]
    assert c.graph["ui"] == doc["ui"]
    assert not [m for m in w.messages("error")]
    # a second canvas of the same pipeline redraws with the groups
    other = Canvas(p)
    wired(other)
    assert other.graph["ui"] == doc["ui"]
    doc2 = copy.deepcopy(c.graph)
    doc2["ui"]["groups"][0]["collapsed"] = True
    w.edit(doc2)
    assert other.graph["ui"]["groups"][0]["collapsed"] is True
    # the key survives a save and a load, and does not change what runs (the cache key)
    path = p.save(str(tmp_path / "p.json"))
    assert tr.Pipeline.load(path).to_dict()["ui"] == doc2["ui"]


def test_ui_key_does_not_change_cache_keys(store: str) -> None:
    p = failing()
    first = p.run(storage=store, echo=False)
    p2 = tr.Pipeline.from_dict({**p.to_dict(), "ui": {"collapsed": ["src"]}}, registry=p.registry)
    second = p2.run(storage=store, echo=False)
    assert first.status["dbl"] == "completed" and second.status["dbl"] == "cached"
