"""``llm_tokenize``: SFT text to token ids with the model's tokenizer, optionally packed into full-length blocks."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm.evaluate import example_texts
from tensorrag.cards.llm.loading import load_tokenizer
from tensorrag.cards.llm.model import hub_folder
from tensorrag.cards.previews import table_preview

__all__ = ["TokenizeCard", "tokenize_frame"]


def tokenize_frame(card_type: str, config: dict[str, Any], df: pd.DataFrame, tok: Any, port: str) -> pd.DataFrame:
    """``input_ids`` / ``attention_mask`` rows: one per example, or packed blocks of ``max_length`` tokens."""
    texts = example_texts(card_type, config, df, tok, port)
    limit = int(config["max_length"])
    eos = tok.eos_token_id
    ids = [t if isinstance(t, list) else tok(t, add_special_tokens=True)["input_ids"] for t in texts]
    if config["packing"]:
        stream: list[int] = []
        for seq in ids:
            stream.extend([*seq, eos] if eos is not None else seq)
        blocks = [stream[i : i + limit] for i in range(0, len(stream), limit)]
        blocks = [b for b in blocks if len(b) == limit] or blocks[:1]  # a short tail would be mostly padding
    else:
        blocks = [[*seq, eos][:limit] if eos is not None else seq[:limit] for seq in ids]
    return pd.DataFrame({"input_ids": blocks, "attention_mask": [[1] * len(b) for b in blocks]})


class TokenizeCard(BaseCard):
    """Tokenize the SFT splits with the model's tokenizer (packing concatenates examples into full blocks)."""

    card_type = "llm_tokenize"
    display_name = "LLM: Tokenize"
    description = "Token ids for both SFT splits with the model's tokenizer; packing fills max_length blocks."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "model_name": {"type": "string", "default": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                       "description": "whose tokenizer: a Hub id or a local model folder"},
        "max_length": {"type": "integer", "default": 1024, "minimum": 8},
        "packing": {"type": "boolean", "default": True},
    }
    input_schema = {"train_sft": "dataframe", "val_sft": "dataframe"}
    output_schema = {"train_tokens": "dataframe", "val_tokens": "dataframe"}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """As ``llm_load_model``: the tokenizer folder's stamps, or the Hub id."""
        from tensorrag.cards.llm.model import LoadModelCard

        return LoadModelCard().cache_token(config)

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Tokenize both splits."""
        tok = load_tokenizer(self.card_type, hub_folder(self.card_type, config, str(config["model_name"]).strip()))
        out = {}
        for src, dst in (("train_sft", "train_tokens"), ("val_sft", "val_tokens")):
            frame = tokenize_frame(self.card_type, config, storage.load_dataframe(inputs[src]), tok, src)
            out[dst] = storage.save_dataframe(None, None, dst, frame)
        return out

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """Block counts and the first rows."""
        return table_preview(storage.load_dataframe(outputs["train_tokens"]), 5)
