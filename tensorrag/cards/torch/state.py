"""The training-state artifact of the step-by-step ``training_*`` cards, and the operations on it.

Autograd cannot cross cards (each card runs in its own call, maybe its own process), so one
artifact carries everything a step needs: the weights, the optimiser (type, hyperparameters and
its state tensors: Adam's moments and step counts), the current batch and the gradients. A
``.trstate`` file is a ``.trtorch`` zip whose description has a ``state`` block and whose
weights file also holds ``grad.<name>``, ``optim.<i>.<key>`` and ``batch.X`` / ``batch.y``.

Every operation returns a new state (inputs are artifacts: never changed in place). Dropout in
``forward`` is seeded by ``(seed, step)`` so ``backward`` can recompute exactly the forward pass
whose loss ``training_loss`` reported. Gradients live from ``backward`` to ``optimizer_step``,
which consumes them, so they never accumulate across steps.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from tensorrag.cards.torch._torch import import_torch
from tensorrag.cards.torch.artifact import TorchModel, build_module, pack, unpack

__all__ = [
    "LOSS_TYPES",
    "OPTIMIZERS",
    "STATE_EXT",
    "TrainingState",
    "apply_step",
    "attach_batch",
    "backward",
    "forward",
    "full_loss",
    "loss_of",
    "make_optimizer",
    "read_state",
    "train_step",
    "with_optimizer",
]

STATE_EXT = "trstate"
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSS_TYPES = ("mse", "mae", "huber")


class TrainingState(TorchModel):
    """A model mid-training: weights, optimiser state, current batch and gradients.

    It is also a :class:`TorchModel` (``predict`` uses the normalisation of the batches it
    was trained on), so ``evaluate`` scores it directly.
    """

    __tensorrag_format__ = STATE_EXT

    def __init__(
        self,
        module: Any,
        description: dict[str, Any],
        optimizer_state: dict[str, Any] | None = None,
        grads: dict[str, Any] | None = None,
        batch: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(module, description)
        self.description.setdefault("state", {})
        self.optimizer_state = optimizer_state
        self.grads = grads
        self.batch = batch

    @property
    def info(self) -> dict[str, Any]:
        """The ``state`` block of the description (optimizer, step, seed, batch facts, loss type)."""
        info: dict[str, Any] = self.description["state"]
        return info

    def clone(self) -> TrainingState:
        """A deep copy (new module, copied tensors and description)."""
        torch = import_torch()
        description = copy.deepcopy(self.description)
        module = build_module(description)
        module.load_state_dict({k: v.detach().clone() for k, v in self.module.state_dict().items()})
        grads = {k: v.detach().clone() for k, v in self.grads.items()} if self.grads is not None else None
        batch = (
            {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.batch.items()} if self.batch else None
        )
        return TrainingState(module, description, copy.deepcopy(self.optimizer_state), grads, batch)

    def tensors(self) -> dict[str, Any]:
        """Weights, gradients, optimiser state tensors and the batch, flattened for safetensors."""
        torch = import_torch()
        out = super().tensors()
        for name, grad in (self.grads or {}).items():
            out[f"grad.{name}"] = grad
        if self.optimizer_state is not None:
            for idx, entry in self.optimizer_state["state"].items():
                for key, value in entry.items():
                    if value is not None:  # SGD without momentum keeps a None buffer
                        out[f"optim.{idx}.{key}"] = value if isinstance(value, torch.Tensor) else torch.tensor(value)
        for key in ("X", "y"):
            if self.batch and key in self.batch:
                out[f"batch.{key}"] = self.batch[key]
        return out

    def __tensorrag_encode__(self) -> bytes:
        """The ``.trstate`` bytes: the description (with the optimiser's param groups) and every tensor."""
        description = copy.deepcopy(self.description)
        groups = self.optimizer_state["param_groups"] if self.optimizer_state is not None else []
        description["state"]["param_groups"] = groups
        return pack(description, self.tensors())


def read_state(data: bytes) -> TrainingState:
    """Rebuild a :class:`TrainingState` from ``.trstate`` bytes (the registered reader of the format)."""
    description, tensors = unpack(data)
    module = build_module(description)
    module.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("param.")}, strict=True)
    grads = {k[5:]: v for k, v in tensors.items() if k.startswith("grad.")} or None
    info = description.get("state") or {}
    optimizer_state = None
    if info.get("optimizer"):
        per_param: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                per_param.setdefault(int(idx), {})[name] = value
        optimizer_state = {"state": per_param, "param_groups": info.get("param_groups") or []}
    batch = None
    if "batch.X" in tensors:
        batch = {"X": tensors["batch.X"], "y": tensors["batch.y"]}
    return TrainingState(module, description, optimizer_state, grads, batch)


def new_state(spec: dict[str, Any], input_size: int, seed: int) -> TrainingState:
    """An untrained regression MLP for a ``model_define_gpu`` spec, weights drawn with ``seed``."""
    torch = import_torch()
    torch.manual_seed(seed)
    description: dict[str, Any] = {
        "kind": "mlp",
        "model_type": spec.get("model_type"),
        "task": "regression",
        "architecture": {
            "input_size": int(input_size),
            "hidden_layers": [int(h) for h in spec.get("hidden_layers") or []],
            "activation": str(spec.get("activation") or "relu"),
            "dropout": float(spec.get("dropout", 0.0)),
            "output_size": 1,
        },
        "feature_columns": [],
        "state": {"optimizer": None, "step": 0, "seed": int(seed), "loss_history": []},
    }
    return TrainingState(build_module(description), description)


def _optimizer(state: TrainingState) -> Any:
    torch = import_torch()
    spec = state.info.get("optimizer")
    if not spec:
        raise ValueError("the training state has no optimizer yet; run it through Initialize Optimizer first.")
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}[spec["type"]]
    opt = cls(state.module.parameters(), lr=spec["learning_rate"], weight_decay=spec["weight_decay"])
    if state.optimizer_state is not None and state.optimizer_state.get("param_groups"):
        saved = copy.deepcopy(state.optimizer_state)
        for group in saved["param_groups"]:
            if isinstance(group.get("betas"), list):
                group["betas"] = tuple(group["betas"])
        opt.load_state_dict(saved)
    return opt


def with_optimizer(state: TrainingState, kind: str, learning_rate: float, weight_decay: float) -> TrainingState:
    """A copy of ``state`` with a fresh optimiser (no moments yet)."""
    out = state.clone()
    out.info["optimizer"] = {"type": kind, "learning_rate": float(learning_rate), "weight_decay": float(weight_decay)}
    out.optimizer_state = None
    out.optimizer_state = _optimizer(out).state_dict()
    out.grads = None
    return out


def attach_batch(state: TrainingState, batch: dict[str, Any], inplace: bool = False) -> TrainingState:
    """``state`` with the batch of a ``training_prepare_batch`` output (features, normalisation) attached.

    Raises:
        ValueError: the batch has another number of features than the model takes.
    """
    torch = import_torch()
    out = state if inplace else state.clone()
    x = batch["X"] if isinstance(batch["X"], torch.Tensor) else torch.tensor(batch["X"], dtype=torch.float32)
    y = batch["y"] if isinstance(batch["y"], torch.Tensor) else torch.tensor(batch["y"], dtype=torch.float32)
    size = int(out.description["architecture"]["input_size"])
    if x.ndim != 2 or x.shape[1] != size:
        raise ValueError(
            f"the batch has {x.shape[1] if x.ndim == 2 else '?'} feature columns but the model was built with "
            f"input_size {size}; set Build Model's input_size to {x.shape[1] if x.ndim == 2 else 'the feature count'}."
        )
    out.batch = {"X": x, "y": y}
    out.description["normalization"] = batch.get("normalization") or out.description.get("normalization")
    out.description["target_column"] = batch.get("target_column")
    out._set_features(list(batch.get("feature_columns") or []))
    out.description["feature_columns"] = out.feature_columns
    out.target_column = batch.get("target_column")
    out.info["batch_index"] = batch.get("batch_index")
    return out


def _require_batch(state: TrainingState) -> tuple[Any, Any]:
    if not state.batch:
        raise ValueError("the training state carries no batch; connect it through Forward Pass with a batch first.")
    return state.batch["X"], state.batch["y"]


def forward(state: TrainingState) -> Any:
    """The model's output on the state's batch (train mode; dropout seeded by the state's seed and step)."""
    torch = import_torch()
    x, _ = _require_batch(state)
    state.module.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(state.info.get("seed", 0)) * 1_000_003 + int(state.info.get("step", 0)))
        out = state.module(x).squeeze(-1)
    return out


def loss_of(pred: Any, y: Any, loss_type: str) -> Any:
    """The loss tensor: ``mse`` (MSELoss), ``mae`` (L1Loss) or ``huber`` (HuberLoss)."""
    torch = import_torch()
    fn = {"mse": torch.nn.MSELoss, "mae": torch.nn.L1Loss, "huber": torch.nn.HuberLoss}[loss_type]()
    return fn(pred, y)


def backward(
    state: TrainingState, loss_type: str, expected: float | None = None, inplace: bool = False
) -> tuple[TrainingState, float]:
    """Recompute forward + loss on the stored batch and store the gradients; return ``(state, loss)``.

    Raises:
        ValueError: ``expected`` (the loss ``training_loss`` reported) differs from the recomputed
            loss, i.e. the loss and the model come from different steps or batches.
    """
    out = state if inplace else state.clone()
    out.module.zero_grad(set_to_none=True)
    _, y = _require_batch(out)
    loss = loss_of(forward(out), y, loss_type)
    loss.backward()
    value = float(loss.detach())
    if expected is not None and not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6):
        raise ValueError(
            f"the loss input ({expected:.6g}) is not the loss of this model on its batch ({value:.6g}): the loss and "
            "the model come from different steps or batches. Wire Calculate Loss and Backward Pass from the same "
            "Forward Pass."
        )
    out.grads = {n: p.grad.detach().clone() for n, p in out.module.named_parameters() if p.grad is not None}
    out.info["loss_type"] = loss_type
    return out, value


def apply_step(
    model: TrainingState, optimizer: TrainingState | None, gradient_clip: float, inplace: bool = False
) -> TrainingState:
    """One optimiser step: weights and gradients from ``model``, optimiser state from ``optimizer``.

    Raises:
        ValueError: no gradients (Backward Pass missing), no optimiser, or the two inputs come from
            different steps.
    """
    torch = import_torch()
    if not model.grads:
        raise ValueError("the model input carries no gradients; connect Backward Pass's model output to it.")
    source = optimizer if optimizer is not None else model
    if optimizer is not None and int(optimizer.info.get("step", 0)) != int(model.info.get("step", 0)):
        raise ValueError(
            f"the optimizer input is at step {optimizer.info.get('step')} but the model at step "
            f"{model.info.get('step')}: wire both from the same previous Optimizer Step (or Initialize Optimizer)."
        )
    out = model if inplace else model.clone()
    out.info["optimizer"] = source.info.get("optimizer")
    out.optimizer_state = source.optimizer_state
    opt = _optimizer(out)
    for name, p in out.module.named_parameters():
        grad = out.grads.get(name) if out.grads else None
        p.grad = None if grad is None else grad.to(p.device).clone()
    if gradient_clip and gradient_clip > 0:
        torch.nn.utils.clip_grad_norm_(out.module.parameters(), gradient_clip)
    opt.step()
    out.optimizer_state = opt.state_dict()
    out.module.zero_grad(set_to_none=True)
    out.grads = None
    out.info["step"] = int(out.info.get("step", 0)) + 1
    return out


def make_optimizer(state: TrainingState) -> Any:
    """The state's optimiser as a live ``torch.optim`` object over its module (moments restored).

    Raises:
        ValueError: the state has no optimiser yet.
    """
    return _optimizer(state)


def train_step(state: TrainingState, optimizer: Any, loss_type: str, gradient_clip: float) -> float:
    """One in-place step on the attached batch with a live optimiser: what Backward Pass + Optimizer Step do.

    Returns:
        The batch loss before the step. Call ``state.optimizer_state = optimizer.state_dict()`` when done.
    """
    torch = import_torch()
    _, y = _require_batch(state)
    optimizer.zero_grad(set_to_none=True)
    loss = loss_of(forward(state), y, loss_type)
    loss.backward()
    if gradient_clip and gradient_clip > 0:
        torch.nn.utils.clip_grad_norm_(state.module.parameters(), gradient_clip)
    optimizer.step()
    state.info["step"] = int(state.info.get("step", 0)) + 1
    return float(loss.detach())


def full_loss(state: TrainingState, x: np.ndarray, y: np.ndarray, loss_type: str) -> float:
    """The loss of the model (eval mode, no dropout) on normalised ``x`` / ``y``."""
    torch = import_torch()
    state.module.eval()
    with torch.no_grad():
        pred = state.module(torch.from_numpy(np.asarray(x, dtype=np.float32))).squeeze(-1)
        value = float(loss_of(pred, torch.from_numpy(np.asarray(y, dtype=np.float32)), loss_type))
    state.module.train()
    return value
