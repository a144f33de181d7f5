"""``torch_module``: the escape hatch: train your own ``nn.Module`` with ``train_gpu``.

The card's ``source`` is Python that defines an ``nn.Module`` subclass and a ``build(config)``
function returning an instance; ``config`` is ``module_config`` plus ``input_size`` (the number
of feature columns) and ``output_size`` (1 for regression, the number of classes for
classification). ``train_gpu`` trains it like the built-in MLP, and the artifact keeps the
source in its JSON description, so loading rebuilds the module from that text (the same trust as
a project card file) and never unpickles anything. Read a project file into it with
``source=Path("cards/net.py").read_text()``.
"""

from __future__ import annotations

import ast
from typing import Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import card_error
from tensorrag.cards.torch._torch import import_torch
from tensorrag.cards.torch.define import TASKS, training_preview

__all__ = ["EXAMPLE_SOURCE", "TorchModuleCard", "build_custom", "check_source"]

EXAMPLE_SOURCE = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self, input_size, output_size, hidden=32):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(input_size, hidden), nn.ReLU(), nn.Linear(hidden, output_size))

    def forward(self, x):
        return self.layers(x)


def build(config):
    return Net(config["input_size"], config["output_size"], config.get("hidden", 32))
"""


def check_source(source: str, filename: str = "torch_module.py") -> None:
    """Check, without running it, that ``source`` parses and defines ``build`` and a class.

    Raises:
        ValueError: a syntax error (with its line), or no top-level ``build`` function / class.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise ValueError(f"source has a syntax error at {filename}:{exc.lineno}: {exc.msg}") from exc
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    if "build" not in functions:
        raise ValueError("source must define a top-level function build(config) that returns the nn.Module.")
    if not classes:
        raise ValueError("source must define the nn.Module subclass that build(config) returns.")


def build_custom(architecture: dict[str, Any]) -> Any:
    """Run the stored source and call its ``build`` with the stored config (+ input/output sizes).

    Raises:
        ValueError: ``build`` is missing or does not return an ``nn.Module``.
    """
    torch = import_torch("torch_module")
    filename = str(architecture.get("filename") or "torch_module.py")
    source = str(architecture["source"])
    check_source(source, filename)
    namespace: dict[str, Any] = {"__name__": "tensorrag_torch_module", "__file__": filename}
    exec(compile(source, filename, "exec"), namespace)
    config = {
        **dict(architecture.get("config") or {}),
        "input_size": int(architecture["input_size"]),
        "output_size": int(architecture["output_size"]),
    }
    module = namespace["build"](config)
    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"build(config) in {filename} returned a {type(module).__name__}, not a torch.nn.Module.")
    return module


class TorchModuleCard(BaseCard):
    """Describe your own torch network (source + build config) for ``train_gpu``."""

    card_type = "torch_module"
    display_name = "Torch Module"
    description = "Your own nn.Module (Python source with build(config)) and its training settings, for Train (GPU)."
    category = "model"
    execution_mode = "local"
    output_view_type = "model_summary"
    config_schema = {
        "type": "object",
        "properties": {
            "source": {
                "type": "string",
                "default": EXAMPLE_SOURCE,
                "description": "Python defining an nn.Module subclass and build(config) -> module; config has "
                "module_config plus input_size and output_size.",
            },
            "filename": {"type": "string", "default": "torch_module.py", "description": "Name shown in tracebacks."},
            "module_config": {"type": "object", "default": {}, "description": "Passed to build(config)."},
            "task": {
                "type": "string",
                "enum": list(TASKS),
                "default": "auto",
                "description": "regression or classification (auto: classification for non-numeric targets).",
            },
            "learning_rate": {
                "type": "number",
                "default": 0.001,
                "minimum": 0.000001,
                "maximum": 1,
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
                "maximum": 65536,
                "description": "Rows per optimisation step.",
            },
        },
        "required": ["source"],
    }
    input_schema = {}
    output_schema = {"model_spec": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Check the source (AST only) and save the ``model_spec`` ``train_gpu`` consumes.

        Raises:
            CardConfigError: the source does not parse or lacks ``build`` / a module class.
        """
        source, filename = str(config.get("source") or ""), str(config.get("filename") or "torch_module.py")
        try:
            check_source(source, filename)
        except ValueError as exc:
            raise card_error(self.card_type, config, "source", str(exc)) from exc
        spec = {
            "model_type": "torch_module",
            "task": str(config.get("task") or "auto"),
            "source": source,
            "filename": filename,
            "module_config": dict(config.get("module_config") or {}),
            "learning_rate": float(config.get("learning_rate", 0.001)),
            "epochs": int(config.get("epochs", 50)),
            "batch_size": int(config.get("batch_size", 32)),
        }
        ref = storage.save_json(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "model_spec", spec)
        return {"model_spec": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{model_type: "torch_module", task, architecture: {filename, module_config}, training}``."""
        spec = storage.load_json(outputs["model_spec"])
        preview = training_preview(spec)
        preview["architecture"] = {"filename": spec.get("filename"), "module_config": spec.get("module_config")}
        return preview
