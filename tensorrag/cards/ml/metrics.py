"""Metric computations shared by ``evaluate``, ``confusion_matrix``, ``accuracy_calc`` and ``cross_validate``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "classification_details",
    "compute_metric",
    "label_order",
    "roc_auc",
]

REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc")


def compute_metric(name: str, y: Any, pred: Any) -> float:
    """One metric of predictions against the truth (``roc_auc`` needs :func:`roc_auc` instead)."""
    from sklearn import metrics as m

    if name == "mse":
        return float(m.mean_squared_error(y, pred))
    if name == "rmse":
        return math.sqrt(float(m.mean_squared_error(y, pred)))
    if name == "mae":
        return float(m.mean_absolute_error(y, pred))
    if name == "r2":
        return float(m.r2_score(y, pred)) if len(y) > 1 else float("nan")
    if name == "accuracy":
        return float(m.accuracy_score(y, pred))
    if name == "f1":
        return float(m.f1_score(y, pred, average="macro", zero_division=0))
    raise ValueError(f"unknown metric {name!r}")


def label_order(y_true: Any, y_pred: Any, classes: list[Any] | None = None) -> list[Any]:
    """Class order for a confusion matrix: the model's classes, then any other label seen, sorted."""
    seen = list(dict.fromkeys(np.asarray(y_true).tolist() + np.asarray(y_pred).tolist()))
    known = list(classes or [])
    try:
        extra = sorted(v for v in seen if v not in known)
    except TypeError:
        extra = sorted((v for v in seen if v not in known), key=repr)
    return known + extra


def roc_auc(y: Any, proba: np.ndarray, classes: list[Any]) -> float | None:
    """ROC-AUC from class probabilities (binary: of ``classes[1]``; multiclass: one-vs-rest, macro).

    Returns:
        The score, or None when it is undefined (one class in ``y``, or labels outside ``classes``).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    present = set(y.tolist())
    if len(present) < 2 or not present <= set(classes) or proba.shape[1] != len(classes):
        return None
    if len(classes) == 2:
        return float(roc_auc_score(y == classes[1], proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes))


def classification_details(y: Any, pred: Any, labels: list[Any]) -> dict[str, Any]:
    """The classification report (per class and averages) and the confusion matrix, as JSON."""
    from sklearn.metrics import classification_report, confusion_matrix

    names = [str(label) for label in labels]
    report = classification_report(y, pred, labels=labels, target_names=names, output_dict=True, zero_division=0)
    matrix = confusion_matrix(y, pred, labels=labels)
    return {
        "classification_report": {str(k): v for k, v in report.items()},
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
    }
