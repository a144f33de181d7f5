"""The original ``vllm_finetune`` template (its card files, import lines changed, and its _pipeline.json).

It loads, every card file validates (shadowing the built-in llm_* cards, with a warning), the graph
validates, and run offline it fails at once with one clear error per root node; the rest is skipped.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

import pytest

from tensorrag.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

TEMPLATE = os.path.join(os.path.dirname(__file__), "vllm_finetune")


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    proj = Workspace(tmp_path / "root", user="alice").create_project("vllm_finetune")
    for name in sorted(os.listdir(os.path.join(TEMPLATE, "cards"))):
        with open(os.path.join(TEMPLATE, "cards", name), encoding="utf-8") as fh:
            result = proj.write_card(f"llm/{name}", fh.read())
        assert result.success, (name, [i.message for i in result.errors])
        assert any("shadows a built-in" in w.message for w in result.warnings), name
    with open(os.path.join(TEMPLATE, "_pipeline.json"), encoding="utf-8") as fh:
        proj.save_pipeline(json.load(fh))
    return proj


def test_template_loads_and_validates(project) -> None:  # type: ignore[no-untyped-def]
    assert len(project.cards) == 7
    p = project.load_pipeline()
    assert len(p.nodes) == 7 and len(p.edges) == 6
    assert p.problems() == []
    assert p.node("llm_finetune-5").config["output_dir"] == "/tmp/lora_adapters"


def test_template_fails_offline_with_one_clear_error_per_root_and_no_hang(project) -> None:  # type: ignore[no-untyped-def]
    p = project.load_pipeline()
    t0 = time.monotonic()
    run = p.run(executor="local")
    assert time.monotonic() - t0 < 120  # a hang bound: the Hub is never waited for offline
    assert run.status["llm_load_dataset-1"] == "failed"
    assert run.status["llm_load_model-3"] == "failed"
    assert {run.status[n] for n in run.status if n not in ("llm_load_dataset-1", "llm_load_model-3")} == {"skipped"}
    data_err = run.error("llm_load_dataset-1")["message"]
    model_err = run.error("llm_load_model-3")["message"]
    assert "tatsu-lab/alpaca" in data_err and "reach" in data_err, data_err
    assert "couldn't connect to 'https://huggingface.co'" in model_err, model_err
