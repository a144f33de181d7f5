"""``examples/canvas.ipynb`` runs as written (its code cells in order, without a browser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "canvas.ipynb"


def test_canvas_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORRAG_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("TENSORRAG_PROGRESS", "off")
    monkeypatch.chdir(tmp_path)
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells
    ns: dict[str, object] = {}
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        exec(compile(source, f"<canvas.ipynb cell {i}>", "exec"), ns)
    assert ns["run"].ok  # type: ignore[attr-defined]
    assert "p.add('model_define', id='forest'" in ns["canvas"].to_python()  # type: ignore[attr-defined]
    ns["canvas"].close()  # type: ignore[attr-defined]
