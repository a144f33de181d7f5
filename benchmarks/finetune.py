"""Fine-tuning throughput: ``llm_finetune`` through tensorrag against the same transformers + peft + trl script.

    python benchmarks/finetune.py [--repeats 3] [--steps 30] [--arch llama]

Both sides fine-tune the same tiny from-config model (``tensorrag.cards.llm.tiny``; a real one
with ``--model PATH``) on the same 200 instruction records with the same LoRA and SFT settings
and seed, in this one process, alternating, the order rotated every round. The plain side does
what the node does: load the model, add the adapter, build the dataset, train, save the adapter.
The tensorrag side is a re-run of the pipeline with only the fine-tuning node uncached (its
upstream nodes are cache hits), so it includes the engine, the artifact loads and the adapter
save. Figure: tokens/s through tensorrag / tokens/s of the plain script (target >= 0.95).
On a CUDA machine both sides train on the GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tensorrag as tr
from tensorrag.cards.llm.tiny import build_tiny_model

TARGET = 0.95


def records(n: int = 200, seed: int = 13) -> list[dict[str, str]]:
    """``n`` synthetic instruction records (arithmetic), the same every time."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        out.append({"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a} plus {b} is {a + b}."})
    return out


def settings(steps: int) -> dict[str, Any]:
    """The fine-tuning config both sides use."""
    return {"max_steps": steps, "batch_size": 8, "gradient_accumulation_steps": 1, "learning_rate": 0.005,
            "max_seq_length": 64, "logging_steps": 10, "warmup_ratio": 0.0, "lr_scheduler_type": "constant",
            "seed": 0, "epochs": 1}


def plain(model_dir: str, train: Any, cfg: dict[str, Any]) -> tuple[float, int]:
    """The script a user would write: seconds and tokens trained."""
    import torch
    import transformers
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from trl import SFTConfig, SFTTrainer

    t0 = time.perf_counter()
    transformers.set_seed(cfg["seed"])
    gpu = torch.cuda.is_available()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float16 if gpu else torch.float32, device_map="auto" if gpu else None)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    bf16 = gpu and torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(output_dir=out, max_steps=cfg["max_steps"], per_device_train_batch_size=cfg["batch_size"],
                         gradient_accumulation_steps=1, learning_rate=cfg["learning_rate"],
                         lr_scheduler_type="constant",
                         warmup_steps=0.0, max_length=cfg["max_seq_length"], seed=cfg["seed"], data_seed=cfg["seed"],
                         logging_steps=cfg["logging_steps"], save_strategy="no", report_to="none", disable_tqdm=True,
                         use_cpu=not gpu, bf16=bf16, fp16=gpu and not bf16)
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_pandas(train[["text"]]),
                             processing_class=tok)
        trainer.train()
        trainer.model.save_pretrained(os.path.join(out, "adapter"))
    tokens = max(int(h.get("num_tokens", 0)) for h in trainer.state.log_history)
    return time.perf_counter() - t0, tokens


def pipeline(model_dir: str, data_path: str, cfg: dict[str, Any]) -> tr.Pipeline:
    """load_dataset -> format_sft(split) ; load_model -> apply_lora -> finetune (uncached)."""
    p = tr.Pipeline("bench-finetune")
    p.add("llm_load_dataset", id="data", source_type="jsonl_path", jsonl_path=data_path, max_samples=0)
    p.add("llm_train_val_split", id="split", val_ratio=0.1, shuffle_seed=0)
    p.add("llm_format_sft", id="fmt")
    p.add("llm_load_model", id="model", model_name=model_dir, load_in_4bit=False)
    p.add("llm_apply_lora", id="lora", r=8, lora_alpha=16, lora_dropout=0.0, seed=0)
    p.add("llm_finetune", id="ft", cache=False, **cfg)
    p.connect("data", "raw_dataset", "split", "clean_dataset")
    p.connect("split", "train_dataset", "fmt", "train_dataset")
    p.connect("split", "val_dataset", "fmt", "val_dataset")
    p.connect("model", "model_config", "lora", "model_config")
    p.connect("lora", "lora_config", "ft", "lora_config")
    p.connect("fmt", "train_sft", "ft", "sft_dataset")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--arch", default="llama", choices=["llama"])  # the plain script's LoRA targets are Llama's
    ap.add_argument("--model", default="", help="a local Llama-style model folder instead of the tiny one")
    args = ap.parse_args(argv)
    cfg = settings(args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        recs = records()
        data_path = os.path.join(tmp, "records.jsonl")
        with open(data_path, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in recs)
        model_dir = args.model or build_tiny_model(args.arch, os.path.join(tmp, "model"),
                                                   [r["instruction"] + " " + r["output"] for r in recs])
        p = pipeline(model_dir, data_path, cfg)
        store = os.path.join(tmp, "store")
        first = p.run(storage=store)
        if not first.ok:
            print("the pipeline failed:", {n: first.error(n) for n, s in first.status.items() if s == "failed"})
            return 1
        train = first.output("fmt", "train_sft")  # the very rows the node trains on
        tr_times: list[float] = []
        plain_times: list[float] = []
        tr_tokens = plain_tokens = 0
        for r in range(args.repeats):
            order = ["tensorrag", "plain"] if r % 2 == 0 else ["plain", "tensorrag"]
            for side in order:
                if side == "plain":
                    secs, plain_tokens = plain(model_dir, train, cfg)
                    plain_times.append(secs)
                else:
                    run = p.run(storage=store)
                    assert run.ok and run.status["ft"] == "completed", run.status
                    tr_times.append(float(run.execution_time or 0.0))
                    with open(os.path.join(run.output("ft"), "training.json"), encoding="utf-8") as fh:
                        tr_tokens = int(json.load(fh)["metrics"]["num_tokens"])
    t_tr, t_plain = statistics.median(tr_times), statistics.median(plain_times)
    if tr_tokens != plain_tokens:
        print(f"note: the two sides trained on different token counts ({tr_tokens} vs {plain_tokens})")
    ratio = (tr_tokens / t_tr) / (plain_tokens / t_plain)
    load = os.getloadavg()
    print(f"fine-tuning {args.steps} steps, {plain_tokens} tokens per run, median of {args.repeats}, "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'side':<12}{'seconds':>10}{'tokens/s':>12}")
    print(f"{'plain':<12}{t_plain:>10.2f}{plain_tokens / t_plain:>12.0f}")
    print(f"{'tensorrag':<12}{t_tr:>10.2f}{tr_tokens / t_tr:>12.0f}")
    verdict = "yes" if ratio >= TARGET else "NO"
    print(f"ratio (tensorrag / plain tokens/s): {ratio:.3f}  target >= {TARGET}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
