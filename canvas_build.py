"""The package build's canvas step (hatch-jupyter-builder ``build-function``, see pyproject.toml).

``pip install .``, ``pip install -e .`` and ``python -m build`` call :func:`build_canvas`, which runs
``npm ci`` (when ``node_modules`` is missing or older than ``package-lock.json``) and ``npm run build``
in ``widget/``, so every install ships ``tensorrag/widget/static/index.js`` and ``index.css``. A
bundle newer than every source is fresh and is not built again (``make widget`` builds it first in
CI). Set ``SKIP_JUPYTER_BUILDER=1`` to leave the bundle alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WIDGET = ROOT / "widget"
BUNDLE = [ROOT / "tensorrag" / "widget" / "static" / name for name in ("index.js", "index.css")]
SOURCES = ["src", "build.mjs", "package.json", "package-lock.json", "tsconfig.json"]


def newest_source(widget: Path = WIDGET) -> float:
    """The newest modification time among the bundle's sources."""
    newest = 0.0
    for name in SOURCES:
        path = widget / name
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path] if path.is_file() else []
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def is_fresh(bundle: list[Path] = BUNDLE, widget: Path = WIDGET) -> bool:
    """Every bundle file exists and is newer than every source (or there are no sources, as in a wheel)."""
    if not all(p.is_file() for p in bundle):
        return False
    if not (widget / "package.json").is_file():
        return True  # nothing to build from (e.g. a build from an unpacked wheel)
    return min(p.stat().st_mtime for p in bundle) >= newest_source(widget)


def build_canvas(target_name: str, version: str) -> None:
    """Build the canvas bundle unless it is fresh (hatch-jupyter-builder calls this for sdist and wheel).

    Raises:
        RuntimeError: npm is missing or the build failed, and no bundle exists (a standard build only:
            an editable install without Node still installs, and says how to build the canvas later).
    """
    if is_fresh():
        print(f"tensorrag canvas bundle is fresh; not rebuilding it ({target_name}, {version})")
        return
    npm = shutil.which("npm")
    try:
        if npm is None:
            raise RuntimeError("npm was not found (the canvas bundle needs Node >= 18 and npm)")
        lock, stamp = WIDGET / "package-lock.json", WIDGET / "node_modules" / ".package-lock.json"
        if not stamp.is_file() or stamp.stat().st_mtime < lock.stat().st_mtime:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGET, check=True)
            stamp.touch()  # the Makefile's stamp: npm ci ran for this lock file
        subprocess.run([npm, "run", "build"], cwd=WIDGET, check=True, env={**os.environ, "NODE_ENV": "production"})
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        how = "Install Node >= 18 and npm, then `make widget` (or `cd widget && npm ci && npm run build`)."
        if version == "editable" or all(p.is_file() for p in BUNDLE):
            warnings.warn(f"tensorrag: the canvas bundle was not built: {exc}. {how}", stacklevel=1)
            return
        raise RuntimeError(f"tensorrag: building the canvas bundle failed: {exc}. {how}") from exc
