"""``training_loop``: repeat the step-by-step chain (forward, loss, backward, step) for epochs x batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorrag._context import report_progress
from tensorrag.cards._fields import gradient_clip_field
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.previews import json_safe
from tensorrag.cards.torch._torch import import_torch
from tensorrag.cards.torch.state import LOSS_TYPES, attach_batch, full_loss, make_optimizer, train_step
from tensorrag.cards.torch.steps import load_state, step_columns, training_table
from tensorrag.cards.torch.train import loss_curve_png, regression_metrics

__all__ = ["TrainingLoopCard"]


class TrainingLoopCard(BaseCard):
    """Train a training state over the whole table with the same operations as the step cards."""

    card_type = "training_loop"
    display_name = "Training Loop"
    description = (
        "Repeat forward, loss, backward and optimizer step for epochs x batches on a training state "
        "(from Initialize Optimizer or Optimizer Step); outputs a model Evaluate can score."
    )
    category = "training"
    execution_mode = "modal"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            "epochs": {
                "type": "integer",
                "default": 5,
                "minimum": 1,
                "maximum": 1000,
                "description": "Passes over the training table.",
            },
            "batch_size": {
                "type": "integer",
                "default": 32,
                "minimum": 1,
                "maximum": 65536,
                "description": "Rows per step.",
            },
            "loss_type": {
                "type": "string",
                "enum": list(LOSS_TYPES),
                "default": "mse",
                "description": "mse, mae or huber (on the z-scored target).",
            },
            "gradient_clip": gradient_clip_field(),
            "shuffle": {"type": "boolean", "default": True, "description": "Shuffle the rows each epoch (seeded)."},
            "seed": {"type": "integer", "default": 42, "description": "Seeds the shuffles."},
            **step_columns(),
        },
    }
    input_schema = {"model": "model", "train_dataset": "dataframe"}
    output_schema = {"trained_model": "model", "train_metrics": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """``{"trained_model": ref, "train_metrics": ref}`` (+ a ``loss_curve`` PNG extra).

        Raises:
            CardConfigError: the model is not a training state with an optimizer, or bad columns.
        """
        torch = import_torch(self.card_type)
        state = load_state(self, config, storage, inputs["model"], "model").clone()
        if not state.info.get("optimizer"):
            raise card_error(
                self.card_type,
                config,
                "model",
                "the training state has no optimizer; connect Initialize Optimizer's model.",
            )
        df = storage.load_dataframe(inputs["train_dataset"])
        data, features, target = training_table(self.card_type, config, df, "train_dataset")
        epochs, size = int(config.get("epochs") or 5), int(config.get("batch_size") or 32)
        loss_type, clip = str(config.get("loss_type") or "mse"), float(config.get("gradient_clip") or 0.0)
        rng = np.random.default_rng(int(config.get("seed", 42)))
        x_all, y_all = torch.from_numpy(data.x), torch.from_numpy(data.y)
        meta = {"feature_columns": features, "target_column": target, "normalization": data.normalization()}
        before = full_loss(state, data.x, data.y, loss_type)
        history: list[float] = []
        optimizer = make_optimizer(state)
        state.grads = None
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(df)) if config.get("shuffle", True) else np.arange(len(df))
            total = 0.0
            for start in range(0, len(df), size):
                idx = torch.from_numpy(order[start : start + size])
                attach_batch(state, {"X": x_all[idx], "y": y_all[idx], **meta}, inplace=True)
                total += train_step(state, optimizer, loss_type, clip) * len(idx)
            history.append(total / len(df))
            report_progress(epoch, epochs)
            print(f"epoch {epoch}/{epochs}: loss {history[-1]:.5f}")
        state.optimizer_state = optimizer.state_dict()
        after = full_loss(state, data.x, data.y, loss_type)
        state.batch = None
        state.info["loss_history"] = [*state.info.get("loss_history", []), *history]
        metrics: dict[str, Any] = {
            "loss_before": before,
            "loss_after": after,
            "loss_type": loss_type,
            "loss_history": history,
            "steps": state.info["step"],
            "epochs": epochs,
            **regression_metrics(df[target], state.predict(df[features])),
            "feature_columns": features,
            "target_column": target,
        }
        print(f"{loss_type} on the training table: {before:.5f} -> {after:.5f}")
        pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
        model_ref = storage.save_model(pid, nid, "trained_model", state)
        metrics_ref = storage.save_json(pid, nid, "train_metrics", json_safe(metrics))
        png = loss_curve_png(history)
        if png is not None:
            storage.save_bytes(pid, nid, "loss_curve", png, "png")
        return {"trained_model": model_ref, "train_metrics": metrics_ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {loss_before, loss_after, train_*}, steps, loss_history (last 10)}``."""
        data = storage.load_json(outputs["train_metrics"])
        keys = ("loss_before", "loss_after", "train_mse", "train_rmse", "train_mae", "train_r2")
        return json_safe(
            {
                "metrics": {k: data.get(k) for k in keys},
                "steps": data.get("steps"),
                "loss_history": (data.get("loss_history") or [])[-10:],
            }
        )
