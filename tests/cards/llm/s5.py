"""The S5 chain of issue 13 as a pipeline: data cards -> tiny model -> LoRA -> SFT -> eval -> merge -> generate."""

from __future__ import annotations

from typing import Any

import tensorrag as tr
from tests.cards.llm.tiny import DATA, TinyModelCard

PROMPTS = ("### Instruction:\nAdd 2 and 3.\n\n### Response:\n\n---\n"
           "### Instruction:\nWhat color is the sky?\n\n### Response:\n")
TRAIN = {"max_steps": 30, "batch_size": 8, "gradient_accumulation_steps": 1, "learning_rate": 0.005,
         "max_seq_length": 64, "logging_steps": 5, "warmup_ratio": 0.0, "lr_scheduler_type": "constant", "seed": 0}


def s5_pipeline(arch: str = "llama", **train: Any) -> tr.Pipeline:
    """The chain; ``train`` overrides the fine-tuning config."""
    p = tr.Pipeline(f"s5-{arch}")
    p.add("llm_load_dataset", id="data", source_type="jsonl_path", jsonl_path=DATA, max_samples=0)
    p.add("llm_filter_clean", id="clean")
    p.add("llm_train_val_split", id="split", val_ratio=0.2, shuffle_seed=0)
    p.add("llm_format_sft", id="fmt")
    p.add(TinyModelCard, id="tiny", arch=arch)
    p.add("llm_load_checkpoint", id="model", load_in_4bit=False)
    p.add("llm_apply_lora", id="lora", r=8, lora_alpha=16, lora_dropout=0.0, seed=0)
    p.add("llm_finetune_lora", id="ft", **{**TRAIN, **train})
    p.add("llm_eval", id="eval", max_seq_length=64)
    p.add("llm_merge_export", id="merge")
    p.add("llm_generate", id="gen", prompts=PROMPTS, temperature=0.0, max_new_tokens=8)
    p.connect("data", "raw_dataset", "clean", "raw_dataset")
    p.connect("clean", "clean_dataset", "split", "clean_dataset")
    p.connect("split", "train_dataset", "fmt", "train_dataset")
    p.connect("split", "val_dataset", "fmt", "val_dataset")
    p.connect("tiny", "checkpoint", "model", "checkpoint")
    p.connect("model", "model_config", "lora", "model_config")
    p.connect("lora", "lora_config", "ft", "lora_config")
    p.connect("fmt", "train_sft", "ft", "train_tokens")
    p.connect("fmt", "val_sft", "ft", "val_tokens")
    p.connect("ft", "ft_result", "eval", "ft_result")
    p.connect("fmt", "val_sft", "eval", "val_tokens")
    p.connect("ft", "ft_result", "merge", "ft_result")
    p.connect("merge", "merged_model", "gen", "model")
    return p
