"""Torch models as artifacts: weights (safetensors) + a JSON description, never a pickle.

A ``.trtorch`` artifact is a zip of two members:

* ``model.json`` — what is needed to rebuild and use the network: ``kind`` (``mlp`` or
  ``torch_module``), ``architecture``, ``task``, ``feature_columns``, ``target_column``,
  ``classes`` (classifiers), ``normalization`` (``x_mean``/``x_std``, and ``y_mean``/``y_std``
  for regression) and ``training`` facts (epochs, final loss, device).
* ``model.safetensors`` — the ``state_dict`` tensors (``param.<name>``), always written from CPU,
  so a model trained on a GPU loads on a machine without one.

Loading rebuilds the module from the description (no importable class, no unpickling) and
wraps it in :class:`TorchModel`, which scores like a scikit-learn estimator: ``predict(X)``
returns de-normalised predictions, ``predict_proba(X)`` class probabilities, and
``feature_columns`` / ``feature_names_in_`` / ``n_features_in_`` / ``classes_`` are set, so
``evaluate`` and ``inference`` need nothing torch-specific.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from tensorrag.cards.previews import json_safe
from tensorrag.cards.torch._torch import import_torch

__all__ = [
    "ACTIVATIONS",
    "DESCRIPTION",
    "FORMAT_NAME",
    "MODEL_EXT",
    "TorchModel",
    "build_mlp",
    "build_module",
    "pack",
    "read_model",
    "unpack",
]

#: File extension of a torch model artifact (registered in ``tensorrag.registry.model_format_registry``).
MODEL_EXT = "trtorch"
#: ``format`` written in every description; ``version`` is bumped when the layout changes.
FORMAT_NAME = "tensorrag.torch"
FORMAT_VERSION = 1
DESCRIPTION = "model.json"
WEIGHTS = "model.safetensors"
ACTIVATIONS = ("relu", "tanh", "sigmoid")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same weights give the same bytes (and sha256)


def build_mlp(architecture: dict[str, Any]) -> Any:
    """``Linear -> activation -> Dropout`` per hidden layer, then a ``Linear`` to ``output_size``.

    Args:
        architecture: ``{input_size, hidden_layers, activation, dropout, output_size}``.

    Returns:
        A ``torch.nn.Sequential``.
    """
    torch = import_torch()
    nn = torch.nn
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    act = acts[str(architecture.get("activation", "relu"))]
    dropout = float(architecture.get("dropout", 0.0))
    layers: list[Any] = []
    width = int(architecture["input_size"])
    for hidden in architecture.get("hidden_layers") or []:
        layers += [nn.Linear(width, int(hidden)), act()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(hidden)
    layers.append(nn.Linear(width, int(architecture.get("output_size", 1))))
    return nn.Sequential(*layers)


def build_module(description: dict[str, Any]) -> Any:
    """Rebuild the (untrained) network a description names.

    Raises:
        ValueError: an unknown ``kind``.
    """
    kind = description.get("kind")
    if kind == "mlp":
        return build_mlp(description["architecture"])
    if kind == "torch_module":
        from tensorrag.cards.torch.module import build_custom

        return build_custom(description["architecture"])
    raise ValueError(f"unknown torch model kind {kind!r}; expected 'mlp' or 'torch_module'.")


def pack(description: dict[str, Any], tensors: dict[str, Any]) -> bytes:
    """The zip bytes of a description and a dict of tensors (moved to CPU, made contiguous)."""
    from safetensors.torch import save

    weights = save({name: t.detach().cpu().contiguous() for name, t in tensors.items()})
    text = json.dumps(json_safe(description), indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in ((DESCRIPTION, text), (WEIGHTS, weights)):
            zf.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data)
    return buffer.getvalue()


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(description, tensors)`` of an artifact's bytes; the tensors are on the CPU.

    Raises:
        ValueError: the bytes are not a tensorrag torch artifact (or a newer version of one).
    """
    from safetensors.torch import load

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if not {DESCRIPTION, WEIGHTS} <= names:
                raise ValueError(f"expected members {DESCRIPTION} and {WEIGHTS}; found {sorted(names)}")
            description = json.loads(zf.read(DESCRIPTION))
            weights = zf.read(WEIGHTS)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a zip archive ({exc})") from exc
    if not isinstance(description, dict) or description.get("format") != FORMAT_NAME:
        raise ValueError(f"{DESCRIPTION} does not describe a {FORMAT_NAME} model")
    if int(description.get("version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"saved by a newer tensorrag (format version {description.get('version')}, this one reads "
            f"{FORMAT_VERSION}); upgrade tensorrag"
        )
    return description, load(weights)


def _params(tensors: dict[str, Any], prefix: str = "param.") -> dict[str, Any]:
    return {name[len(prefix) :]: t for name, t in tensors.items() if name.startswith(prefix)}


def read_model(data: bytes) -> TorchModel:
    """Rebuild a :class:`TorchModel` from ``.trtorch`` bytes (the reader registered for the format)."""
    description, tensors = unpack(data)
    module = build_module(description)
    module.load_state_dict(_params(tensors), strict=True)
    module.eval()
    return TorchModel(module, description)


class TorchModel:
    """A trained torch network with the facts needed to use it, scored like a scikit-learn model.

    Args:
        module: the ``torch.nn.Module`` (any device; predictions come back as NumPy arrays).
        description: see the module docstring; ``format``/``version`` are filled in.
    """

    __tensorrag_format__ = MODEL_EXT

    def __init__(self, module: Any, description: dict[str, Any]) -> None:
        self.module = module
        self.description = {**description, "format": FORMAT_NAME, "version": FORMAT_VERSION}
        self.task: str = str(self.description.get("task") or "regression")
        self.target_column: str | None = self.description.get("target_column")
        self._set_features(self.description.get("feature_columns") or [])
        if self.task == "classification":
            self.classes_ = np.asarray(self.description.get("classes") or [])
            self._estimator_type = "classifier"
        else:
            self._estimator_type = "regressor"

    def _set_features(self, columns: list[str]) -> None:
        self.feature_columns: list[str] = [str(c) for c in columns]
        if self.feature_columns:
            self.feature_names_in_ = np.asarray(self.feature_columns, dtype=object)
            self.n_features_in_ = len(self.feature_columns)

    # ------------------------------------------------------------------ scoring

    def _matrix(self, x: Any) -> np.ndarray:
        if hasattr(x, "columns") and self.feature_columns:
            missing = [c for c in self.feature_columns if c not in x.columns]
            if missing:
                raise ValueError(f"the model was trained on columns {self.feature_columns}; the table lacks {missing}")
            x = x[self.feature_columns]
        arr: np.ndarray = np.asarray(x, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D table of features; got shape {arr.shape}")
        size = int(self.description.get("architecture", {}).get("input_size") or arr.shape[1])
        if arr.shape[1] != size:
            raise ValueError(f"the model takes {size} features; got {arr.shape[1]}")
        norm = self.description.get("normalization") or {}
        if norm.get("x_mean") is not None:
            arr = (arr - np.asarray(norm["x_mean"], dtype=np.float32)) / np.asarray(norm["x_std"], dtype=np.float32)
        return arr

    def raw_output(self, x: Any) -> np.ndarray:
        """The network's output for the features of ``x`` (normalised first), in eval mode, as NumPy."""
        torch = import_torch()
        arr = self._matrix(x)
        param = next(iter(self.module.parameters()), None)
        device = param.device if param is not None else "cpu"
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = self.module(torch.from_numpy(arr).to(device))
        finally:
            self.module.train(was_training)
        result: np.ndarray = out.detach().cpu().numpy().astype(np.float64)
        return result

    def predict(self, x: Any) -> np.ndarray:
        """Predictions for each row of ``x``: de-normalised values (regression) or class labels."""
        out = self.raw_output(x)
        if self.task == "classification":
            labels: np.ndarray = self.classes_[np.argmax(out, axis=1)]
            return labels
        out = out.reshape(len(out), -1)[:, 0]
        norm = self.description.get("normalization") or {}
        if norm.get("y_mean") is not None:
            out = out * float(norm["y_std"]) + float(norm["y_mean"])
        return out

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities (softmax), columns in the order of ``classes_``.

        Raises:
            AttributeError: the model is a regressor.
        """
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification models")
        out = self.raw_output(x)
        out = out - out.max(axis=1, keepdims=True)
        exp = np.exp(out)
        proba: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return proba

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's estimator tags (so ``sklearn.base.is_classifier`` and friends answer)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        classifier = self.task == "classification"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    # ------------------------------------------------------------------ artifact

    def tensors(self) -> dict[str, Any]:
        """The tensors saved in the weights file (``param.<name>`` of the state dict)."""
        return {f"param.{k}": v for k, v in self.module.state_dict().items()}

    def __tensorrag_encode__(self) -> bytes:
        """The ``.trtorch`` bytes (see the module docstring)."""
        return pack(self.description, self.tensors())

    def __repr__(self) -> str:
        arch = self.description.get("architecture", {})
        shape = arch.get("hidden_layers", "custom")
        return (
            f"TorchModel({self.description.get('model_type', self.description.get('kind'))}, {self.task}, "
            f"{len(self.feature_columns)} features, hidden {shape})"
        )
