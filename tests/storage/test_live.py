"""memory:// stores: objects kept unencoded, shared by one name, freed with their last store or run."""

from __future__ import annotations

import gc
import json
import uuid
import weakref

import pandas as pd
import pytest

import tensorrag as tr
from tensorrag.errors import StorageError
from tensorrag.executors import LocalExecutor
from tensorrag.storage import open_store


def url() -> str:
    return f"memory://live-{uuid.uuid4().hex}"


@tr.card
def rows(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n)}, index=range(10, 10 + n))


@tr.card
def bump(df: pd.DataFrame) -> pd.DataFrame:
    df["a"] = df["a"] + 100  # changes its own input in place
    return df


def test_a_run_keeps_objects_and_makes_bytes_only_when_asked():
    store = open_store(url())
    ref = store.keep("k", "out", {"x": float("nan"), 1: (1, 2)}, "json")
    assert set(ref) == {"type", "uri", "ext"}  # nothing was encoded or hashed
    assert store.get(ref) == {"x": None, "1": [1, 2]}  # as a .json file would read back
    assert json.loads(store.read_bytes(ref["uri"])) == {"x": None, "1": [1, 2]}
    with pytest.raises(StorageError, match="dataframe"):
        store.keep("k", "frame", [1, 2], "dataframe")


def test_a_card_that_changes_its_input_frame_changes_only_its_copy():
    p = tr.Pipeline("cow")
    p.add(rows, id="rows")
    p.add(bump, id="bump")
    p.connect("rows", "bump")
    run = p.run(storage=url(), executor=LocalExecutor(1), progress=False)
    assert run.ok
    assert run.output("rows")["a"].tolist() == [0, 1, 2]  # the parent's output is untouched
    assert run.output("bump")["a"].tolist() == [100, 101, 102]
    assert list(run.output("rows").index) == [0, 1, 2]  # the index dropped, as parquet does on disk


def test_stores_of_one_name_share_a_table_and_the_last_one_frees_it():
    name = url()
    first = open_store(name).project("p")
    ref = first.keep("k", "out", {"v": 1}, "json")
    again = open_store(name).project("p")  # e.g. rebuilt from a task's wire form
    assert again.get(ref) == {"v": 1}
    table = weakref.ref(first._backend.table)
    del first, again
    gc.collect()
    assert table() is None


def test_a_finished_run_frees_its_memory_store_even_while_its_executor_lives():
    executor = LocalExecutor(1)  # its idle thread must not hold the last task (and so the store)
    p = tr.Pipeline("freed")
    p.add(rows, id="rows")
    run = p.run(storage=url(), executor=executor, progress=False)
    assert run.ok
    table = weakref.ref(run.store._backend.table)
    del run
    gc.collect()
    assert table() is None
    executor.shutdown()


def test_a_kept_frame_reads_back_as_parquet_would_give_it(tmp_path):
    named = pd.DataFrame({"a": [1, 2]})
    named.index.name = "idx"
    shuffled = pd.DataFrame({"a": [3, 1, 2]}).sort_values("a")
    for frame in (named, shuffled):
        live = open_store(f"memory://parquet-like-{uuid.uuid4().hex}")
        disk = open_store(tmp_path)
        got = live.get(live.keep("k", "f", frame, "dataframe"))
        pd.testing.assert_frame_equal(got, disk.get(disk.keep("k", "f", frame, "dataframe")))
        assert got.index.name is None and list(got.index) == list(range(len(frame)))
