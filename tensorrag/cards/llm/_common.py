"""Shared helpers of the LLM cards: lazy imports with an install hint, errors, model folders."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from tensorrag.cards.ml.define import card_error
from tensorrag.errors import CardExecutionError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

__all__ = [
    "INSTALL_HINT",
    "META",
    "card_error",
    "cuda_available",
    "hf_lock",
    "link_tree",
    "read_meta",
    "require",
    "run_error",
    "staging",
    "write_meta",
]

INSTALL_HINT = "pip install 'tensorrag[llm]'"
#: The file in a model folder that says how to load it.
META = "tensorrag_llm.json"


#: Held while a model or adapter is built or loaded. transformers' ``from_pretrained`` swaps torch's init
#: functions and ``PreTrainedModel.init_weights`` for no-ops process-wide and puts back what it found, so
#: two loads overlapping in threads (the local executor) can leave them as no-ops for good: every later
#: model in the process then starts from uninitialised memory.
_HF_LOCK = threading.RLock()


def hf_lock() -> threading.RLock:
    """The process-wide lock to hold around ``from_pretrained``, ``get_peft_model`` and building a model."""
    return _HF_LOCK


def require(card_type: str, *modules: str) -> list[ModuleType]:
    """Import ``modules`` (``torch``, ``transformers``, ``peft``, ``trl``) or fail with the install hint.

    Raises:
        CardExecutionError: a module is not installed.
    """
    import importlib

    out = []
    for name in modules:
        try:
            out.append(importlib.import_module(name))
        except ImportError as exc:
            raise CardExecutionError(
                f"{card_type}: needs {name!r}, which is not installed ({exc}). Fix: {INSTALL_HINT}.",
                card_type=card_type,
            ) from exc
    return out


def run_error(card_type: str, config: dict[str, Any], message: str) -> CardExecutionError:
    """A :class:`CardExecutionError` of the node running ``config``, prefixed with the card type."""
    return CardExecutionError(f"{card_type}: {message}", node_id=config.get("_node_id"), card_type=card_type)


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False when torch is missing)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@contextlib.contextmanager
def staging(prefix: str = "tensorrag-llm-") -> Iterator[str]:
    """A fresh local folder for files a card saves before ``storage.save_directory`` copies them; removed after."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def link_tree(src: str, dst: str) -> None:
    """Make ``dst`` hold ``src``'s files as symlinks (a read-only input copied into a new output cheaply)."""
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else os.path.join(dst, rel)
        os.makedirs(target, exist_ok=True)
        for f in filenames:
            if not f.startswith("."):
                os.symlink(os.path.realpath(os.path.join(dirpath, f)), os.path.join(target, f))


def read_meta(folder: str) -> dict[str, Any]:
    """The ``tensorrag_llm.json`` of a model folder (``{}`` when there is none)."""
    path = os.path.join(folder, META)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def write_meta(folder: str, meta: dict[str, Any]) -> None:
    """Write ``tensorrag_llm.json`` into a model folder."""
    with open(os.path.join(folder, META), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
