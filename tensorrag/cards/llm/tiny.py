"""Tiny causal LMs built offline from a config: for examples, benchmarks and tests without a Hub download.

A Llama-style or GPT-2-style model (2 layers, 64 dims, random weights) with a byte-level BPE
tokenizer trained on the fly (``tokenizers``) on the texts you give. It learns quickly and
generates nonsense: use it to try a pipeline end to end, never to judge quality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.llm._common import hf_lock, require

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ARCHS", "build_tiny_model"]

#: The architectures :func:`build_tiny_model` can build.
ARCHS = ("llama", "gpt2")


def build_tiny_model(arch: str, folder: str, texts: Iterable[str], seed: int = 0, vocab_size: int = 400) -> str:
    """Save a tiny ``arch`` model and its tokenizer (trained on ``texts``) in ``folder``; returns ``folder``.

    Raises:
        ValueError: ``arch`` is not one of :data:`ARCHS`.
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}.")
    torch, transformers, tokenizers = require("build_tiny_model", "torch", "transformers", "tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([*texts, "### Instruction:\n### Input:\n### Response:\n"], trainer)
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                              bos_token="<|endoftext|>", pad_token="<pad>")
    ids = {"bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id, "pad_token_id": hf.pad_token_id}
    model: Any
    with hf_lock():  # building a model while another thread runs from_pretrained would skip its init
        torch.manual_seed(seed)
        model = _build(transformers, arch, len(hf), ids)
    model.save_pretrained(folder)
    hf.save_pretrained(folder)
    return folder


def _build(transformers: Any, arch: str, vocab: int, ids: dict[str, Any]) -> Any:
    if arch == "llama":
        cfg = transformers.LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
                                       tie_word_embeddings=False, **ids)
        return transformers.LlamaForCausalLM(cfg)
    cfg = transformers.GPT2Config(vocab_size=vocab, n_embd=64, n_layer=2, n_head=4, n_positions=256, **ids)
    return transformers.GPT2LMHeadModel(cfg)
