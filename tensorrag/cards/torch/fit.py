"""The training loop of ``train_gpu``: z-scored data, Adam, shuffled mini-batches, per-epoch history.

Kept apart from the card so the benchmark and the tests call exactly the loop the card runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tensorrag.cards.torch._torch import import_torch

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["FitResult", "Standardized", "fit_module", "loss_function", "standardize", "task_of"]


@dataclass
class Standardized:
    """z-scored features (and targets, for regression) with the statistics to undo it."""

    x: np.ndarray
    y: np.ndarray
    x_mean: list[float]
    x_std: list[float]
    y_mean: float | None = None
    y_std: float | None = None
    classes: list[Any] | None = None

    def normalization(self) -> dict[str, Any]:
        """The ``normalization`` block of a model description."""
        return {"x_mean": self.x_mean, "x_std": self.x_std, "y_mean": self.y_mean, "y_std": self.y_std}


def _stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean, np.where(std > 1e-12, std, 1.0)  # a constant column stays constant (0), not NaN


def task_of(requested: str, y: Any) -> str:
    """``regression`` or ``classification``; ``auto`` is classification for text/categorical/boolean targets."""
    import pandas as pd

    if requested in ("regression", "classification"):
        return requested
    dtype = getattr(y, "dtype", np.asarray(y).dtype)
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "classification"
    return "regression"


def standardize(x: Any, y: Any, task: str) -> Standardized:
    """z-score ``x`` (and ``y`` for regression); encode class labels as 0..k-1 (sorted) for classification."""
    xs = np.asarray(x, dtype=np.float64)
    x_mean, x_std = _stats(xs)
    xn = ((xs - x_mean) / x_std).astype(np.float32)
    if task == "classification":
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        return Standardized(xn, codes.astype(np.int64), x_mean.tolist(), x_std.tolist(), classes=classes.tolist())
    ys = np.asarray(y, dtype=np.float64)
    y_mean, y_std = float(ys.mean()), float(ys.std()) or 1.0
    yn = ((ys - y_mean) / y_std).astype(np.float32)
    return Standardized(xn, yn, x_mean.tolist(), x_std.tolist(), y_mean, y_std)


def loss_function(task: str) -> Any:
    """``CrossEntropyLoss`` for classification, ``MSELoss`` for regression."""
    torch = import_torch()
    return torch.nn.CrossEntropyLoss() if task == "classification" else torch.nn.MSELoss()


@dataclass
class FitResult:
    """What :func:`fit_module` measured."""

    loss_history: list[float] = field(default_factory=list)
    epochs_trained: int = 0
    stopped_early: bool = False
    samples_seen: int = 0


def fit_module(
    module: Any,
    data: Standardized,
    *,
    task: str,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    device: str,
    generator: Any,
    patience: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Train ``module`` in place with Adam on shuffled mini-batches; return the per-epoch mean loss.

    The data sit on ``device`` once; each epoch draws a permutation from ``generator`` (a CPU
    ``torch.Generator``, so the order is the same on every device). The loss of each batch is
    summed on the device and read once per epoch, so a GPU is not synchronised per batch.

    Args:
        module: the network (moved to ``device``).
        data: the standardised training data.
        task: ``regression`` (MSE on the z-scored target) or ``classification`` (cross-entropy).
        learning_rate: Adam's learning rate.
        epochs: passes over the data.
        batch_size: rows per step.
        device: ``cpu`` or ``cuda``.
        generator: seeded ``torch.Generator`` for the shuffles.
        patience: stop after this many epochs without a better loss (0: never stop early).
        on_epoch: called with ``(epoch, mean_loss)`` after each epoch (progress reporting).

    Returns:
        The loss history and the number of epochs run.
    """
    torch = import_torch()
    module.to(device)
    x = torch.from_numpy(data.x).to(device)
    y = torch.from_numpy(data.y).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=learning_rate)
    criterion = loss_function(task)
    regression = task != "classification"
    n = len(x)
    result = FitResult()
    best, since_best = math.inf, 0
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(n, generator=generator).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            out = module(x[idx])
            loss = criterion(out.squeeze(-1) if regression else out, y[idx])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        mean = float(total.item()) / n
        result.loss_history.append(mean)
        result.epochs_trained = epoch
        result.samples_seen += n
        if on_epoch is not None:
            on_epoch(epoch, mean)
        if patience > 0:
            if mean < best - 1e-6:
                best, since_best = mean, 0
            else:
                since_best += 1
                if since_best >= patience:
                    result.stopped_early = True
                    break
    module.eval()
    return result
