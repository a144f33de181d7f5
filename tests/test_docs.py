"""Every ```python example in README.md and docs/*.md runs as written.

Each file's blocks run in order, in one fresh namespace per file (later blocks see what earlier
ones defined), with ``TENSORRAG_STORAGE`` pointing into ``tmp_path`` and the working directory
set to ``tmp_path``, so no example writes into the repository. A block whose first line is
``# doctest: skip`` is not run (only for examples that need credentials or outside services).
"""

from __future__ import annotations

import linecache
import os
import re
from pathlib import Path

import pytest

from tensorrag.registry import card_registry

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SKIP = "# doctest: skip"
#: Settings an example must not inherit from the developer's shell.
ISOLATE = ("TENSORRAG_", "STORAGE_DIR", "S3_", "DEFAULT_USER_ID", "MODAL_ENABLED")


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every ```python block of ``path``, in order."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def test_every_page_is_checked() -> None:
    names = {p.name for p in FILES}
    assert {"README.md", "index.md", "cards.md", "pipelines.md", "running.md", "storage.md"} <= names
    assert all(python_blocks(p) for p in FILES if p.name != "benchmarks.md")


def test_every_page_is_in_the_site_nav() -> None:
    """A page missing from mkdocs.yml's ``nav`` builds but cannot be reached from the site's menu."""
    nav = re.findall(r"^\s+- [^:\n]+:\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE)
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert sorted(nav) == pages, (
        f"docs/ pages not in mkdocs.yml nav: {sorted(set(pages) - set(nav))}; "
        f"nav entries without a page: {sorted(set(nav) - set(pages))}"
    )


@pytest.fixture
def clean_registry():
    """Undo global card registrations (``tr.register``) made by the examples."""
    before = dict(card_registry.view)
    yield
    for name in card_registry.own_names():
        if name not in before:
            card_registry.unregister(name)
        elif card_registry.view.get(name) is not before[name]:
            card_registry.register(name, before[name], clobber=True)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_registry: None) -> None:
    for name in list(os.environ):
        if name.startswith(ISOLATE):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TENSORRAG_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("TENSORRAG_PROGRESS", "off")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem.lower()}"}
    registered: list[str] = []
    try:
        for lineno, code in python_blocks(path):
            if code.lstrip().startswith(SKIP):
                continue
            filename = f"<{path.name}, line {lineno}>"
            # Let inspect.getsource see the example's code (card fingerprints), as for a notebook cell.
            linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
            registered.append(filename)
            try:
                exec(compile(code, filename, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(
                    f"The example at {path.name}:{lineno} failed: {type(exc).__name__}: {exc}"
                ) from exc
    finally:
        for filename in registered:
            linecache.cache.pop(filename, None)
