"""tensorrag.pipeline._document: Pipeline.save goes through the shared atomic write."""

from __future__ import annotations

import os

import pytest

from tensorrag import Pipeline
from tensorrag.errors import StorageError


def test_a_failed_save_leaves_no_temp_file(tmp_path):
    (tmp_path / "p.json").mkdir()  # a folder in the way: the final rename fails
    with pytest.raises(StorageError, match=r"Cannot write the pipeline file .*p\.json"):
        Pipeline("p").save(tmp_path / "p.json")
    assert os.listdir(tmp_path) == ["p.json"]
    assert os.listdir(tmp_path / "p.json") == []


def test_save_to_a_relative_name_and_load_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = Pipeline("rel")
    assert p.save("p.json") == "p.json"
    assert os.listdir(tmp_path) == ["p.json"]
    assert Pipeline.load("p.json") == p


def test_save_creates_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "p.json"
    Pipeline("deep").save(target)
    assert Pipeline.load(target).name == "deep"
    assert os.listdir(target.parent) == ["p.json"]
