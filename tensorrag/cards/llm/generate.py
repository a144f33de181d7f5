"""``llm_generate``, ``llm_vllm_inference`` and ``llm_vllm_serve``: prompts in, generations (or an endpoint) out.

vLLM runs where it is installed and a CUDA GPU is visible (a Modal GPU); elsewhere the same
table comes from transformers ``generate``, and its ``backend`` column says which one ran.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pandas as pd

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import card_error, cuda_available, require
from tensorrag.cards.llm.loading import base_and_adapter, load_for_inference
from tensorrag.cards.llm.serve import SERVE_CONFIG, deploy_info, plan, smoke_info, wants_cache
from tensorrag.cards.previews import json_safe, table_preview

__all__ = ["GenerateCard", "VllmInferenceCard", "VllmServeCard", "generate_table", "split_prompts", "vllm_usable"]

_PROMPTS = "### Instruction:\nSay hello.\n\n### Response:\n"


def split_prompts(text: str) -> list[str]:
    """Prompts from a config string: separated by lines holding only ``---``, else one per line."""
    text = str(text).replace("\\n", "\n")
    padded = f"\n{text}\n"
    parts = [p.strip("\n") for p in padded.split("\n---\n")] if "\n---\n" in padded else text.splitlines()
    return [p for p in parts if p.strip()]


def vllm_usable() -> bool:
    """Whether vLLM is installed and a CUDA GPU is visible."""
    return importlib.util.find_spec("vllm") is not None and cuda_available()


def _transformers_generate(card_type: str, config: dict[str, Any], folder: str, port: str,
                           prompts: list[str], max_new: int) -> list[dict[str, Any]]:
    import torch

    model, tok = load_for_inference(card_type, config, folder, port)
    device = next(model.parameters()).device
    temperature = float(config["temperature"])
    torch.manual_seed(int(config.get("seed", 42)))
    rows = []
    for prompt in prompts:
        enc = tok(prompt, return_tensors="pt").to(device)
        sample = temperature > 0
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": sample, "pad_token_id": tok.pad_token_id}
        if sample:
            kwargs.update(temperature=temperature, top_p=float(config["top_p"]))
        with torch.no_grad():
            out = model.generate(**enc, **kwargs)
        new = out[0][enc["input_ids"].shape[1]:]
        rows.append({"prompt": prompt, "response": tok.decode(new, skip_special_tokens=True),
                     "tokens_generated": int(new.shape[0]), "backend": "transformers"})
    return rows


def _vllm_generate(config: dict[str, Any], folder: str, prompts: list[str], max_new: int) -> list[dict[str, Any]]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=folder)
    params = SamplingParams(temperature=float(config["temperature"]), top_p=float(config["top_p"]),
                            max_tokens=max_new, seed=int(config.get("seed", 42)))
    rows = []
    for prompt, result in zip(prompts, llm.generate(prompts, params), strict=True):
        out = result.outputs[0]
        rows.append({"prompt": prompt, "response": out.text, "tokens_generated": len(out.token_ids),
                     "backend": "vllm"})
    return rows


def generate_table(card_type: str, config: dict[str, Any], storage: Any, ref: str, port: str, max_new: int,
                   *, allow_vllm: bool) -> pd.DataFrame:
    """Generations for the configured prompts from the model (or LoRA) folder ``ref``."""
    require(card_type, "torch", "transformers")
    prompts = split_prompts(config["prompts"])
    if not prompts:
        raise card_error(card_type, config, "prompts", "no prompts given; write one per line (or separate with ---).")
    folder = storage.load_directory(ref)
    _, adapter = base_and_adapter(card_type, config, folder, port)
    if allow_vllm and adapter is None and vllm_usable():
        rows = _vllm_generate(config, folder, prompts, max_new)
    else:
        if allow_vllm:
            print("vLLM is not installed or no CUDA GPU is visible: generating with transformers instead.")
        rows = _transformers_generate(card_type, config, folder, port, prompts, max_new)
    return pd.DataFrame(rows, columns=["prompt", "response", "tokens_generated", "backend"])


_SAMPLING: dict[str, Any] = {
    "temperature": {"type": "number", "default": 0.7, "minimum": 0, "description": "0 = greedy"},
    "top_p": {"type": "number", "default": 0.9, "exclusiveMinimum": 0, "maximum": 1},
    "seed": {"type": "integer", "default": 42},
}


class GenerateCard(BaseCard):
    """Generate responses for prompts with transformers (a merged model, a LoRA folder or a loaded model)."""

    card_type = "llm_generate"
    display_name = "LLM: Generate"
    description = "Prompts (one per line, or separated by ---) to a table of generations (transformers generate)."
    category = "inference"
    execution_mode = "modal"
    output_view_type = "table"
    config_schema = {
        "prompts": {"type": "string", "default": _PROMPTS},
        "max_new_tokens": {"type": "integer", "default": 64, "minimum": 1},
        **_SAMPLING,
    }
    input_schema = {"model": "directory"}
    output_schema = {"generations": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Generate."""
        df = generate_table(self.card_type, config, storage, inputs["model"], "model", int(config["max_new_tokens"]),
                            allow_vllm=False)
        return {"generations": storage.save_dataframe(None, None, "generations", df)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The generations table."""
        return table_preview(storage.load_dataframe(outputs["generations"]))


class VllmInferenceCard(BaseCard):
    """Batch generation with vLLM on a GPU (transformers elsewhere), from the original S5 template."""

    card_type = "llm_vllm_inference"
    display_name = "LLM: vLLM Inference"
    description = "Generate with vLLM where installed on a GPU, else transformers; the backend column says which."
    category = "inference"
    execution_mode = "modal"
    output_view_type = "table"
    config_schema = {
        "prompts": {"type": "string", "default": _PROMPTS},
        "max_tokens": {"type": "integer", "default": 256, "minimum": 1},
        **_SAMPLING,
    }
    input_schema = {"merged_model": "directory"}
    output_schema = {"generations": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Generate."""
        df = generate_table(self.card_type, config, storage, inputs["merged_model"], "merged_model",
                            int(config["max_tokens"]), allow_vllm=True)
        return {"generations": storage.save_dataframe(None, None, "generations", df)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The generations table."""
        return table_preview(storage.load_dataframe(outputs["generations"]))


class VllmServeCard(BaseCard):
    """Serve the merged model: a Modal vLLM endpoint on Modal, a local smoke test elsewhere (see serve.py)."""

    card_type = "llm_vllm_serve"
    display_name = "LLM: vLLM Serve"
    description = (
        "On Modal: deploy an OpenAI-compatible vLLM endpoint for the merged model and report its URL. "
        "Elsewhere: one sample completion (vLLM on a GPU, else transformers) and the command that serves it."
    )
    category = "inference"
    execution_mode = "modal"
    output_view_type = "metrics"
    config_schema = {
        "deployment_name": {"type": "string", "default": "llm-finetune-v1"},
        "port": {"type": "integer", "default": 8001, "minimum": 1, "maximum": 65535},
        "max_batch_tokens": {"type": "integer", "default": 8192, "minimum": 1},
        "prompts": {"type": "string", "default": _PROMPTS},
        "max_tokens": {"type": "integer", "default": 32, "minimum": 1},
        **_SAMPLING,
        **SERVE_CONFIG,
    }
    input_schema = {"merged_model": "directory"}
    output_schema = {"deployment_info": "json"}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """A deployment is never served from cache (the app may be gone); a smoke test is."""
        return "" if wants_cache(config) else None

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Deploy and check the endpoint, or run one sample locally and say why nothing was deployed."""
        first = split_prompts(config["prompts"])[:1]
        spec = plan(self.card_type, config, storage, "merged_model")
        if isinstance(spec, str):
            df = generate_table(self.card_type, {**config, "prompts": first[0] if first else ""}, storage,
                                inputs["merged_model"], "merged_model", int(config["max_tokens"]), allow_vllm=True)
            info = smoke_info(config, df, inputs["merged_model"], spec)
        else:
            info = deploy_info(self.card_type, config, spec, first[0] if first else None)
        return {"deployment_info": storage.save_json(None, None, "deployment_info", info)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The deployment info."""
        return json_safe(storage.load_json(outputs["deployment_info"]))
