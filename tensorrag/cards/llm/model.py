"""``llm_load_model``, ``llm_load_checkpoint`` and ``llm_apply_lora``: a model folder, then a LoRA folder."""

from __future__ import annotations

import os
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import (
    card_error,
    hf_lock,
    link_tree,
    read_meta,
    require,
    run_error,
    staging,
    write_meta,
)
from tensorrag.cards.llm.loading import DTYPES, FALLBACKS, load_causal_lm, model_summary
from tensorrag.cards.previews import json_safe

__all__ = ["ApplyLoraCard", "LoadCheckpointCard", "LoadModelCard", "auto_target_modules", "hub_folder"]

# Attention (and for some, MLP) projections per architecture: what `target_modules="auto"` picks.
_TARGETS = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mixtral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense"],
    "gpt2": ["c_attn", "c_proj"],
    "gpt_neox": ["query_key_value", "dense"],
    "falcon": ["query_key_value", "dense"],
    "opt": ["q_proj", "k_proj", "v_proj", "out_proj"],
}

_LOAD_SCHEMA: dict[str, Any] = {
    "load_in_4bit": {"type": "boolean", "default": True, "description": "nf4 4-bit (bitsandbytes); needs CUDA"},
    "load_in_8bit": {"type": "boolean", "default": False, "description": "8-bit (bitsandbytes); needs CUDA"},
    "quantization_fallback": {
        "type": "string",
        "enum": list(FALLBACKS),
        "default": "error",
        "description": "without CUDA: stop with an error, or load in full precision",
    },
    "torch_dtype": {"type": "string", "enum": list(DTYPES), "default": "auto"},
    "trust_remote_code": {"type": "boolean", "default": False},
}


def auto_target_modules(model: Any) -> list[str] | str:
    """The LoRA target modules for ``model``'s architecture (``"all-linear"`` when it is not known)."""
    model_type = getattr(model.config, "model_type", "")
    if model_type in _TARGETS:
        return list(_TARGETS[model_type])
    try:
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as known
    except ImportError:
        known = {}
    found = known.get(model_type)
    return list(found) if isinstance(found, list) else "all-linear"


def _stage_model(card_type: str, config: dict[str, Any], source: str, stage: str) -> dict[str, Any]:
    """Link ``source``'s files into ``stage``, write how to load them, load once; returns the summary."""
    if not os.path.isfile(os.path.join(source, "config.json")):
        raise run_error(
            card_type,
            config,
            f"{source!r} is not a Hugging Face model folder (no config.json). Save one with "
            "model.save_pretrained(folder) and tokenizer.save_pretrained(folder).",
        )
    link_tree(source, stage)
    meta_path = os.path.join(stage, "tensorrag_llm.json")
    if os.path.islink(meta_path):
        os.remove(meta_path)  # a new load says how it is loaded
    if config.get("load_in_4bit") and config.get("load_in_8bit"):
        raise card_error(card_type, config, "load_in_8bit", "choose one of load_in_4bit and load_in_8bit, not both.")
    meta = {k: config.get(k) for k in _LOAD_SCHEMA}
    meta["source"] = config.get("model_name") or "artifact"
    write_meta(stage, meta)
    model = load_causal_lm(card_type, config, stage)
    summary = model_summary(model)
    summary["source"] = meta["source"]
    summary["quantization"] = "4bit" if getattr(model, "is_loaded_in_4bit", False) else (
        "8bit" if getattr(model, "is_loaded_in_8bit", False) else "none")
    write_meta(stage, {**meta, "summary": summary})
    return summary


def hub_folder(card_type: str, config: dict[str, Any], name: str) -> str:
    """A local folder for ``name``: the folder itself, or the Hub snapshot (clear error offline)."""
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.abspath(os.path.expanduser(name))
    if os.sep in name and name.startswith((".", "/", "~")):
        raise card_error(card_type, config, "model_name", f"model_name {name!r} looks like a path, but no such folder.")
    require(card_type, "transformers")
    from huggingface_hub import snapshot_download

    try:
        return str(
            snapshot_download(
                name,
                revision=config.get("revision") or None,
                cache_dir=config.get("cache_dir") or None,
                allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py"],
            )
        )
    except Exception as exc:  # offline, unknown repo, gated, network down: all say the same thing to the user
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        why = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline else f"{type(exc).__name__}: {exc}"
        raise card_error(
            card_type,
            config,
            "model_name",
            f"cannot get model {name!r} from the Hugging Face Hub ({why}). Fix: connect to the internet (and "
            "log in for gated models), pre-download it with `huggingface-cli download`, or set model_name to a "
            "local model folder.",
        ) from exc


def _model_preview(storage: Any, ref: str) -> dict[str, Any]:
    folder = storage.load_directory(ref)
    meta = read_meta(folder)
    if not meta:
        meta = read_meta(os.path.join(folder, "base"))
    return json_safe(meta.get("summary") or {})


class LoadModelCard(BaseCard):
    """Load a causal LM (hub id or local folder) and its tokenizer into a ``directory`` artifact."""

    card_type = "llm_load_model"
    display_name = "LLM: Load Model"
    description = (
        "Load a causal language model and its tokenizer from the Hugging Face Hub or a local folder "
        "(optionally 4-bit / 8-bit on CUDA); the output is a model folder artifact."
    )
    category = "model"
    execution_mode = "modal"
    output_view_type = "model_summary"
    config_schema = {
        "model_name": {"type": "string", "default": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                       "description": "a Hub id or a local model folder"},
        **_LOAD_SCHEMA,
        "revision": {"type": "string", "default": ""},
        "cache_dir": {"type": "string", "default": "", "description": "Hugging Face cache (default: HF_HOME)"},
    }
    input_schema = {}
    output_schema = {"model_config": "directory"}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """A local folder's file stamps; a Hub id with its revision."""
        name = str(config.get("model_name") or "")
        path = os.path.expanduser(name)
        if os.path.isdir(path):
            parts = []
            for dirpath, _, files in os.walk(path):
                for f in sorted(files):
                    st = os.stat(os.path.join(dirpath, f))
                    parts.append(f"{os.path.relpath(os.path.join(dirpath, f), path)}:{st.st_size}:{st.st_mtime_ns}")
            return "dir:" + ";".join(sorted(parts))
        return f"hub:{name}@{config.get('revision') or 'main'}"

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Resolve, stage and summarise the model."""
        name = str(config.get("model_name") or "").strip()
        if not name:
            raise card_error(self.card_type, config, "model_name", "model_name is empty; give a Hub id or a folder.")
        source = hub_folder(self.card_type, config, name)
        with staging() as stage:
            summary = _stage_model(self.card_type, config, source, stage)
            print(f"loaded {name}: {summary['total_parameters']:,} parameters, {summary['dtype']} "
                  f"on {summary['device']}")
            return {"model_config": storage.save_directory("model_config", stage)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The model summary."""
        return _model_preview(storage, outputs["model_config"])


class LoadCheckpointCard(BaseCard):
    """``llm_load_model`` for a model that is already a ``directory`` artifact (a merged model, a fixture)."""

    card_type = "llm_load_checkpoint"
    display_name = "LLM: Load Checkpoint"
    description = "Load a model folder artifact (e.g. a merged model) with new quantization settings."
    category = "model"
    execution_mode = "modal"
    output_view_type = "model_summary"
    config_schema = dict(_LOAD_SCHEMA)
    input_schema = {"checkpoint": "directory"}
    output_schema = {"model_config": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Stage the checkpoint with this node's load settings."""
        source = storage.load_directory(inputs["checkpoint"])
        with staging() as stage:
            _stage_model(self.card_type, {**config, "model_name": ""}, source, stage)
            return {"model_config": storage.save_directory("model_config", stage)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The model summary."""
        return _model_preview(storage, outputs["model_config"])


class ApplyLoraCard(BaseCard):
    """Wrap the model with a fresh LoRA adapter (peft); the output holds the model and the adapter."""

    card_type = "llm_apply_lora"
    display_name = "LLM: Apply LoRA"
    description = "Add a LoRA adapter (r, alpha, dropout, target modules; 'auto' picks them per architecture)."
    category = "model"
    execution_mode = "modal"
    output_view_type = "model_summary"
    config_schema = {
        "r": {"type": "integer", "default": 16, "minimum": 1},
        "lora_alpha": {"type": "number", "default": 32},
        "lora_dropout": {"type": "number", "default": 0.05, "minimum": 0, "maximum": 1},
        "target_modules": {"type": "string", "default": "auto",
                           "description": "comma-separated module names, 'auto' or 'all-linear'"},
        "bias": {"type": "string", "enum": ["none", "all", "lora_only"], "default": "none"},
        "seed": {"type": "integer", "default": 42},
    }
    input_schema = {"model_config": "directory"}
    output_schema = {"lora_config": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Build the adapter and save it next to the model."""
        torch, peft = require(self.card_type, "torch", "peft")
        folder = storage.load_directory(inputs["model_config"])
        torch.manual_seed(int(config["seed"]))
        model = load_causal_lm(self.card_type, config, folder, training=True)
        if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
            model = peft.prepare_model_for_kbit_training(model)
        raw = str(config["target_modules"]).strip()
        targets: list[str] | str
        if raw in ("", "auto"):
            targets = auto_target_modules(model)
        elif raw == "all-linear":
            targets = raw
        else:
            targets = [t.strip() for t in raw.split(",") if t.strip()]
        lora = peft.LoraConfig(
            r=int(config["r"]),
            lora_alpha=float(config["lora_alpha"]),
            lora_dropout=float(config["lora_dropout"]),
            target_modules=targets,
            bias=config["bias"],
            task_type="CAUSAL_LM",
            fan_in_fan_out=getattr(model.config, "model_type", "") == "gpt2",  # GPT-2 uses Conv1D layers
        )
        try:
            with hf_lock():
                wrapped = peft.get_peft_model(model, lora)
        except ValueError as exc:
            names = sorted({n.rsplit(".", 1)[-1] for n, _ in model.named_modules() if n} - {""})
            names = [n for n in names if not n.isdigit()][:40]
            raise card_error(
                self.card_type, config, "target_modules",
                f"target_modules {targets!r} do not fit this model ({str(exc).rstrip('.')}). Fix: 'auto', "
                f"'all-linear', or a comma-separated list of its module names: {', '.join(names)}.",
            ) from exc
        summary = model_summary(wrapped)
        summary.update(r=lora.r, lora_alpha=lora.lora_alpha, lora_dropout=lora.lora_dropout,
                       target_modules=sorted(lora.target_modules) if isinstance(lora.target_modules, set)
                       else lora.target_modules)
        print(f"LoRA on {summary['target_modules']}: {summary['trainable_parameters']:,} trainable parameters "
              f"({summary['trainable_percent']}%)")
        with staging() as stage:
            link_tree(folder, os.path.join(stage, "base"))
            wrapped.save_pretrained(os.path.join(stage, "adapter"))
            write_meta(stage, {"summary": summary, "kind": "lora"})
            return {"lora_config": storage.save_directory("lora_config", stage)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The model summary with the LoRA settings and the trainable share."""
        return _model_preview(storage, outputs["lora_config"])
