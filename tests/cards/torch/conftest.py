"""Torch card tests: skipped without torch; ``@pytest.mark.gpu`` tests skipped without CUDA."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(autouse=True)
def _needs_cuda(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")


def example(name: str) -> dict[str, Any]:
    """The globals of ``examples/{name}.py`` (its ``build()``), run as a module, not as ``__main__``."""
    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")
