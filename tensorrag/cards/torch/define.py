"""``model_define_gpu``: choose a torch network (an MLP) and its training settings (emits a JSON spec)."""

from __future__ import annotations

from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.torch.artifact import ACTIVATIONS

__all__ = ["GPU_MODEL_TYPES", "TASKS", "ModelDefineGpuCard", "training_preview"]

#: Both build the same MLP over ``hidden_layers`` (the original drew no difference); the name is kept.
GPU_MODEL_TYPES = ("neural_network", "deep_neural_network")
TASKS = ("auto", "regression", "classification")


def training_preview(spec: dict[str, Any]) -> dict[str, Any]:
    """The original's model_define_gpu preview: ``{model_type, architecture, training}`` (+ ``task``)."""
    return {
        "model_type": spec.get("model_type"),
        "task": spec.get("task", "auto"),
        "architecture": {k: spec.get(k) for k in ("hidden_layers", "activation", "dropout") if k in spec},
        "training": {k: spec.get(k) for k in ("learning_rate", "epochs", "batch_size")},
    }


class ModelDefineGpuCard(BaseCard):
    """Pick an MLP (hidden layers, activation, dropout) and how to train it; consumed by ``train_gpu``."""

    card_type = "model_define_gpu"
    display_name = "Model Define (GPU)"
    description = "Choose a torch neural network (hidden layers, activation, dropout) and its training settings."
    category = "model"
    execution_mode = "local"
    output_view_type = "model_summary"
    config_schema = {
        "type": "object",
        "properties": {
            "model_type": {
                "type": "string",
                "enum": list(GPU_MODEL_TYPES),
                "default": "neural_network",
                "description": "neural_network or deep_neural_network: both an MLP over hidden_layers.",
            },
            "task": {
                "type": "string",
                "enum": list(TASKS),
                "default": "auto",
                "description": "regression (MSE) or classification (cross-entropy, accuracy). auto: "
                "classification when the target is text/categorical/boolean, else regression.",
            },
            "hidden_layers": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "default": [64, 32],
                "description": "Width of each hidden layer, input side first.",
            },
            "activation": {
                "type": "string",
                "enum": list(ACTIVATIONS),
                "default": "relu",
                "description": "Non-linearity after each hidden layer.",
            },
            "dropout": {
                "type": "number",
                "default": 0.2,
                "minimum": 0,
                "maximum": 0.95,
                "description": "Dropout after each hidden layer while training (0: none).",
            },
            "learning_rate": {
                "type": "number",
                "default": 0.001,
                "minimum": 0.0001,
                "maximum": 0.1,
                "description": "Adam's learning rate.",
            },
            "epochs": {
                "type": "integer",
                "default": 50,
                "minimum": 1,
                "maximum": 1000,
                "description": "Passes over the training table.",
            },
            "batch_size": {
                "type": "integer",
                "default": 32,
                "minimum": 1,
                "maximum": 1024,
                "description": "Rows per optimisation step (shuffled each epoch).",
            },
        },
        "required": ["model_type"],
    }
    input_schema = {}
    output_schema = {"model_spec": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Save ``{model_type, task, hidden_layers, activation, dropout, learning_rate, epochs, batch_size}``.

        Raises:
            CardConfigError: an unknown model type (the schema's enum catches the rest).
        """
        model_type = str(config.get("model_type") or "neural_network").strip().lower()
        if model_type not in GPU_MODEL_TYPES:
            raise card_error(
                self.card_type,
                config,
                "model_type",
                f"Unknown model type {model_type!r}; expected one of {', '.join(GPU_MODEL_TYPES)}.",
            )
        spec = {
            "model_type": model_type,
            "task": str(config.get("task") or "auto"),
            "hidden_layers": [int(h) for h in config.get("hidden_layers") or []],
            "activation": str(config.get("activation") or "relu"),
            "dropout": float(config.get("dropout", 0.2)),
            "learning_rate": float(config.get("learning_rate", 0.001)),
            "epochs": int(config.get("epochs", 50)),
            "batch_size": int(config.get("batch_size", 32)),
        }
        print(
            f"model: {model_type} hidden {spec['hidden_layers']} {spec['activation']} dropout {spec['dropout']}, "
            f"lr {spec['learning_rate']}, {spec['epochs']} epochs, batch {spec['batch_size']}"
        )
        ref = storage.save_json(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "model_spec", spec)
        return {"model_spec": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{model_type, task, architecture: {hidden_layers, activation, dropout}, training: {...}}``."""
        return training_preview(storage.load_json(outputs["model_spec"]))
