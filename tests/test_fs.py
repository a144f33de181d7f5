"""tensorrag._fs: the one atomic local write (used by the stores and Pipeline.save)."""

from __future__ import annotations

import os

import pytest

from tensorrag._fs import write_atomic, write_atomic_with


def test_write_atomic_creates_parents_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "f.bin"
    write_atomic(str(target), b"one")
    write_atomic(str(target), memoryview(b"two"))
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["f.bin"]


def test_write_atomic_to_a_bare_relative_name_writes_in_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("f.json", b"{}")
    assert (tmp_path / "f.json").read_bytes() == b"{}"
    assert os.listdir(tmp_path) == ["f.json"]


def test_a_failed_rename_leaves_no_temp_file(tmp_path):
    (tmp_path / "taken").mkdir()  # a folder where the file should go: os.replace fails
    with pytest.raises(OSError):
        write_atomic(str(tmp_path / "taken"), b"data")
    assert os.listdir(tmp_path) == ["taken"]
    assert os.listdir(tmp_path / "taken") == []


def test_a_failing_fill_leaves_no_temp_file_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def fill(fd: int, tmp: str) -> None:
        os.write(fd, b"half")
        raise RuntimeError("encoder broke")

    with pytest.raises(RuntimeError, match="encoder broke"):
        write_atomic_with(str(target), fill)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]
