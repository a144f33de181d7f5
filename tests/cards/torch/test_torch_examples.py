"""The scenario notebooks hold the same pipeline code as the scripts (the scripts are what the tests run)."""

from __future__ import annotations

import json

import pytest

from tests.cards.torch.conftest import EXAMPLES


@pytest.mark.parametrize("name", ["s2_gpu_mlp", "s3_step_by_step", "s4_torch_classifier"])
def test_notebook_matches_its_script(name: str) -> None:
    script = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
    body = script.split('"""', 2)[2].split('\nif __name__ == "__main__":')[0].strip()
    body = body.replace("from __future__ import annotations\n\n", "")
    notebook = json.loads((EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]).strip() == body, f"regenerate examples/{name}.ipynb from the script"
    assert all(not c["outputs"] for c in code), "notebooks are committed without outputs"
