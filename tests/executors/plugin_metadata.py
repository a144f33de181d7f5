"""Install this checkout's ``tensorrag.executors`` entry points as real package metadata under a folder.

The shared editable install may predate an entry point added in pyproject.toml (its metadata is written at
install time), so the tests write a ``*.dist-info`` with the entry points read from pyproject.toml and put its
folder on ``sys.path``: ``importlib.metadata.entry_points`` then finds them as it finds any installed plugin.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GROUP = "tensorrag.executors"


def pyproject_executors() -> dict[str, str]:
    """``name -> "module:Attr"`` of the ``tensorrag.executors`` entry points in pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data["project"]["entry-points"][GROUP])


def write_dist_info(folder: Path) -> Path:
    """A minimal installed distribution carrying those entry points; returns ``folder`` (put it on sys.path)."""
    info = folder / "tensorrag_entry_points_probe-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorrag-entry-points-probe\nVersion: 0\n")
    lines = [f"[{GROUP}]", *(f"{name} = {value}" for name, value in pyproject_executors().items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return folder
