"""The in-process hot path keeps less per node: entries on memory:// stay dicts, records have no __dict__."""

from __future__ import annotations

import json
import uuid

import tensorrag as tr
from tensorrag.executors import LocalExecutor
from tensorrag.executors.state import NodeRecord
from tensorrag.storage import open_store
from tensorrag.storage.integrity import abandon


@tr.card
def one() -> dict:
    return {"n": 1}


@tr.card
def inc(x: dict) -> dict:
    return {"n": x["n"] + 1}


def test_a_memory_commit_keeps_the_entry_dict_and_makes_its_bytes_when_read():
    store = open_store(f"memory://hot-{uuid.uuid4().hex}").project("p")
    entry = {"attempt": "k1-a", "outputs": {}, "extras": {}, "preview": None}
    assert store.commit_entry("k1", entry, attempt="k1-a")
    kept = store._backend.kept("artifacts/k1/_meta.json")  # type: ignore[attr-defined]
    assert kept is not None and kept[0] is entry  # neither encoded nor walked into a copy
    assert store.read_entry("k1") == entry
    assert json.loads(store.read_bytes("artifacts/k1/_meta.json")) == entry


def test_a_memory_commit_of_an_abandoned_attempt_writes_nothing():
    store = open_store(f"memory://hot-{uuid.uuid4().hex}").project("p")
    abandon(store, "k2-a")
    assert not store.commit_entry("k2", {"attempt": "k2-a", "outputs": {}, "extras": {}}, attempt="k2-a")
    assert store.read_entry("k2") is None
    assert not store.exists("artifacts/k2/_meta.json")


def test_node_records_keep_no_instance_dict():
    rec = NodeRecord("n", "card")
    assert not hasattr(rec, "__dict__")  # a 10,000-node run keeps 10,000 records
    rec.status = "completed"
    assert rec.to_dict()["status"] == "completed"


def test_a_chain_on_memory_is_cached_on_the_second_run_with_the_same_values():
    p = tr.Pipeline("hot")
    p.add(one, id="a")
    p.add(inc, id="b")
    p.connect("a", "b")
    url = f"memory://hot-{uuid.uuid4().hex}"
    first = p.run(storage=url, executor=LocalExecutor(1), progress=False)
    second = p.run(storage=url, executor=LocalExecutor(1), progress=False)
    assert first.status == {"a": "completed", "b": "completed"}
    assert second.status == {"a": "cached", "b": "cached"}
    assert second.output("b") == {"n": 2}
