"""Issue 13's S5 chain on tiny models, end to end, checked with plain transformers (no tensorrag code on that side).

load_dataset -> filter_clean -> split -> format_sft ; fixture model -> load_checkpoint -> apply_lora ;
-> finetune_lora (30 steps) -> eval ; -> merge_export -> generate. Llama-style on the local executor
(local disk), GPT-2-style on the process executor over memory:// (payload mode: directories travel
as tar bytes).
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any

import pytest

from tensorrag.executors.process import ProcessExecutor
from tests.cards.llm.s5 import s5_pipeline

if TYPE_CHECKING:
    import tensorrag as tr

NODES = ("data", "clean", "split", "fmt", "tiny", "model", "lora", "ft", "eval", "merge", "gen")


def plain_mean_loss(folder: str, texts: list[str]) -> float:
    """Token-weighted mean loss of a saved model on ``texts``, with plain transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    total = count = 0.0
    for text in texts:
        ids = tok(text + tok.eos_token, return_tensors="pt")["input_ids"][:, :64]
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss
        n = ids.shape[1] - 1
        total, count = total + float(loss) * n, count + n
    return total / count


def check_run(run: tr.Run) -> dict[str, Any]:
    """The checks both executors must pass; returns the figures for the report."""
    assert run.ok, {n: (run.error(n) or {}).get("message") for n in run.status if run.status[n] == "failed"}
    assert set(run.status) == set(NODES)
    # The training loss falls (real SFTTrainer history, streamed as progress + logs).
    with open(os.path.join(run.output("ft"), "training.json"), encoding="utf-8") as fh:
        training = json.load(fh)
    losses = [h["loss"] for h in training["history"] if "loss" in h]
    assert len(losses) == 6 and losses[-1] < losses[0], losses
    assert training["metrics"]["steps"] == 30
    progress = [e for e in run.events if e["type"] == "progress" and e["node_id"] == "ft"]
    assert progress and progress[-1]["current"] == progress[-1]["total"] == 30
    assert "step 30/30: loss" in run.logs("ft")
    # Perplexity on the validation split: after < before (the card's report) ...
    report = run.output("eval")
    assert report["perplexity"] < report["base_perplexity"], (report, run.logs("eval"), run.logs("ft")[-3000:])
    assert math.isclose(report["perplexity"], math.exp(report["eval_loss"]), rel_tol=1e-9)
    # ... and the same verdict from plain transformers on the checkpoint and on the merged model.
    val_texts = list(run.output("fmt", "val_sft")["text"])
    base_loss = plain_mean_loss(run.output("tiny"), val_texts)
    merged_loss = plain_mean_loss(run.output("merge"), val_texts)
    assert merged_loss < base_loss
    assert math.isclose(merged_loss, report["eval_loss"], rel_tol=0.02), (merged_loss, report)
    # The merged model is a plain Hugging Face folder (safetensors) that loads and generates.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged = run.output("merge")
    assert "model.safetensors" in os.listdir(merged) and "adapter_config.json" not in os.listdir(merged)
    tok = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged)
    ids = tok("### Instruction:\nAdd 2 and 3.\n\n### Response:\n", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=5, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] > ids["input_ids"].shape[1]
    gen = run.output("gen")
    assert list(gen.columns) == ["prompt", "response", "tokens_generated", "backend"]
    assert len(gen) == 2 and set(gen["backend"]) == {"transformers"} and (gen["tokens_generated"] > 0).all()
    return {"losses": losses, **report, "plain_base_loss": base_loss, "plain_merged_loss": merged_loss}


@pytest.fixture(scope="module")
def llama_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[tr.Pipeline, str, tr.Run]:
    mp = pytest.MonkeyPatch()
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        mp.setenv(var, "1")
    mp.setenv("TENSORRAG_DIR_CACHE", str(tmp_path_factory.mktemp("dir-cache")))
    store = str(tmp_path_factory.mktemp("s5-store"))
    p = s5_pipeline("llama")
    try:
        yield p, store, p.run(storage=store, executor="local")
    finally:
        mp.undo()


@pytest.mark.slow
def test_llama_chain_on_the_local_executor(llama_run: tuple[tr.Pipeline, str, tr.Run]) -> None:
    figures = check_run(llama_run[2])
    print("llama/local", figures)


@pytest.mark.slow
def test_previews_show_samples_summary_loss_curve_and_generations(llama_run: tuple[tr.Pipeline, str, tr.Run]) -> None:
    run = llama_run[2]
    assert run.preview("data")["shape"]["rows"] == 200
    assert run.preview("clean")["shape"]["rows"] < 200  # empty, too short and duplicate records dropped
    summary = run.preview("lora")
    assert 0 < summary["trainable_parameters"] < summary["total_parameters"]
    assert summary["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]  # auto, for Llama
    assert {"dtype", "device", "trainable_percent"} <= set(run.preview("model"))
    ft = run.preview("ft")
    assert [h["step"] for h in ft["loss_history"]] == [5, 10, 15, 20, 25, 30]
    assert ft["chart_ref"].endswith("loss_curve.png")
    from tensorrag.storage import open_store

    png = open_store(llama_run[1]).read_bytes(ft["chart_ref"])
    assert png.startswith(b"\x89PNG")
    assert run.preview("eval")["metrics"]["perplexity"] > 0
    assert len(run.preview("gen")["rows"]) == 2


@pytest.mark.slow
def test_cached_rerun_then_learning_rate_reruns_finetune_and_below(
    llama_run: tuple[tr.Pipeline, str, tr.Run],
) -> None:
    p, store, first = llama_run
    assert first.ok
    again = p.run(storage=store, executor="local")
    assert set(again.status.values()) == {"cached"}, again.status
    p.configure("ft", learning_rate=0.002)
    changed = p.run(storage=store, executor="local")
    assert changed.ok
    below = {"ft", "eval", "merge", "gen"}
    assert {n for n, s in changed.status.items() if s == "completed"} == below, changed.status
    assert {n for n, s in changed.status.items() if s == "cached"} == set(NODES) - below


@pytest.mark.slow
def test_gpt2_chain_on_the_process_executor_in_payload_mode() -> None:
    import uuid

    p = s5_pipeline("gpt2")
    with ProcessExecutor(max_workers=1) as ex:  # one worker: the LLM stack is imported (and warmed) once
        run = p.run(storage=f"memory://s5-{uuid.uuid4().hex[:8]}", executor=ex)
    figures = check_run(run)
    print("gpt2/process", figures)
    summary = run.preview("lora")
    assert summary["target_modules"] == ["c_attn", "c_proj"]  # auto, for GPT-2
