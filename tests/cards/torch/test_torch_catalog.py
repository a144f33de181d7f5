"""Every torch card is in tr.list_cards() with a schema the canvas renders, and listing them imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tensorrag as tr
from tensorrag.cards.schema import validate_config
from tensorrag.registry import card_registry

ROOT = Path(__file__).resolve().parents[3]
TORCH_CARDS = [
    "model_define_gpu", "train_gpu", "torch_module", "training_build_model", "training_init_optimizer",
    "training_prepare_batch", "training_zero_grad", "training_forward", "training_loss", "training_backward",
    "training_optimizer_step", "training_loop",
]  # fmt: skip


def test_every_torch_card_is_listed_with_a_valid_default_config() -> None:
    schemas = {s["card_type"]: s for s in tr.list_cards()}
    for name in TORCH_CARDS:
        schema = schemas[name]
        assert schema["config_schema"]["type"] == "object" and schema["input_schema"] is not None
        cls = card_registry.get(name)
        _, problems = validate_config(cls.json_schema(), {})
        assert not problems, (name, problems)
    assert schemas["train_gpu"]["output_schema"] == {"trained_model": "model", "train_metrics": "json"}
    assert schemas["training_forward"]["input_schema"] == {"model": "model", "batch_data": "json"}


def test_listing_and_wiring_torch_cards_imports_no_torch() -> None:
    code = (
        "import json, sys\n"
        "import tensorrag as tr\n"
        "tr.list_cards()\n"
        "p = tr.Pipeline('x')\n"
        "p.add('model_define_gpu', id='define')\n"
        "p.add('train_gpu', id='train', target_column='y')\n"
        "p.connect('define', 'model_spec', 'train', 'model_spec')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'safetensors'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("fmt", ["trtorch", "trstate"])
def test_the_torch_formats_are_registered(fmt: str) -> None:
    from tensorrag.registry import model_format_registry
    from tensorrag.storage.codecs import type_from_ext

    assert fmt in model_format_registry and type_from_ext(fmt) == "model"
