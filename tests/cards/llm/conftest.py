"""LLM card tests run offline on tiny from-config models (see tiny.py); skipped without the llm extra."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

# Before anything imports huggingface_hub, which reads these once: a Hub lookup without them takes
# ~45 s to fail on a machine without internet.
for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

if TYPE_CHECKING:
    from pathlib import Path

for _name in ("torch", "transformers", "peft", "trl", "datasets", "tokenizers"):
    pytest.importorskip(_name, reason="needs the llm extra: pip install 'tensorrag[llm]'")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("TENSORRAG_DIR_CACHE", str(tmp_path_factory.getbasetemp() / "dir-cache"))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama-style model folder (built once per session)."""
    from tests.cards.llm.tiny import build_tiny

    folder = tmp_path_factory.mktemp("tiny-llama")
    build_tiny("llama", str(folder))
    return folder
