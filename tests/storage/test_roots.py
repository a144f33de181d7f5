"""Storage-root arguments (``open_store(url)``, ``Workspace(url)``) are checked before any filesystem sees them."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.errors import UnsafePathError
from tensorrag.storage import ArtifactStore, open_store

BAD_TEXT = [
    ("/tmp/a\x00b", "NUL character at position 6"),
    ("s3://bucket/pre\x00fix", "NUL character"),
    ("/tmp/caf\udce9", "lone surrogate"),
    ("memory://x\ud800", "lone surrogate"),
    ("/tmp/data\n", "control character '\\n'"),
]


@pytest.mark.parametrize(("url", "why"), BAD_TEXT)
def test_bad_characters_are_refused_with_the_fix(url: str, why: str) -> None:
    with pytest.raises(UnsafePathError, match="storage root") as info:
        open_store(url)
    assert why in str(info.value) and "Fix:" in str(info.value)
    with pytest.raises(UnsafePathError) as info:
        tr.Workspace(url)
    assert why in str(info.value)
    with pytest.raises(UnsafePathError):
        ArtifactStore(url)
    with pytest.raises(UnsafePathError):
        ArtifactStore.from_wire({"url": url, "options": {}})


def test_a_path_like_with_a_nul_is_refused() -> None:
    with pytest.raises(UnsafePathError, match="NUL"):
        open_store(pathlib.PurePosixPath("/tmp/a\x00b"))  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [5, 1.5, ["/tmp"], {"url": "/tmp"}, b"/tmp/x", ""])
def test_non_strings_are_refused(url: Any) -> None:
    with pytest.raises(UnsafePathError, match="storage root") as info:
        open_store(url)
    assert ("os.fsdecode" in str(info.value)) == isinstance(url, bytes)
    with pytest.raises(UnsafePathError):
        tr.Workspace(url)


def test_valid_unicode_is_fine(tmp_path: pathlib.Path) -> None:
    store = open_store(tmp_path / "café ☕")
    store.write_json("x.json", {"a": 1})
    assert (tmp_path / "café ☕" / "x.json").exists()


def test_a_bad_root_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3_ENABLED", raising=False)
    monkeypatch.setenv("TENSORRAG_STORAGE", "/tmp/caf\udce9")  # what os.environ holds for a non-UTF-8 value
    with pytest.raises(UnsafePathError, match="TENSORRAG_STORAGE") as info:
        open_store()
    assert "lone surrogate" in str(info.value)
