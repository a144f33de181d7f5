"""Lazy torch import, device choice and seeding shared by the torch cards."""

from __future__ import annotations

import random
from typing import Any

from tensorrag.errors import CardExecutionError

__all__ = ["DEVICES", "import_torch", "pick_device", "seed_everything"]

#: Values of the ``device`` config field: ``auto`` is ``cuda`` when available, else ``cpu``.
DEVICES = ("auto", "cpu", "cuda")


def import_torch(card_type: str = "torch cards") -> Any:
    """Import and return :mod:`torch`, or raise an error that says how to install it.

    Raises:
        CardExecutionError: torch is not installed.
    """
    try:
        import torch
    except ImportError as exc:
        raise CardExecutionError(
            f"{card_type} needs PyTorch, which is not installed here ({exc}). "
            "Install it with: pip install 'tensorrag[torch]'",
            card_type=card_type,
        ) from exc
    return torch


def pick_device(requested: str | None, card_type: str, node_id: str | None = None) -> str:
    """The device a node trains on: ``cuda`` when available for ``auto``, else ``cpu``.

    Raises:
        CardExecutionError: ``cuda`` was asked for and no CUDA device is visible.
    """
    torch = import_torch(card_type)
    want = (requested or "auto").lower()
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise CardExecutionError(
            f"{card_type}: device 'cuda' was requested but no CUDA GPU is visible to this worker. "
            "Use device 'auto' (falls back to cpu), or run the node on a GPU "
            "(resources={'gpu': 'T4'} on the modal executor).",
            node_id=node_id,
            card_type=card_type,
        )
    return want


def seed_everything(seed: int) -> Any:
    """Seed Python, NumPy and torch; return a ``torch.Generator`` for shuffling (CPU, seeded)."""
    import numpy as np

    torch = import_torch()
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen
