"""Local cache commits: in-place artifacts, the symlink commit, abandon marks and the metadata-op budget."""

from __future__ import annotations

import builtins
import collections
import os
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.errors import UnsafePathError
from tensorrag.executors import LocalExecutor
from tensorrag.executors.caching import verified_entry
from tensorrag.storage import open_store
from tensorrag.storage.integrity import abandon, entry_stamps, is_abandoned

if TYPE_CHECKING:
    from pathlib import Path

    from tensorrag.storage import ArtifactStore

_OPS = ("stat", "lstat", "open", "mkdir", "rename", "replace", "unlink", "remove", "listdir", "scandir", "fsync",
        "readlink", "symlink", "link")


@tr.card
def first() -> dict:
    return {"n": 0}


@tr.card
def plus(x: dict, i: int = 0) -> dict:
    return {"n": x["n"] + i}


def _commit(store: ArtifactStore, key: str, attempt: str, value: Any = None) -> dict[str, Any]:
    ref = store.put(attempt, "out", {"v": 1} if value is None else value)
    entry = {"outputs": {"out": ref}, "extras": {}, "preview": {"p": 1}, "output_type": "json", "attempt": attempt,
             "stamps": entry_stamps(store, [{"out": ref}])}
    assert store.commit_entry(key, entry, attempt=attempt)
    return entry


def test_commit_links_the_key_to_the_attempt_folder(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    entry = _commit(store, "k", "k-a1")
    assert os.readlink(tmp_path / "artifacts/k") == "k-a1"
    assert (tmp_path / "artifacts/k/_meta.json").is_file()  # the layout path still holds the entry
    assert store.read_entry("k") == entry
    assert verified_entry(store, "k") == (entry, [])
    assert store.read_preview("k") == {"output_type": "json", "preview": {"p": 1}}  # folded into _meta.json
    later = _commit(store, "k", "k-a2", {"v": 2})  # a later commit replaces the link atomically
    assert os.readlink(tmp_path / "artifacts/k") == "k-a2" and store.read_entry("k") == later
    assert not [n for n in os.listdir(tmp_path / "artifacts") if n.startswith(".")]  # no temp link left


def test_an_attempt_that_never_linked_is_not_served(tmp_path: Path) -> None:
    # A crash between the in-place _meta.json and the link: the attempt folder is complete but unnamed.
    store = open_store(tmp_path)
    store.put("k-a1", "out", {"v": 1})
    (tmp_path / "artifacts/k-a1/_meta.json").write_text('{"outputs": {}, "att')  # torn, as a crash leaves it
    assert store.read_entry("k") is None and verified_entry(store, "k") == (None, [])


def test_abandon_before_the_commit_takes_its_name(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    abandon(store, "k-a1")
    assert is_abandoned(store, "k-a1")
    ref = store.put("k-a1", "out", {"v": 1})
    assert store.commit_entry("k", {"outputs": {"out": ref}, "attempt": "k-a1"}, attempt="k-a1") is False
    assert not (tmp_path / "artifacts/k").exists() and store.read_entry("k") is None


def test_abandon_after_the_commit_replaces_the_entry(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    _commit(store, "k", "k-a1")
    abandon(store, "k-a1")
    assert store.read_entry("k") is None and verified_entry(store, "k") == (None, [])
    assert is_abandoned(store, "k-a1") and store.read_preview("k") is None


def test_abandon_between_the_entry_and_its_link_is_never_served(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    backend: Any = store._backend
    assert backend.create("artifacts/k-a1/_meta.json", b'{"outputs": {}, "attempt": "k-a1"}')
    abandon(store, "k-a1")  # the engine gives up while the worker is between its two steps
    assert backend.link_folder("artifacts/k", "k-a1")
    assert store.read_entry("k") is None


def test_a_key_folder_from_an_older_layout_still_commits_and_abandons(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    (tmp_path / "artifacts/k").mkdir(parents=True)  # a real folder, as older versions wrote
    entry = _commit(store, "k", "k-a1")
    assert (tmp_path / "artifacts/k/_meta.json").is_file() and not os.path.islink(tmp_path / "artifacts/k")
    assert store.read_entry("k") == entry
    abandon(store, "k-a1")
    assert store.read_entry("k") is None


def test_a_key_link_leading_out_of_the_store_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "x").mkdir(parents=True)
    (outside / "x/_meta.json").write_text('{"outputs": {}}')
    store = open_store(tmp_path / "store")
    os.makedirs(tmp_path / "store/artifacts")
    os.symlink(outside / "x", tmp_path / "store/artifacts/k1")
    os.symlink(outside, tmp_path / "store/artifacts/evil")
    os.symlink("evil", tmp_path / "store/artifacts/k2")  # a plain sibling name that is itself a link out
    for key in ("k1", "k2"):
        with pytest.raises(UnsafePathError, match="symlink that leads out of the store"):
            store.read_entry(key)


def test_an_artifact_written_again_is_replaced_whole(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.put("k", "out", {"v": 1})
    ref = store.put("k", "out", {"v": [2] * 1000})  # the name is taken: temp file + os.replace
    assert store.get(ref) == {"v": [2] * 1000}
    assert open_store(tmp_path).get(ref) == {"v": [2] * 1000}  # a fresh store reads the file, not the memo
    assert sorted(os.listdir(tmp_path / "artifacts/k")) == ["out.json"]


def test_json_read_back_in_the_same_process_skips_the_file(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    ref = store.put("k", "out", {"a": float("nan"), "t": (1, 2)})
    os.remove(ref["uri"].removeprefix("file://"))  # proves the file is not read again
    assert store.get(ref) == {"a": None, "t": [1, 2]}  # what a fresh read gives: the bytes are decoded again


def test_a_chain_costs_a_handful_of_metadata_operations_per_node(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    p = tr.Pipeline("ops")
    p.add(first, id="n0")
    for i in range(1, 30):
        p.add(plus, id=f"n{i}", i=i)
        p.connect(f"n{i - 1}", "output", f"n{i}", "x")
    p.run(executor=LocalExecutor(max_workers=1), storage=tmp_path / "warmup", progress=False)
    counts: collections.Counter[str] = collections.Counter()

    def counting(name: str, real: Any) -> Any:
        def op(*args: Any, **kwargs: Any) -> Any:
            if not (name == "builtins.open" and args and isinstance(args[0], int)):
                counts[name] += 1
            return real(*args, **kwargs)
        return op

    for name in _OPS:
        monkeypatch.setattr(os, name, counting(name, getattr(os, name)))
    monkeypatch.setattr(builtins, "open", counting("builtins.open", builtins.open))
    cold = p.run(executor=LocalExecutor(max_workers=1), storage=tmp_path / "s", progress=False)
    cold_ops = sum(counts.values())
    counts.clear()
    warm = p.run(executor=LocalExecutor(max_workers=1), storage=tmp_path / "s", progress=False)
    monkeypatch.undo()
    assert set(cold.status.values()) == {"completed"} and set(warm.status.values()) == {"cached"}
    # cold: lookup, attempt folder, output, _meta.json, link (+ the run's manifests and pipeline save)
    assert cold_ops <= 6 * 30, counts
    assert sum(counts.values()) <= 5 * 30, counts  # warm: link, folder, _meta.json, one stat per artifact
