"""Model loads in threads (the local executor) must not leave transformers' init patches behind.

``from_pretrained`` swaps torch's init functions for no-ops process-wide and restores what it found;
overlapping loads used to leave the no-ops in place, so every later model started from uninitialised
memory (seen as a NaN / 1e18 loss of a fresh GPT-2). The LLM cards hold one lock around each load.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def test_concurrent_loads_leave_torch_init_intact(tiny_llama: Path, tmp_path: Path) -> None:
    import torch
    from transformers import PreTrainedModel

    from tensorrag.cards.llm.loading import load_causal_lm
    from tensorrag.cards.llm.tiny import build_tiny_model

    originals = (torch.nn.init.normal_, torch.nn.init.kaiming_uniform_, PreTrainedModel.init_weights)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(i: int) -> None:
        try:
            start.wait()
            for _ in range(4):
                if i % 2:
                    load_causal_lm("t", {}, str(tiny_llama))
                else:
                    build_tiny_model("gpt2", str(tmp_path / f"m{i}"), ["hello world"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    assert (torch.nn.init.normal_, torch.nn.init.kaiming_uniform_, PreTrainedModel.init_weights) == originals
    from transformers import GPT2Config, GPT2LMHeadModel

    weights = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2)).transformer.wte.weight.detach()
    assert bool(torch.isfinite(weights).all()) and float(weights.abs().max()) < 1.0  # initialised (std 0.02)
