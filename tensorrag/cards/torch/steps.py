"""The step-by-step training cards of the original's first commit, redesigned so they really train.

Wire them as the original did (S3)::

    model_define_gpu -> training_build_model -> training_init_optimizer
    init.optimizer -> zero_grad.optimizer -> optimizer_step.optimizer
    init.model -> forward.model ; prepare_batch.batch_data -> forward.batch_data, loss.batch_data
    forward.predictions -> loss.predictions ; forward.model -> backward.model ; loss.loss -> backward.loss
    backward.model -> optimizer_step.model

``model`` / ``optimizer`` ports carry a :class:`~tensorrag.cards.torch.state.TrainingState`
(``.trstate``: weights, optimiser state, batch and gradients as tensors + JSON). The regression
loss works on z-scored features and target (statistics of the whole training table, kept in the
state so ``evaluate`` gets de-normalised predictions).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tensorrag.cards._fields import column_fields, gradient_clip_field
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.ml.train import check_feature_frame, check_target
from tensorrag.cards.previews import json_safe
from tensorrag.cards.torch._torch import import_torch
from tensorrag.cards.torch.fit import standardize
from tensorrag.cards.torch.state import (
    LOSS_TYPES,
    OPTIMIZERS,
    TrainingState,
    apply_step,
    attach_batch,
    backward,
    forward,
    loss_of,
    new_state,
    with_optimizer,
)

__all__ = [
    "BackwardCard",
    "BuildModelCard",
    "ForwardCard",
    "InitOptimizerCard",
    "LossCard",
    "OptimizerStepCard",
    "PrepareBatchCard",
    "ZeroGradCard",
    "load_state",
    "step_columns",
    "training_table",
]


def load_state(card: BaseCard, config: dict[str, Any], storage: Any, ref: str, port: str) -> TrainingState:
    """The training state on input ``port``, or a clear error naming what to connect.

    Raises:
        CardConfigError: the input is not a training state (e.g. a ``train_gpu`` model).
    """
    obj = storage.load_model(ref)
    if not isinstance(obj, TrainingState):
        raise card_error(
            card.card_type,
            config,
            port,
            f"input {port!r} must be a training state from Build Model, Initialize Optimizer, Forward Pass, "
            f"Backward Pass or Optimizer Step; got a {type(obj).__name__}.",
        )
    return obj


def _fail(card: BaseCard, config: dict[str, Any], field: str, exc: Exception) -> Exception:
    return card_error(card.card_type, config, field, str(exc))


def step_columns() -> dict[str, dict[str, Any]]:
    """The ``target_column`` / ``feature_columns`` fields of the cards that read a table with :func:`training_table`."""
    return column_fields(
        "Feature columns (default: every column except the target).", "The target (default: the last column).", ""
    )


def training_table(card_type: str, config: dict[str, Any], df: pd.DataFrame, port: str) -> tuple[Any, list[str], str]:
    """``(standardized, feature_columns, target)``; the target defaults to the last column (as the original).

    Raises:
        CardConfigError: no rows, a bad target, or bad feature columns.
    """
    if len(df) == 0:
        raise card_error(card_type, config, port, f"{port} has no rows.")
    target = str(config.get("target_column") or df.columns[-1])
    y = check_target(card_type, config, df, target, port)
    if not pd.api.types.is_numeric_dtype(y.dtype):
        raise card_error(
            card_type, config, "target_column", f"target_column {target!r} must be numeric (regression); got {y.dtype}."
        )
    features = [str(c) for c in (config.get("feature_columns") or [c for c in df.columns if c != target])]
    x = check_feature_frame(card_type, config, df, features, port)
    return standardize(x, y, "regression"), features, target


def _save(storage: Any, outputs: dict[str, tuple[Any, str]]) -> dict[str, str]:
    """Save each output ``port -> (value, type)`` under its port name; ``port -> ref``."""
    return {port: storage.save(port, value, type) for port, (value, type) in outputs.items()}


class _StepCard(BaseCard):
    """What every step card shares: a training card run on the GPU side, previewed as a model summary."""

    category = "training"
    execution_mode = "modal"
    output_view_type = "model_summary"


class BuildModelCard(_StepCard):
    """Build the MLP of a Model Define (GPU) spec as a fresh training state."""

    card_type = "training_build_model"
    display_name = "Build Model"
    description = "Build the network of a Model Define (GPU) spec (weights seeded) as a training state."
    config_schema = {
        "type": "object",
        "properties": {
            "input_size": {"type": "integer", "default": 13, "minimum": 1, "description": "Number of feature columns."},
            "seed": {"type": "integer", "default": 42, "description": "Seeds the initial weights and dropout."},
        },
        "required": ["input_size"],
    }
    input_schema = {"model_spec": "json"}
    output_schema = {"model": "model"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Build the network; ``{"model": ref}``.

        Raises:
            CardConfigError: the spec is not a Model Define (GPU) regression spec.
        """
        spec = storage.load_json(inputs["model_spec"])
        if not isinstance(spec, dict) or "hidden_layers" not in spec:
            raise card_error(
                self.card_type,
                config,
                "model_spec",
                f"model_spec must come from Model Define (GPU); got {str(spec)[:120]!r}.",
            )
        if spec.get("task") == "classification":
            raise card_error(
                self.card_type,
                config,
                "model_spec",
                "the step-by-step cards train regression (mse/mae/huber); for classification use train_gpu.",
            )
        state = new_state(spec, int(config["input_size"]), int(config.get("seed", 42)))
        arch = state.description["architecture"]
        sizes = " -> ".join(str(n) for n in [arch["input_size"], *arch["hidden_layers"], arch["output_size"]])
        print(f"built an MLP {sizes} ({sum(int(p.numel()) for p in state.module.parameters())} parameters)")
        return _save(storage, {"model": (state, "model")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{status, architecture: "13 -> 64 -> 32 -> 1", total_parameters}``."""
        state = storage.load_model(outputs["model"])
        arch = state.description["architecture"]
        sizes = [arch["input_size"], *arch["hidden_layers"], arch["output_size"]]
        total = sum(int(p.numel()) for p in state.module.parameters())
        return {"status": "Model built", "architecture": " -> ".join(map(str, sizes)), "total_parameters": total}


class InitOptimizerCard(_StepCard):
    """Attach an optimiser (Adam, SGD or RMSprop) to a training state."""

    card_type = "training_init_optimizer"
    display_name = "Initialize Optimizer"
    description = "Attach an optimizer (adam, sgd, rmsprop) to the model; outputs the state on both ports."
    config_schema = {
        "type": "object",
        "properties": {
            "optimizer_type": {
                "type": "string",
                "enum": list(OPTIMIZERS),
                "default": "adam",
                "description": "adam, sgd or rmsprop.",
            },
            "learning_rate": {
                "type": "number",
                "default": 0.001,
                "minimum": 0.0001,
                "maximum": 0.1,
                "description": "The optimizer's learning rate.",
            },
            "weight_decay": {"type": "number", "default": 0.0, "minimum": 0, "description": "L2 penalty (0: none)."},
        },
        "required": ["optimizer_type", "learning_rate"],
    }
    input_schema = {"model": "model"}
    output_schema = {"optimizer": "model", "model": "model"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"optimizer": ref, "model": ref}`` (the same state: weights + fresh optimiser)."""
        state = load_state(self, config, storage, inputs["model"], "model")
        kind = str(config.get("optimizer_type") or "adam")
        out = with_optimizer(state, kind, float(config["learning_rate"]), float(config.get("weight_decay") or 0.0))
        print(f"optimizer {kind}, lr {config['learning_rate']}")
        return _save(storage, {"optimizer": (out, "model"), "model": (out, "model")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{status, optimizer: {type, learning_rate, weight_decay}}``."""
        state = storage.load_model(outputs["optimizer"])
        return json_safe({"status": "Optimizer initialized", "optimizer": state.info.get("optimizer")})


class PrepareBatchCard(_StepCard):
    """Cut one mini-batch out of the training table (z-scored with the whole table's statistics)."""

    card_type = "training_prepare_batch"
    display_name = "Prepare Batch"
    description = "Take batch batch_index of batch_size rows from the training table (features and target z-scored)."
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "batch_index": {
                "type": "integer",
                "default": 0,
                "minimum": 0,
                "description": "Which batch: rows batch_index*batch_size onward (no shuffle).",
            },
            "batch_size": {"type": "integer", "default": 32, "minimum": 1, "description": "Rows per batch."},
            **step_columns(),
        },
    }
    input_schema = {"train_dataset": "dataframe"}
    output_schema = {"batch_data": "json", "batch_info": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"batch_data": ref, "batch_info": ref}``.

        Raises:
            CardConfigError: ``batch_index`` past the last batch, or bad columns.
        """
        df = storage.load_dataframe(inputs["train_dataset"])
        data, features, target = training_table(self.card_type, config, df, "train_dataset")
        index, size = int(config.get("batch_index") or 0), int(config.get("batch_size") or 32)
        batches = -(-len(df) // size)
        if index >= batches:
            raise card_error(
                self.card_type,
                config,
                "batch_index",
                f"batch_index {index} is past the last batch: {len(df)} rows make {batches} batches of {size} "
                f"(indices 0..{batches - 1}).",
            )
        rows = slice(index * size, (index + 1) * size)
        batch = {
            "X": data.x[rows].tolist(),
            "y": data.y[rows].tolist(),
            "feature_columns": features,
            "target_column": target,
            "batch_index": index,
            "batch_size": size,
            "normalization": data.normalization(),
        }
        n = len(batch["y"])
        info = {
            "batch_index": index,
            "batch_size": size,
            "X_shape": [n, len(features)],
            "y_shape": [n],
            "batches": batches,
        }
        return _save(storage, {"batch_data": (batch, "json"), "batch_info": (info, "json")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The batch info ``{batch_index, batch_size, X_shape, y_shape, batches}``."""
        return json_safe(storage.load_json(outputs["batch_info"]))


class ZeroGradCard(_StepCard):
    """Clear the gradients carried by the optimizer's training state."""

    card_type = "training_zero_grad"
    display_name = "Zero Gradients"
    description = "Clear gradients before the next step (Optimizer Step also consumes them, so none accumulate)."
    config_schema = {"type": "object", "properties": {}}
    input_schema = {"optimizer": "model"}
    output_schema = {"optimizer": "model"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"optimizer": ref}`` with no gradients."""
        state = load_state(self, config, storage, inputs["optimizer"], "optimizer")
        out = state if state.grads is None else state.clone()
        out.grads = None
        return _save(storage, {"optimizer": (out, "model")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{"status": "Gradients zeroed"}``."""
        return {"status": "Gradients zeroed"}


class ForwardCard(_StepCard):
    """Run the model on the batch; the batch then travels with the model's training state."""

    card_type = "training_forward"
    display_name = "Forward Pass"
    description = "Compute the model's predictions on the batch; the model output carries the batch onward."
    config_schema = {
        "type": "object",
        "properties": {
            "batch_index": {
                "type": "integer",
                "default": 0,
                "description": "Kept from the original; the connected batch decides which rows are used.",
            }
        },
    }
    input_schema = {"model": "model", "batch_data": "json"}
    output_schema = {"predictions": "json", "model": "model"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"predictions": ref, "model": ref}``.

        Raises:
            CardConfigError: the model is not a training state or the batch does not fit it.
        """
        state = load_state(self, config, storage, inputs["model"], "model")
        batch = storage.load_json(inputs["batch_data"])
        try:
            out = attach_batch(state, batch)
        except (ValueError, KeyError, TypeError) as exc:
            raise _fail(self, config, "batch_data", exc) from exc
        pred = forward(out).detach()
        result = {
            "data": pred.tolist(),
            "shape": list(pred.shape),
            "device": "cpu",
            "batch_index": batch.get("batch_index"),
            "step": out.info.get("step", 0),
        }
        return _save(storage, {"predictions": (result, "json"), "model": (out, "model")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{predictions_shape, device, batch_index}``."""
        pred = storage.load_json(outputs["predictions"])
        return {"predictions_shape": pred["shape"], "device": pred["device"], "batch_index": pred["batch_index"]}


class LossCard(_StepCard):
    """The loss of the predictions against the batch's target."""

    card_type = "training_loss"
    display_name = "Calculate Loss"
    description = "Loss of the predictions on the batch: mse, mae or huber (on the z-scored target)."
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "loss_type": {
                "type": "string",
                "enum": list(LOSS_TYPES),
                "default": "mse",
                "description": "mse (MSELoss), mae (L1Loss) or huber (HuberLoss).",
            }
        },
    }
    input_schema = {"predictions": "json", "batch_data": "json"}
    output_schema = {"loss": "json", "loss_value": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"loss": ref, "loss_value": ref}``.

        Raises:
            CardConfigError: predictions and batch are of different sizes.
        """
        torch = import_torch(self.card_type)
        pred = storage.load_json(inputs["predictions"])
        batch = storage.load_json(inputs["batch_data"])
        if len(pred["data"]) != len(batch["y"]):
            raise card_error(
                self.card_type,
                config,
                "predictions",
                f"{len(pred['data'])} predictions for a batch of {len(batch['y'])} rows: connect predictions and "
                "batch_data from the same batch.",
            )
        loss_type = str(config.get("loss_type") or "mse")
        value = float(loss_of(torch.tensor(pred["data"]), torch.tensor(batch["y"], dtype=torch.float32), loss_type))
        print(f"{loss_type} loss {value:.6f}")
        loss = {
            "value": value,
            "loss_type": loss_type,
            "batch_index": pred.get("batch_index"),
            "step": pred.get("step"),
            "requires_grad": False,
        }
        return _save(
            storage, {"loss": (loss, "json"), "loss_value": ({"value": value, "loss_type": loss_type}, "json")}
        )

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{loss_value, loss_type}``."""
        loss = storage.load_json(outputs["loss_value"])
        return {"loss_value": round(float(loss["value"]), 6), "loss_type": loss["loss_type"]}


class BackwardCard(_StepCard):
    """Recompute forward + loss from the stored batch and weights, and store the gradients."""

    card_type = "training_backward"
    display_name = "Backward Pass"
    description = "Recompute the loss from the model's stored batch and compute the gradients (kept in the state)."
    config_schema = {
        "type": "object",
        "properties": {
            "retain_graph": {
                "type": "boolean",
                "default": False,
                "description": "Kept from the original; gradients are recomputed here, so no graph is kept.",
            }
        },
    }
    input_schema = {"loss": "json", "model": "model"}
    output_schema = {"model": "model", "gradients_computed": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"model": ref, "gradients_computed": ref}``.

        Raises:
            CardConfigError: the model has no batch, or the loss belongs to another step/batch.
        """
        state = load_state(self, config, storage, inputs["model"], "model")
        loss = storage.load_json(inputs["loss"])
        try:
            out, value = backward(state, str(loss.get("loss_type") or "mse"), expected=float(loss["value"]))
        except (ValueError, KeyError) as exc:
            raise _fail(self, config, "loss", exc) from exc
        norms = {name: float(g.norm()) for name, g in (out.grads or {}).items()}
        info = {"has_gradients": bool(norms), "loss": value, "gradient_norms": norms, "retain_graph": False}
        return _save(storage, {"model": (out, "model"), "gradients_computed": (info, "json")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{gradients_computed, loss, gradient_norms}``."""
        info = storage.load_json(outputs["gradients_computed"])
        return json_safe(
            {
                "gradients_computed": info["has_gradients"],
                "loss": info["loss"],
                "gradient_norms": info["gradient_norms"],
            }
        )


class OptimizerStepCard(_StepCard):
    """Apply the gradients: one optimiser step on the weights."""

    card_type = "training_optimizer_step"
    display_name = "Optimizer Step"
    description = "Update the weights with the gradients from Backward Pass (optional gradient clipping)."
    config_schema = {
        "type": "object",
        "properties": {"gradient_clip": gradient_clip_field()},
    }
    input_schema = {"optimizer": "model", "model": "model"}
    output_schema = {"model": "model", "optimizer": "model", "step_info": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"model": ref, "optimizer": ref, "step_info": ref}`` (both state outputs are the updated state).

        Raises:
            CardConfigError: no gradients, or optimizer and model from different steps.
        """
        model = load_state(self, config, storage, inputs["model"], "model")
        optimizer = load_state(self, config, storage, inputs["optimizer"], "optimizer")
        clip = float(config.get("gradient_clip") or 0.0)
        try:
            out = apply_step(model, optimizer, clip)
        except ValueError as exc:
            raise _fail(self, config, "model", exc) from exc
        info = {"gradient_clip": clip, "device": "cpu", "step": out.info["step"], "status": "Parameters updated"}
        return _save(storage, {"model": (out, "model"), "optimizer": (out, "model"), "step_info": (info, "json")})

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{gradient_clip, device, step, status: "Parameters updated"}``."""
        return json_safe(storage.load_json(outputs["step_info"]))
