"""The local store never reads or writes through a symlink that leads out of its opened root."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

import pytest

import tensorrag as tr
from tensorrag.errors import UnsafePathError
from tensorrag.storage import open_store

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.json").write_text('{"secret": 1}')
    return folder


def test_symlinked_runs_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    store = open_store(tmp_path / "store").project("p", "u")
    os.makedirs(tmp_path / "store/u/workspace/p")
    os.symlink(outside, tmp_path / "store/u/workspace/p/runs")
    with pytest.raises(UnsafePathError, match="symlink that leads out of the store") as info:
        store.write_run("r1", {"status": "completed"})
    assert str(outside) in str(info.value) and "runs" in str(info.value)
    assert sorted(os.listdir(outside)) == ["secret.json"]  # no temp file, no manifest written outside
    with pytest.raises(UnsafePathError):
        store.read_json("runs/secret.json")
    with pytest.raises(UnsafePathError):
        store.list("runs")
    with pytest.raises(UnsafePathError):
        store.delete("runs/secret.json")
    assert (outside / "secret.json").exists()


def test_symlinked_project_folder_is_refused_by_the_workspace(tmp_path: Path, outside: Path) -> None:
    ws = tr.Workspace(tmp_path / "store", user="u")
    os.makedirs(tmp_path / "store/u/workspace")
    os.symlink(outside, tmp_path / "store/u/workspace/evil")
    os.makedirs(tmp_path / "store/u/workspace/fine")
    os.symlink(tmp_path / "store/u/workspace/fine", tmp_path / "store/u/workspace/alias")
    assert ws.list_projects() == ["alias", "fine"]  # a link out of the store is not offered
    with pytest.raises(UnsafePathError, match="evil"):
        ws.project("evil")
    with pytest.raises(UnsafePathError, match="evil"):
        ws.create_project("evil")
    store = tr.Project(ws, "evil").store
    with pytest.raises(UnsafePathError, match="evil"):
        store.write_json("_pipeline.json", {})
    with pytest.raises(UnsafePathError):
        store.read_json("secret.json")
    assert sorted(os.listdir(outside)) == ["secret.json"]


def test_a_run_into_a_symlinked_project_fails_before_running(tmp_path: Path, outside: Path) -> None:
    os.makedirs(tmp_path / "store/default/workspace")
    os.symlink(outside, tmp_path / "store/default/workspace/linked")
    p = tr.Pipeline("linked")
    with pytest.raises(UnsafePathError, match="symlink"):
        p.run(storage=tmp_path / "store")
    assert sorted(os.listdir(outside)) == ["secret.json"]


def test_symlinked_artifacts_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    store = open_store(tmp_path / "store")
    os.makedirs(tmp_path / "store")
    os.symlink(outside, tmp_path / "store/artifacts")
    with pytest.raises(UnsafePathError):
        store.put("k", "out", {"a": 1})
    with pytest.raises(UnsafePathError):
        store.put("k", "df", __import__("pandas").DataFrame({"a": [1]}))  # the native parquet path
    with pytest.raises(UnsafePathError):
        store.write_entry("k", {"outputs": {}})
    assert sorted(os.listdir(outside)) == ["secret.json"]


def test_a_symlinked_file_pointing_out_is_not_read(tmp_path: Path, outside: Path) -> None:
    store = open_store(tmp_path / "store")
    os.makedirs(tmp_path / "store/runs")
    os.symlink(outside / "secret.json", tmp_path / "store/runs/r.json")
    with pytest.raises(UnsafePathError):
        store.read_run("r")
    with pytest.raises(UnsafePathError):
        store.exists("runs/r.json")


def test_symlinks_inside_the_root_are_allowed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    os.makedirs(tmp_path / "store/real")
    os.symlink(tmp_path / "store/real", tmp_path / "store/alias")
    store.write_json("alias/x.json", {"a": 1})
    assert store.read_json("real/x.json") == {"a": 1}


def test_a_symlinked_root_is_fine(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    os.symlink(tmp_path / "target", tmp_path / "link")
    store = open_store(tmp_path / "link")
    store.write_json("runs/x.json", {"a": 1})
    assert (tmp_path / "target/runs/x.json").exists()
    assert store.read_json("runs/x.json") == {"a": 1}


def test_workspace_lists_projects_through_the_store(tmp_path: Path) -> None:
    ws = tr.Workspace(tmp_path / "store", user="u")
    ws.create_project("a")
    ws.create_project("b")
    os.makedirs(tmp_path / "store/u/workspace/.hidden")
    os.makedirs(tmp_path / "store/u/workspace/not ok!")
    (tmp_path / "store/u/workspace/file.txt").write_text("x")
    assert ws.list_projects() == ["a", "b"]
    assert tr.Workspace(tmp_path / "empty", user="u").list_projects() == []


def test_a_run_with_a_symlinked_runs_folder_keeps_its_manifest_locally(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TENSORRAG_PROJECT", raising=False)
    monkeypatch.delenv("TENSORRAG_USER", raising=False)
    monkeypatch.delenv("DEFAULT_USER_ID", raising=False)
    os.makedirs(tmp_path / "store/default/workspace/lr")
    os.symlink(outside, tmp_path / "store/default/workspace/lr/runs")
    p = tr.Pipeline("lr")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = p.run(storage=tmp_path / "store")
    assert run.done and isinstance(run.manifest_error, UnsafePathError)
    assert run.manifest_fallback and os.path.exists(run.manifest_fallback)
    assert any("manifest could not be saved" in str(w.message) for w in caught)
    assert sorted(os.listdir(outside)) == ["secret.json"]
