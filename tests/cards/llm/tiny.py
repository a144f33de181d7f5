"""The fixture card that saves a tiny from-config model as a ``directory`` artifact, and the test records.

Module-level so out-of-process executors find the card by reference.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from tensorrag import BaseCard
from tensorrag.cards.llm.tiny import ARCHS, build_tiny_model

DATA = os.path.join(os.path.dirname(__file__), "data", "instructions.jsonl")


def corpus() -> list[str]:
    """Every field of the test records (what the tiny tokenizer is trained on)."""
    out = []
    with open(DATA, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out.extend(str(rec.get(k) or "") for k in ("instruction", "input", "output"))
    return out


def build_tiny(arch: str, folder: str, seed: int = 0) -> str:
    """A tiny ``arch`` model with a tokenizer trained on the test records, saved in ``folder``."""
    return build_tiny_model(arch, folder, corpus(), seed)


class TinyModelCard(BaseCard):
    """Test fixture: a tiny from-config model as a ``directory`` artifact."""

    card_type = "test_tiny_llm"
    display_name = "Tiny LLM (test)"
    description = "A 2-layer, 64-dim model and an on-the-fly tokenizer."
    category = "model"
    config_schema = {"arch": {"type": "string", "enum": list(ARCHS), "default": "llama"},
                     "seed": {"type": "integer", "default": 0}}
    input_schema = {}
    output_schema = {"checkpoint": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        with tempfile.TemporaryDirectory() as tmp:
            build_tiny(config["arch"], tmp, int(config["seed"]))
            return {"checkpoint": storage.save_directory("checkpoint", tmp)}
