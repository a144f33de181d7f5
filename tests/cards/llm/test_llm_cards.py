"""The LLM cards one by one on a tiny model: errors that say what to do, fallbacks that say so."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tensorrag.cards.llm.data import FormatSftCard, LoadDatasetCard
from tensorrag.cards.llm.generate import VllmInferenceCard, VllmServeCard, split_prompts
from tensorrag.cards.llm.model import ApplyLoraCard, LoadModelCard
from tensorrag.cards.llm.tokenize import TokenizeCard
from tensorrag.errors import CardConfigError
from tests.cards.llm.tiny import DATA

if TYPE_CHECKING:
    from pathlib import Path

    from tests.cards.runner import Runner

no_cuda = pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the behaviour without CUDA"
)


@no_cuda
def test_4bit_without_cuda_is_a_clear_error(runner: Runner, tiny_llama: Path) -> None:
    with pytest.raises(CardConfigError, match=r"load_in_4bit=true needs a CUDA GPU.*quantization_fallback") as info:
        runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": True})
    assert info.value.problems[0]["field"] == "load_in_4bit"


@no_cuda
def test_4bit_fallback_loads_full_precision_and_says_so(runner: Runner, tiny_llama: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, preview, _ = runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": True,
                                                    "quantization_fallback": "full_precision"})
    assert preview["quantization"] == "none" and preview["dtype"] == "float32" and preview["device"] == "cpu"
    assert "loading in full precision instead" in capsys.readouterr().out


def test_hub_model_offline_says_so(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"cannot get model 'org/missing-model'.*HF_HUB_OFFLINE.*local"):
        runner.run(LoadModelCard, "m", {"model_name": "org/missing-model", "load_in_4bit": False})


def test_hub_dataset_offline_says_so(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"'tatsu-lab/alpaca'.*offline.*jsonl_path"):
        runner.run(LoadDatasetCard, "d", {})


def test_local_folder_model_lora_auto_targets_and_summary(runner: Runner, tiny_llama: Path) -> None:
    _, preview, _ = runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})
    assert preview["model_type"] == "llama" and preview["num_layers"] == 2 and preview["hidden_size"] == 64
    assert preview["trainable_percent"] == 100.0
    _, lora, _ = runner.run(ApplyLoraCard, "l", {"r": 4}, model_config=("m", "model_config"))
    assert lora["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"] and lora["r"] == 4
    assert 0 < lora["trainable_percent"] < 100


def test_unknown_target_module_lists_the_real_ones(runner: Runner, tiny_llama: Path) -> None:
    runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})
    with pytest.raises(CardConfigError, match=r"target_modules.*q_proj"):
        runner.run(ApplyLoraCard, "l", {"target_modules": "attn_qq"}, model_config=("m", "model_config"))


def test_chat_template_rows_are_messages(runner: Runner) -> None:
    runner.put("src", "train", pd.DataFrame([{"instruction": "Add 1 and 2.", "input": "", "output": "3."}]),
               "dataframe")
    runner.put("src", "val", pd.DataFrame([{"instruction": "Spell", "input": "cat", "output": "tac"}]), "dataframe")
    runner.run(FormatSftCard, "f", {"template": "chat"}, train_dataset=("src", "train"), val_dataset=("src", "val"))
    val = runner.load("f", "val_sft")
    assert list(val.columns) == ["messages", "prompt", "response"]
    assert [dict(m) for m in val["messages"][0]] == [{"role": "user", "content": "Spell\n\ncat"},
                                                     {"role": "assistant", "content": "tac"}]


def test_alpaca_template_drops_an_empty_input_section(runner: Runner) -> None:
    runner.put("src", "t", pd.DataFrame([{"instruction": "Add 1 and 2.", "input": "", "output": "3."}]), "dataframe")
    runner.run(FormatSftCard, "f", {}, train_dataset=("src", "t"), val_dataset=("src", "t"))
    row = runner.load("f", "train_sft").iloc[0]
    assert row["text"] == "### Instruction:\nAdd 1 and 2.\n\n### Response:\n3."
    assert row["prompt"] == "### Instruction:\nAdd 1 and 2.\n\n### Response:\n"


def test_bad_template_field_is_a_config_error(runner: Runner) -> None:
    runner.put("src", "t", pd.DataFrame([{"instruction": "a" * 20, "input": "", "output": "b"}]), "dataframe")
    with pytest.raises(CardConfigError, match=r"template cannot be filled.*KeyError"):
        runner.run(FormatSftCard, "f", {"template": "{question}"}, train_dataset=("src", "t"),
                   val_dataset=("src", "t"))


def test_tokenize_packs_full_blocks(runner: Runner, tiny_llama: Path) -> None:
    runner.put("src", "t", pd.DataFrame({"text": [f"### Instruction:\nAdd {i} and {i}." for i in range(40)]}),
               "dataframe")
    runner.run(TokenizeCard, "tok", {"model_name": str(tiny_llama), "max_length": 16, "packing": True},
               train_sft=("src", "t"), val_sft=("src", "t"))
    blocks = runner.load("tok", "train_tokens")
    assert len(blocks) > 1 and {len(b) for b in blocks["input_ids"]} == {16}
    runner.run(TokenizeCard, "tok2", {"model_name": str(tiny_llama), "max_length": 16, "packing": False},
               train_sft=("src", "t"), val_sft=("src", "t"))
    assert len(runner.load("tok2", "train_tokens")) == 40


def test_vllm_cards_fall_back_to_transformers_and_say_which_ran(runner: Runner, tiny_llama: Path) -> None:
    runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})
    runner.run(VllmInferenceCard, "v", {"prompts": "one\n---\ntwo", "max_tokens": 4, "temperature": 0},
               merged_model=("m", "model_config"))
    gens = runner.load("v", "generations")
    assert list(gens["prompt"]) == ["one", "two"] and set(gens["backend"]) == {"transformers"}
    _, info, _ = runner.run(VllmServeCard, "s", {"max_tokens": 4}, merged_model=("m", "model_config"))
    assert info["backend"] == "transformers" and info["served"] is False and info["endpoint_url"] is None
    assert "vllm serve" in info["serve_command"]


def test_prompts_split_on_dashes_or_lines() -> None:
    assert split_prompts("a\nb\n\nc") == ["a", "b", "c"]
    assert split_prompts("line 1\nline 2\n---\nnext") == ["line 1\nline 2", "next"]
    assert split_prompts("a\\nb") == ["a", "b"]  # a literal \n from a config form


def test_load_dataset_reads_jsonl_and_limits(runner: Runner) -> None:
    _, preview, _ = runner.run(LoadDatasetCard, "d", {"source_type": "jsonl_path", "jsonl_path": DATA,
                                                      "max_samples": 50})
    assert preview["shape"]["rows"] == 50 and {"instruction", "input", "output"} <= set(runner.load("d", "raw_dataset"))
    assert LoadDatasetCard().cache_token({"source_type": "jsonl_path", "jsonl_path": DATA}).startswith("file:")


def test_every_llm_card_is_listed_with_its_original_ports() -> None:
    import tensorrag as tr

    cards = {c["card_type"]: c for c in tr.list_cards() if c["card_type"].startswith("llm_")}
    assert set(cards) >= {"llm_load_dataset", "llm_filter_clean", "llm_train_val_split", "llm_format_sft",
                          "llm_tokenize", "llm_load_model", "llm_apply_lora", "llm_finetune", "llm_finetune_lora",
                          "llm_eval", "llm_merge_export", "llm_generate", "llm_vllm_inference", "llm_vllm_serve"}
    assert cards["llm_finetune_lora"]["input_schema"] == {"lora_config": "directory", "train_tokens": "dataframe",
                                                          "val_tokens": "dataframe"}
    assert cards["llm_vllm_serve"]["output_schema"] == {"deployment_info": "json"}
