"""What ``evaluate``, ``inference`` and the other scoring cards ask of a trained model.

Any object works, whatever library made it, when it has:

* ``predict(X)`` on a feature DataFrame -> one prediction per row (array-like; an ``(n, 1)``
  array is flattened);
* optionally ``predict_proba(X)`` -> ``(n, n_classes)`` class probabilities, columns in the
  order of ``classes_`` (used for ROC-AUC);
* optionally ``classes_`` (its class labels), ``task`` (``"classification"`` or
  ``"regression"``) and ``feature_columns`` (the columns it was trained on; scikit-learn's
  ``feature_names_in_`` is read too) — the cards use them when the config leaves them open.

No library type is special-cased here: a scikit-learn estimator and a wrapped torch module are
scored the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["is_classifier_model", "model_classes", "model_feature_columns", "predict", "predict_proba"]


def model_feature_columns(model: Any) -> list[str] | None:
    """The feature columns a model was trained on: ``feature_columns``, else ``feature_names_in_``."""
    for attr in ("feature_columns", "feature_names_in_"):
        names = getattr(model, attr, None)
        if names is not None and len(names):
            return [str(n) for n in list(names)]
    return None


def is_classifier_model(model: Any) -> bool:
    """Whether the model classifies: its ``task``, else scikit-learn's estimator type, else ``classes_``."""
    task = getattr(model, "task", None)
    if task in ("classification", "regression"):
        return task == "classification"
    if getattr(model, "_estimator_type", None) == "classifier":
        return True
    tags = getattr(model, "__sklearn_tags__", None)
    if callable(tags):
        try:
            if getattr(tags(), "estimator_type", None) == "classifier":
                return True
        except Exception:  # a third-party model whose tags need a fitted state or more arguments
            pass
    return hasattr(model, "classes_")


def model_classes(model: Any) -> list[Any] | None:
    """The model's class labels (``classes_``) as plain Python values, if it has them."""
    classes = getattr(model, "classes_", None)
    return None if classes is None else list(np.asarray(classes).tolist())


def predict(model: Any, x: Any) -> np.ndarray:
    """``model.predict(x)`` as a 1-D array (an ``(n, 1)`` result is flattened)."""
    pred = np.asarray(model.predict(x))
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    return pred


def predict_proba(model: Any, x: Any) -> np.ndarray | None:
    """``model.predict_proba(x)`` as an ``(n, k)`` array, or None when the model has none."""
    method = getattr(model, "predict_proba", None)  # SVC without probability=True raises AttributeError here
    if not callable(method):
        return None
    proba = np.asarray(method(x), dtype=float)
    return proba if proba.ndim == 2 else None
