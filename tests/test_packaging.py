"""The package build ships the canvas: a wheel holds tensorrag/widget/static/index.js and index.css.

The bundle is gitignored; the hatch build hook (canvas_build.py, pyproject.toml) builds it with npm,
or keeps it when it is newer than its sources. Built from a copy of the checkout without a bundle,
as a fresh clone would be (node_modules copied, so npm needs no network).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ("tensorrag/widget/static/index.js", "tensorrag/widget/static/index.css")

pytestmark = pytest.mark.slow


def checkout_copy(dest: Path) -> Path:
    """The files git tracks (and new ones it does not ignore), mtimes kept; node_modules copied."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    modules = (ROOT / "widget" / "node_modules").resolve()
    shutil.copytree(modules, dest / "widget" / "node_modules", symlinks=True)
    return dest


def build_wheel(src: Path, out: Path) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("tensorrag-*.whl")
    return wheel


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node and npm (CI has them)")
def test_a_wheel_built_from_a_clean_checkout_ships_the_canvas_bundle(tmp_path: Path) -> None:
    src = checkout_copy(tmp_path / "src")
    assert not (src / BUNDLE[0]).exists()  # as in a fresh clone
    wheel = build_wheel(src, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert set(BUNDLE) <= names
        assert b"tensorrag" in zf.read(BUNDLE[0]) and zf.getinfo(BUNDLE[1]).file_size > 1000
    # built once: a second build finds the bundle fresh and leaves it alone
    stamps = [(src / p).stat().st_mtime_ns for p in BUNDLE]
    build_wheel(src, tmp_path / "dist2")
    assert [(src / p).stat().st_mtime_ns for p in BUNDLE] == stamps


def test_the_bundle_is_stale_when_a_source_is_newer(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from canvas_build import is_fresh
    finally:
        sys.path.pop(0)
    widget = tmp_path / "widget"
    (widget / "src").mkdir(parents=True)
    (widget / "package.json").write_text("{}")
    source = widget / "src" / "App.tsx"
    source.write_text("x")
    bundle = [tmp_path / "index.js", tmp_path / "index.css"]
    assert not is_fresh(bundle, widget)  # missing
    for p in bundle:
        p.write_text("built")
    os.utime(source, (1, 1))
    assert is_fresh(bundle, widget)
    os.utime(source, None)
    for p in bundle:
        os.utime(p, (2, 2))
    assert not is_fresh(bundle, widget)  # a source changed after the build
