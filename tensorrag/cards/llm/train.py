"""``llm_finetune`` and ``llm_finetune_lora``: supervised fine-tuning of the LoRA adapter with trl's ``SFTTrainer``.

The loss history is real: each logged step is printed and reported as progress, and the node's
``training_metrics`` extra holds it (with a ``loss_curve`` PNG). The output is a LoRA folder with
the trained adapter (``adapter/``) next to the model (``base/``).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import (
    card_error,
    cuda_available,
    hf_lock,
    link_tree,
    require,
    run_error,
    staging,
    write_meta,
)
from tensorrag.cards.llm.chart import line_png
from tensorrag.cards.llm.loading import base_and_adapter, load_causal_lm, load_tokenizer, model_summary
from tensorrag.cards.previews import json_safe

__all__ = ["TRAIN_SCHEMA", "FinetuneCard", "FinetuneLoraCard", "loss_curve_png", "run_sft", "sft_dataset"]

#: Config shared by both fine-tuning cards (besides epochs / batch size / learning rate).
TRAIN_SCHEMA: dict[str, Any] = {
    "max_steps": {"type": "integer", "default": 0, "minimum": 0, "description": "> 0 overrides epochs"},
    "gradient_accumulation_steps": {"type": "integer", "default": 4, "minimum": 1},
    "lr_scheduler_type": {"type": "string", "default": "cosine",
                          "enum": ["linear", "cosine", "constant", "constant_with_warmup", "polynomial"]},
    "warmup_ratio": {"type": "number", "default": 0.03, "minimum": 0, "maximum": 0.99},
    "max_seq_length": {"type": "integer", "default": 512, "minimum": 8},
    "packing": {"type": "boolean", "default": False},
    "seed": {"type": "integer", "default": 42},
    "logging_steps": {"type": "integer", "default": 10, "minimum": 1},
}


def sft_dataset(card_type: str, config: dict[str, Any], df: Any, port: str) -> Any:
    """A ``datasets.Dataset`` trl understands from an SFT table (``text``, ``messages`` or ``input_ids``)."""
    (datasets,) = require(card_type, "datasets")
    for cols in (["input_ids"], ["messages"], ["text"]):
        if cols[0] in df.columns:
            keep = [c for c in ("input_ids", "attention_mask") if c in df.columns] if cols[0] == "input_ids" else cols
            frame = df[keep].reset_index(drop=True)
            if cols[0] == "messages":
                frame = frame.assign(messages=[list(map(dict, m)) for m in frame["messages"]])
            if len(frame) == 0:
                raise card_error(card_type, config, port, f"input {port!r} has no rows to train on.")
            return datasets.Dataset.from_pandas(frame, preserve_index=False)
    raise card_error(
        card_type, config, port,
        f"input {port!r} needs a 'text', 'messages' or 'input_ids' column; it has {list(map(str, df.columns))}. "
        "Connect llm_format_sft (or llm_tokenize) before fine-tuning.",
    )


def loss_curve_png(history: list[dict[str, Any]]) -> bytes:
    """The training (blue) and validation (pink) loss per step as a PNG."""
    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    val = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    return line_png({"train loss": train, "validation loss": val})


def _callback(transformers: Any, storage: Any, history: list[dict[str, Any]]) -> Any:
    class Stream(transformers.TrainerCallback):  # type: ignore[misc, name-defined]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            logs = logs or {}
            row: dict[str, Any] = {"step": int(state.global_step)}
            for key in ("loss", "eval_loss", "learning_rate", "grad_norm"):
                if isinstance(logs.get(key), (int, float)):
                    row[key] = float(logs[key])
            if len(row) > 1:
                history.append(row)
                shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "step")
                print(f"step {row['step']}/{state.max_steps}: {shown}")

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            storage.progress(int(state.global_step), int(state.max_steps or 0))

    return Stream()


def run_sft(
    card_type: str, config: dict[str, Any], storage: Any, lora_ref: str, train_df: Any, val_df: Any | None,
    *, epochs: float, batch_size: int, learning_rate: float, out_key: str,
) -> str:
    """Train the adapter of the LoRA folder ``lora_ref`` on ``train_df``; save and return the new LoRA folder's ref."""
    torch, transformers, peft, trl = require(card_type, "torch", "transformers", "peft", "trl")
    folder = storage.load_directory(lora_ref)
    base, adapter = base_and_adapter(card_type, config, folder, "lora_config")
    if adapter is None:
        raise card_error(card_type, config, "lora_config",
                         "the input is a plain model, not a LoRA folder; put llm_apply_lora before fine-tuning.")
    seed = int(config["seed"])
    transformers.set_seed(seed)
    model = load_causal_lm(card_type, config, base, training=True)
    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = peft.prepare_model_for_kbit_training(model)
    with hf_lock():
        model = peft.PeftModel.from_pretrained(model, adapter, is_trainable=True)
    tokenizer = load_tokenizer(card_type, base)
    train_ds = sft_dataset(card_type, config, train_df, "train")
    val_ds = sft_dataset(card_type, config, val_df, "val") if val_df is not None and len(val_df) else None
    gpu = cuda_available()
    bf16 = gpu and torch.cuda.is_bf16_supported()
    history: list[dict[str, Any]] = []
    with staging() as stage:
        args = trl.SFTConfig(
            output_dir=os.path.join(stage, "trainer"),
            num_train_epochs=float(epochs),
            max_steps=int(config["max_steps"]) or -1,
            per_device_train_batch_size=int(batch_size),
            per_device_eval_batch_size=int(batch_size),
            gradient_accumulation_steps=int(config["gradient_accumulation_steps"]),
            learning_rate=float(learning_rate),
            lr_scheduler_type=config["lr_scheduler_type"],
            warmup_steps=float(config["warmup_ratio"]),
            max_length=int(config["max_seq_length"]),
            packing=bool(config["packing"]),
            seed=seed,
            data_seed=seed,
            logging_steps=int(config["logging_steps"]),
            save_strategy="no",
            eval_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=not gpu,
            bf16=bf16,
            fp16=gpu and not bf16,
        )
        with hf_lock():
            trainer = trl.SFTTrainer(
                model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, processing_class=tokenizer,
                callbacks=[_callback(transformers, storage, history)],
            )
        trainer.remove_callback(transformers.PrinterCallback)  # our callback prints each logged step once
        t0 = time.perf_counter()
        try:
            result = trainer.train()
        except torch.OutOfMemoryError as exc:
            raise run_error(card_type, config, f"out of GPU memory ({exc}). Lower batch_size or max_seq_length, "
                                               "or load_in_4bit=true, or a bigger GPU in resources.") from exc
        seconds = time.perf_counter() - t0
        metrics: dict[str, Any] = {
            "train_loss": float(result.training_loss),
            "steps": int(trainer.state.global_step),
            "train_seconds": round(seconds, 3),
        }
        # trl counts the tokens it trained on in its logs ("num_tokens", cumulative).
        metrics["num_tokens"] = max([int(h.get("num_tokens", 0)) for h in trainer.state.log_history] or [0])
        losses = [h["loss"] for h in history if "loss" in h]
        if losses:
            metrics.update(first_loss=losses[0], final_loss=losses[-1])
        if val_ds is not None:
            ev = trainer.evaluate()
            metrics["eval_loss"] = float(ev["eval_loss"])
            metrics["eval_perplexity"] = float(math.exp(min(ev["eval_loss"], 50)))
            history.append({"step": metrics["steps"], "eval_loss": metrics["eval_loss"]})
        summary = model_summary(trainer.model)
        out = os.path.join(stage, "out")
        link_tree(base, os.path.join(out, "base"))
        trainer.model.save_pretrained(os.path.join(out, "adapter"))
        with open(os.path.join(out, "training.json"), "w", encoding="utf-8") as fh:
            json.dump({"metrics": metrics, "history": history}, fh, indent=1)
        write_meta(out, {"summary": summary, "kind": "lora", "trained": True})
        ref = storage.save_directory(out_key, out)
    print(f"trained {metrics['steps']} steps in {seconds:.1f} s; loss {metrics.get('first_loss')} -> "
          f"{metrics.get('final_loss')}")
    storage.save_json(None, None, "training_metrics", {**metrics, "history": history})
    storage.save_bytes(None, None, "loss_curve", loss_curve_png(history), "png")
    return str(ref)


def _training_preview(storage: Any, ref: str) -> dict[str, Any]:
    folder = storage.load_directory(ref)
    with open(os.path.join(folder, "training.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    chart = storage.saved.get("loss_curve") if hasattr(storage, "saved") else None
    return json_safe({
        "metrics": data["metrics"],
        "loss_history": [h for h in data["history"] if "loss" in h],
        "chart_ref": chart.get("uri") if isinstance(chart, dict) else None,
    })


class FinetuneCard(BaseCard):
    """Fine-tune the LoRA adapter on an SFT table (the original S5 ``llm_finetune``)."""

    card_type = "llm_finetune"
    display_name = "LLM: Fine-tune (SFT)"
    description = "Supervised fine-tuning of the LoRA adapter with trl's SFTTrainer; real loss history."
    category = "training"
    execution_mode = "modal"
    output_view_type = "metrics"
    config_schema = {
        "epochs": {"type": "number", "default": 3, "exclusiveMinimum": 0},
        "batch_size": {"type": "integer", "default": 4, "minimum": 1},
        "learning_rate": {"type": "number", "default": 0.0002, "exclusiveMinimum": 0},
        **TRAIN_SCHEMA,
        "output_dir": {"type": "string", "default": "",
                       "description": "ignored: the adapter is the node's output artifact (kept for old files)"},
    }
    input_schema = {"lora_config": "directory", "sft_dataset": "dataframe"}
    output_schema = {"training_result": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Train."""
        df = storage.load_dataframe(inputs["sft_dataset"])
        ref = run_sft(self.card_type, config, storage, inputs["lora_config"], df, None,
                      epochs=config["epochs"], batch_size=config["batch_size"],
                      learning_rate=config["learning_rate"], out_key="training_result")
        return {"training_result": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """Metrics, loss history and the loss curve."""
        return _training_preview(storage, outputs["training_result"])


class FinetuneLoraCard(BaseCard):
    """Fine-tune the LoRA adapter on training data, scored on validation data (the original S6 card)."""

    card_type = "llm_finetune_lora"
    display_name = "LLM: Fine-tune LoRA"
    description = "LoRA fine-tuning with trl's SFTTrainer on train data, validation loss at the end."
    category = "training"
    execution_mode = "modal"
    output_view_type = "metrics"
    config_schema = {
        "num_epochs": {"type": "number", "default": 3, "exclusiveMinimum": 0},
        "batch_size": {"type": "integer", "default": 4, "minimum": 1},
        "learning_rate": {"type": "number", "default": 0.0002, "exclusiveMinimum": 0},
        **TRAIN_SCHEMA,
    }
    input_schema = {"lora_config": "directory", "train_tokens": "dataframe", "val_tokens": "dataframe"}
    output_schema = {"ft_result": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Train and score."""
        train = storage.load_dataframe(inputs["train_tokens"])
        val = storage.load_dataframe(inputs["val_tokens"])
        ref = run_sft(self.card_type, config, storage, inputs["lora_config"], train, val,
                      epochs=config["num_epochs"], batch_size=config["batch_size"],
                      learning_rate=config["learning_rate"], out_key="ft_result")
        return {"ft_result": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """Metrics, loss history and the loss curve."""
        return _training_preview(storage, outputs["ft_result"])
