"""Scenario S5/S6: LoRA fine-tuning of a causal LM, end to end, on this machine's CPU and offline.

llm_load_dataset (JSONL) -> llm_filter_clean -> llm_train_val_split -> llm_format_sft ;
llm_load_model -> llm_apply_lora ; -> llm_finetune_lora -> llm_eval ; -> llm_merge_export -> llm_generate

Run ``python examples/s5_llm_finetune.py [MODEL]``. Without MODEL it builds a tiny Llama-style model
from a config (random weights, a tokenizer trained on the records: it learns within seconds but
talks nonsense); give a Hub id (online) or a local model folder for a real one, and run on a GPU
with ``executor="auto"`` (see docs/llm.md). Storage follows ``TENSORRAG_STORAGE`` (default
``./.tensorrag``); run it twice and every node is ``cached``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import tensorrag as tr


def records() -> list[dict[str, str]]:
    """200 small instruction records (arithmetic and colours)."""
    colours = {"sky": "blue", "grass": "green", "snow": "white", "coal": "black", "banana": "yellow"}
    out = [{"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a} plus {b} is {a + b}."}
           for a in range(1, 16) for b in range(1, 13)]
    out += [{"instruction": f"What color is the {k}?", "input": "", "output": f"The {k} is {v}."}
            for k, v in colours.items()]
    return out[:200]


def build(data_path: str, model_name: str, steps: int = 30) -> tr.Pipeline:
    """The S5 pipeline over the records in ``data_path`` and the model ``model_name``."""
    p = tr.Pipeline("s5-llm-finetune")
    p.add("llm_load_dataset", id="data", source_type="jsonl_path", jsonl_path=data_path, max_samples=0)
    p.add("llm_filter_clean", id="clean", min_chars=8)
    p.add("llm_train_val_split", id="split", val_ratio=0.1, shuffle_seed=42)
    p.add("llm_format_sft", id="format")
    p.add("llm_load_model", id="model", model_name=model_name, load_in_4bit=False)
    p.add("llm_apply_lora", id="lora", r=8, lora_alpha=16, lora_dropout=0.0)
    p.add("llm_finetune_lora", id="finetune", max_steps=steps, batch_size=8, gradient_accumulation_steps=1,
          learning_rate=5e-3, lr_scheduler_type="constant", max_seq_length=64, logging_steps=5)
    p.add("llm_eval", id="eval", max_seq_length=64)
    p.add("llm_merge_export", id="merge")
    p.add("llm_generate", id="generate", temperature=0, max_new_tokens=12,
          prompts="### Instruction:\nAdd 2 and 3.\n\n### Response:\n\n---\n"
                  "### Instruction:\nWhat color is the sky?\n\n### Response:\n")
    p.connect("data", "raw_dataset", "clean", "raw_dataset")
    p.connect("clean", "clean_dataset", "split", "clean_dataset")
    p.connect("split", "train_dataset", "format", "train_dataset")
    p.connect("split", "val_dataset", "format", "val_dataset")
    p.connect("model", "model_config", "lora", "model_config")
    p.connect("lora", "lora_config", "finetune", "lora_config")
    p.connect("format", "train_sft", "finetune", "train_tokens")
    p.connect("format", "val_sft", "finetune", "val_tokens")
    p.connect("finetune", "ft_result", "eval", "ft_result")
    p.connect("format", "val_sft", "eval", "val_tokens")
    p.connect("finetune", "ft_result", "merge", "ft_result")
    p.connect("merge", "merged_model", "generate", "model")
    return p


def main(argv: list[str] | None = None) -> int:
    """Fine-tune, print the loss and perplexity before and after, and the generations."""
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("HF_HUB_OFFLINE", "0" if args else "1")
    work = os.path.abspath("s5-llm-data")
    os.makedirs(work, exist_ok=True)
    data_path = os.path.join(work, "records.jsonl")
    with open(data_path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records())
    model_name = args[0] if args else os.path.join(work, "tiny-llama")
    if not args and not os.path.isdir(model_name):
        from tensorrag.cards.llm.tiny import build_tiny_model

        part = tempfile.mkdtemp(dir=work)  # built aside, then renamed: a half-built folder is never used
        build_tiny_model("llama", part, [r["instruction"] + " " + r["output"] for r in records()])
        os.replace(part, model_name)
    run = build(data_path, model_name).run().raise_for_status()
    losses = [h["loss"] for h in run.preview("finetune")["loss_history"]]
    report = run.output("eval")
    print(f"training loss    {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(f"val perplexity   {report['base_perplexity']:.1f} (base) -> {report['perplexity']:.1f} (fine-tuned)")
    print(f"merged model     {run.output('merge')}")
    for row in run.output("generate").itertuples():
        print(f"  {row.prompt.splitlines()[1]!r} -> {row.response!r} ({row.backend})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
