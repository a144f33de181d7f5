"""``llm_merge_export``: merge the trained adapter into the model (``merge_and_unload``) as a plain model folder."""

from __future__ import annotations

import os
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import (
    card_error,
    cuda_available,
    hf_lock,
    read_meta,
    require,
    run_error,
    staging,
    write_meta,
)
from tensorrag.cards.llm.loading import base_and_adapter, load_tokenizer, model_summary
from tensorrag.cards.previews import json_safe

__all__ = ["MergeExportCard", "folder_size"]


def folder_size(folder: str) -> int:
    """Total bytes of the files under ``folder``."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


class MergeExportCard(BaseCard):
    """Merge the LoRA adapter into the full-precision model and save it (safetensors by default)."""

    card_type = "llm_merge_export"
    display_name = "LLM: Merge & Export"
    description = "merge_and_unload the adapter into the model; a plain Hugging Face model folder (safetensors)."
    category = "model"
    execution_mode = "modal"
    output_view_type = "model_summary"
    config_schema = {
        "save_format": {"type": "string", "enum": ["safetensors", "pytorch"], "default": "safetensors"},
        "torch_dtype": {"type": "string", "enum": ["float32", "float16", "bfloat16", "auto"], "default": "auto"},
        "push_to_hub": {"type": "boolean", "default": False},
        "hub_repo": {"type": "string", "default": ""},
        "merged_output_dir": {"type": "string", "default": "",
                              "description": "ignored: the merged model is the node's output artifact"},
    }
    input_schema = {"ft_result": "directory"}
    output_schema = {"merged_model": "directory"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Merge, save, report the size."""
        torch, transformers, peft = require(self.card_type, "torch", "transformers", "peft")
        folder = storage.load_directory(inputs["ft_result"])
        base, adapter = base_and_adapter(self.card_type, config, folder, "ft_result")
        if adapter is None:
            raise card_error(self.card_type, config, "ft_result", "the input has no adapter to merge.")
        name = str(config["torch_dtype"])
        dtype = getattr(torch, name) if name != "auto" else (torch.float16 if cuda_available() else torch.float32)
        # Merge into unquantized weights: a 4-bit base cannot hold merged LoRA deltas exactly.
        with hf_lock():
            model = transformers.AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
            merged = peft.PeftModel.from_pretrained(model, adapter).merge_and_unload()
        tok = load_tokenizer(self.card_type, base)
        with staging() as stage:
            merged.save_pretrained(stage, safe_serialization=config["save_format"] == "safetensors")
            tok.save_pretrained(stage)
            size = folder_size(stage)
            summary = model_summary(merged)
            summary.update(size_mb=round(size / 2**20, 3), save_format=config["save_format"])
            write_meta(stage, {"source": "merged", "torch_dtype": str(dtype).replace("torch.", ""),
                               "summary": summary, "base": read_meta(base).get("source")})
            if config["push_to_hub"]:
                repo = str(config["hub_repo"]).strip()
                if not repo:
                    raise card_error(self.card_type, config, "hub_repo", "push_to_hub=true needs hub_repo (user/name).")
                try:
                    merged.push_to_hub(repo)
                    tok.push_to_hub(repo)
                except Exception as exc:  # offline, no token, no rights
                    raise run_error(self.card_type, config, f"push to the Hub repo {repo!r} failed: {exc}. Log in "
                                    "with `huggingface-cli login` (or HF_TOKEN) and check the network.") from exc
            print(f"merged model: {size / 2**20:.2f} MiB ({config['save_format']})")
            return {"merged_model": storage.save_directory("merged_model", stage)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The merged model's summary and size."""
        return json_safe(read_meta(storage.load_directory(outputs["merged_model"])).get("summary") or {})
