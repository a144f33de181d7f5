"""Loading models and tokenizers from ``directory`` artifacts, with the quantization rules of the LLM cards.

4-bit / 8-bit loading (bitsandbytes) needs CUDA: on a machine without it bitsandbytes loads
anyway and then trains wrongly, so the cards check ``torch.cuda.is_available()`` themselves and
either stop with a clear error (``quantization_fallback="error"``, the default) or load in full
precision and say so (``"full_precision"``).
"""

from __future__ import annotations

import os
from typing import Any

from tensorrag.cards.llm._common import card_error, cuda_available, hf_lock, read_meta, require, run_error

__all__ = [
    "DTYPES",
    "FALLBACKS",
    "base_and_adapter",
    "check_quantization",
    "load_causal_lm",
    "load_for_inference",
    "load_tokenizer",
    "model_summary",
]

DTYPES = ("auto", "float32", "float16", "bfloat16")
FALLBACKS = ("error", "full_precision")


def check_quantization(card_type: str, config: dict[str, Any], meta: dict[str, Any]) -> str:
    """The quantization to load with here: ``"4bit"``, ``"8bit"`` or ``"none"``.

    Raises:
        CardConfigError: 4/8-bit was asked for, there is no CUDA GPU, and the fallback is ``"error"``.
    """
    want = "4bit" if meta.get("load_in_4bit") else "8bit" if meta.get("load_in_8bit") else "none"
    if want == "none" or cuda_available():
        return want
    fallback = meta.get("quantization_fallback", "error")
    field = "load_in_4bit" if want == "4bit" else "load_in_8bit"
    if fallback == "full_precision":
        print(f"{card_type}: {field} needs a CUDA GPU and none is visible; loading in full precision instead "
              "(quantization_fallback='full_precision').")
        return "none"
    raise card_error(
        card_type,
        config,
        field,
        f"{field}=true needs a CUDA GPU (bitsandbytes), and torch sees none on this machine. Fix: run the "
        "node on a GPU (executor='modal' or 'auto' sends llm_* cards to a T4), set "
        f"{field}=false, or set quantization_fallback='full_precision' to load in full precision here.",
    )


def _dtype(torch: Any, name: str, quant: str) -> Any:
    if name in ("", "auto", None):
        if quant != "none":
            return torch.float16
        return torch.float16 if cuda_available() else torch.float32
    return getattr(torch, name)


def load_tokenizer(card_type: str, folder: str) -> Any:
    """The tokenizer saved in a model folder, with a pad token (EOS when it has none)."""
    (transformers,) = require(card_type, "transformers")
    with hf_lock():
        tok = transformers.AutoTokenizer.from_pretrained(folder)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(card_type: str, config: dict[str, Any], folder: str, *, training: bool = False) -> Any:
    """``AutoModelForCausalLM`` from a model folder, loaded as its ``tensorrag_llm.json`` says."""
    torch, transformers = require(card_type, "torch", "transformers")
    meta = read_meta(folder)
    quant = check_quantization(card_type, config, meta)
    kwargs: dict[str, Any] = {"dtype": _dtype(torch, str(meta.get("torch_dtype", "auto")), quant)}
    if quant != "none":
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=quant == "4bit",
            load_in_8bit=quant == "8bit",
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.float16,
            bnb_4bit_use_double_quant=True,
        )
        kwargs["device_map"] = "auto"
    elif cuda_available():
        kwargs["device_map"] = "auto"
    if meta.get("trust_remote_code"):
        kwargs["trust_remote_code"] = True
    try:
        with hf_lock():
            model = transformers.AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise run_error(card_type, config, f"cannot load the model folder as a causal LM: {exc}") from exc
    model.config.use_cache = not training
    return model


def base_and_adapter(card_type: str, config: dict[str, Any], folder: str, port: str) -> tuple[str, str | None]:
    """``(model folder, adapter folder or None)`` of a model directory or a LoRA directory (``base/`` + ``adapter/``).

    Raises:
        CardConfigError: the folder is neither.
    """
    if os.path.isfile(os.path.join(folder, "base", "config.json")):
        adapter = os.path.join(folder, "adapter")
        return os.path.join(folder, "base"), adapter if os.path.isdir(adapter) else None
    if os.path.isfile(os.path.join(folder, "config.json")):
        return folder, None
    raise card_error(
        card_type,
        config,
        port,
        f"input {port!r} is neither a model folder (config.json) nor a LoRA folder (base/ + adapter/); it holds "
        f"{sorted(os.listdir(folder))[:20]}. Connect the output of llm_load_model, llm_apply_lora, "
        "llm_finetune or llm_merge_export.",
    )


def load_for_inference(card_type: str, config: dict[str, Any], folder: str, port: str) -> tuple[Any, Any]:
    """``(model in eval mode, tokenizer)`` from a model or LoRA directory (the adapter applied when present)."""
    base, adapter = base_and_adapter(card_type, config, folder, port)
    model = load_causal_lm(card_type, config, base)
    if adapter is not None:
        (peft,) = require(card_type, "peft")
        with hf_lock():
            model = peft.PeftModel.from_pretrained(model, adapter)
    model.config.use_cache = True
    model.eval()
    return model, load_tokenizer(card_type, base)


def model_summary(model: Any) -> dict[str, Any]:
    """Parameters, trainable share, dtype, device and architecture numbers of a loaded model."""
    total = trainable = 0
    for p in model.parameters():
        n = p.numel()
        if hasattr(p, "quant_storage") or type(p).__name__ == "Params4bit":
            n *= 2  # bitsandbytes packs two 4-bit weights per byte
        total += n
        if p.requires_grad:
            trainable += n
    first = next(model.parameters())
    cfg = model.config
    return {
        "model_type": getattr(cfg, "model_type", type(model).__name__),
        "total_parameters": int(total),
        "trainable_parameters": int(trainable),
        "trainable_percent": round(100.0 * trainable / total, 4) if total else 0.0,
        "dtype": str(first.dtype).replace("torch.", ""),
        "device": str(first.device),
        "vocab_size": getattr(cfg, "vocab_size", None),
        "hidden_size": getattr(cfg, "hidden_size", getattr(cfg, "n_embd", None)),
        "num_layers": getattr(cfg, "num_hidden_layers", getattr(cfg, "n_layer", None)),
        "num_heads": getattr(cfg, "num_attention_heads", getattr(cfg, "n_head", None)),
    }
