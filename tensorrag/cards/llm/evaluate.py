"""``llm_eval``: loss and perplexity on the validation split, fine-tuned and base (adapter off); exact match."""

from __future__ import annotations

import math
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import card_error, require
from tensorrag.cards.llm.loading import load_for_inference
from tensorrag.cards.previews import metrics_preview

__all__ = ["EvalCard", "example_texts", "mean_loss"]


def example_texts(card_type: str, config: dict[str, Any], df: Any, tokenizer: Any, port: str) -> list[Any]:
    """Each row as a text (``text``, or ``messages`` through the chat template) or a list of token ids."""
    if "input_ids" in df.columns:
        return [list(map(int, ids)) for ids in df["input_ids"]]
    if "text" in df.columns:
        return [str(t) for t in df["text"]]
    if "messages" in df.columns:
        return [tokenizer.apply_chat_template(list(map(dict, m)), tokenize=False) for m in df["messages"]]
    raise card_error(card_type, config, port,
                     f"input {port!r} needs a 'text', 'messages' or 'input_ids' column; it has {list(df.columns)}.")


def mean_loss(model: Any, tokenizer: Any, examples: list[Any], max_length: int, batch_size: int = 8) -> float:
    """The token-weighted mean cross-entropy of ``model`` on ``examples`` (EOS appended to texts)."""
    import torch

    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        if isinstance(chunk[0], str):
            eos = tokenizer.eos_token or ""
            enc = tokenizer([t + eos for t in chunk], return_tensors="pt", padding=True, truncation=True,
                            max_length=max_length)
        else:
            width = min(max_length, max(len(ids) for ids in chunk))
            pad = tokenizer.pad_token_id or 0
            ids = [ids[:width] + [pad] * (width - len(ids[:width])) for ids in chunk]
            mask = [[1] * min(len(c), width) + [0] * (width - min(len(c), width)) for c in chunk]
            enc = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}
        input_ids = enc["input_ids"].to(device)
        mask = enc["attention_mask"].to(device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
        shift_logits, shift_labels, shift_mask = logits[:, :-1], input_ids[:, 1:], mask[:, 1:]
        losses = torch.nn.functional.cross_entropy(
            shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1), reduction="none"
        ).view_as(shift_labels)
        total += float((losses * shift_mask).sum())
        count += int(shift_mask.sum())
    return total / count if count else float("nan")


def _exact_match(model: Any, tokenizer: Any, df: Any, n: int, max_new_tokens: int) -> float | None:
    if not n or "prompt" not in df.columns or "response" not in df.columns:
        return None
    import torch

    device = next(model.parameters()).device
    hits = 0
    rows = df.head(n).to_dict("records")
    for row in rows:
        enc = tokenizer(str(row["prompt"]), return_tensors="pt").to(device)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        got = tokenizer.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        hits += int(got.startswith(str(row["response"]).strip()) and bool(str(row["response"]).strip()))
    return hits / len(rows) if rows else None


class EvalCard(BaseCard):
    """Perplexity and loss of the fine-tuned model (and of the base model) on validation data."""

    card_type = "llm_eval"
    display_name = "LLM: Evaluate"
    description = "Loss and perplexity on the validation split, fine-tuned vs base; optional exact match."
    category = "evaluation"
    execution_mode = "modal"
    output_view_type = "metrics"
    config_schema = {
        "max_samples": {"type": "integer", "default": 256, "minimum": 1},
        "max_seq_length": {"type": "integer", "default": 512, "minimum": 8},
        "batch_size": {"type": "integer", "default": 8, "minimum": 1},
        "exact_match_samples": {"type": "integer", "default": 0, "minimum": 0,
                                "description": "greedy-generate this many prompts and compare with the response"},
        "max_new_tokens": {"type": "integer", "default": 32, "minimum": 1},
    }
    input_schema = {"ft_result": "directory", "val_tokens": "dataframe"}
    output_schema = {"eval_report": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Score."""
        require(self.card_type, "torch")
        df = storage.load_dataframe(inputs["val_tokens"]).head(int(config["max_samples"]))
        if len(df) == 0:
            raise card_error(self.card_type, config, "val_tokens", "the validation data has no rows.")
        model, tok = load_for_inference(self.card_type, config, storage.load_directory(inputs["ft_result"]),
                                        "ft_result")
        examples = example_texts(self.card_type, config, df, tok, "val_tokens")
        args = (tok, examples, int(config["max_seq_length"]), int(config["batch_size"]))
        loss = mean_loss(model, *args)
        report: dict[str, Any] = {"eval_loss": loss, "perplexity": math.exp(min(loss, 50)), "num_samples": len(df)}
        if hasattr(model, "disable_adapter"):
            with model.disable_adapter():
                base = mean_loss(model, *args)
            report.update(base_eval_loss=base, base_perplexity=math.exp(min(base, 50)))
        em = _exact_match(model, tok, df, int(config["exact_match_samples"]), int(config["max_new_tokens"]))
        if em is not None:
            report["exact_match"] = em
        print(", ".join(f"{k} {v:.4g}" for k, v in report.items() if isinstance(v, float)))
        return {"eval_report": storage.save_json(None, None, "eval_report", report)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The metrics."""
        return metrics_preview(storage.load_json(outputs["eval_report"]))
