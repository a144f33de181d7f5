"""``train``: fit the model described by a ``model_define`` spec on a training table.

Also holds the column checks shared by ``evaluate`` and ``inference``.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np
import pandas as pd

from tensorrag.cards._fields import column_fields
from tensorrag.cards.base import BaseCard
from tensorrag.cards.ml.define import MODEL_TYPES, build_estimator, card_error, resolve_task
from tensorrag.cards.previews import json_safe

__all__ = [
    "TrainCard",
    "check_feature_frame",
    "check_target",
    "check_target_for_task",
    "fit_table",
    "is_classifier_model",
    "model_feature_names",
]


def _column_list(df: pd.DataFrame) -> str:
    names = [str(c) for c in df.columns]
    text = ", ".join(names[:50])
    return text + (f", ... ({len(names)} columns)" if len(names) > 50 else "")


def check_target(card_type: str, config: dict[str, Any], df: pd.DataFrame, target: str, port: str) -> pd.Series:
    """Return ``df[target]`` or raise a clear error listing the columns.

    Args:
        card_type: for the message.
        config: the node config.
        df: the table.
        target: the ``target_column`` config value.
        port: the input port name of ``df``, for the message.

    Returns:
        The target column.

    Raises:
        CardConfigError: the column does not exist, or has missing values.
    """
    if not target or target not in df.columns:
        close = difflib.get_close_matches(str(target), [str(c) for c in df.columns], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise card_error(
            card_type,
            config,
            "target_column",
            f"target_column {target!r} is not a column of {port}.{hint} Set target_column to the label column; "
            f"columns are: {_column_list(df)}.",
        )
    y = df[target]
    missing = int(y.isna().sum())
    if missing:
        raise card_error(
            card_type,
            config,
            "target_column",
            f"target_column {target!r} has {missing} missing value(s) in {port}; drop those rows upstream.",
        )
    return y


def check_feature_frame(
    card_type: str, config: dict[str, Any], df: pd.DataFrame, features: list[str], port: str
) -> pd.DataFrame:
    """Return ``df[features]`` after checking the columns exist, are numeric and have no missing values.

    Raises:
        CardConfigError: naming the missing, non-numeric or incomplete columns.
    """
    if not features:
        raise card_error(
            card_type, config, "feature_columns", f"no feature columns left in {port}; set feature_columns."
        )
    absent = [c for c in features if c not in df.columns]
    if absent:
        raise card_error(
            card_type,
            config,
            "feature_columns",
            f"feature column(s) {', '.join(repr(c) for c in absent)} not found in {port}; columns are: "
            f"{_column_list(df)}.",
        )
    x = df[list(features)]
    bad = [
        f"{c!r} ({x[c].dtype})"
        for c in features
        if not (pd.api.types.is_numeric_dtype(x[c].dtype) or pd.api.types.is_bool_dtype(x[c].dtype))
    ]
    if bad:
        raise card_error(
            card_type,
            config,
            "feature_columns",
            f"feature columns must be numeric, but {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not. "
            "Leave them out with feature_columns, or encode them to numbers upstream.",
        )
    nulls = {str(c): int(n) for c, n in x.isna().sum().items() if n}
    if nulls:
        detail = ", ".join(f"{c!r} ({n})" for c, n in nulls.items())
        raise card_error(
            card_type,
            config,
            "feature_columns",
            f"feature columns have missing values in {port}: {detail}. Drop or impute those rows upstream.",
        )
    return x


def model_feature_names(model: Any) -> list[str] | None:
    """The feature columns a fitted model records (``feature_columns`` or ``feature_names_in_``), if any."""
    from tensorrag.cards.ml.scoring import model_feature_columns

    return model_feature_columns(model)


def is_classifier_model(model: Any) -> bool:
    """Whether a fitted model is a classifier (see :func:`tensorrag.cards.ml.scoring.is_classifier_model`)."""
    from tensorrag.cards.ml.scoring import is_classifier_model as check

    return check(model)


def _regression_metrics(y: Any, pred: Any, prefix: str) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y, pred))
    r2 = float(r2_score(y, pred)) if len(y) > 1 else float("nan")
    return {
        f"{prefix}mse": mse,
        f"{prefix}rmse": math.sqrt(mse),
        f"{prefix}mae": float(mean_absolute_error(y, pred)),
        f"{prefix}r2": r2,
    }


def _classification_metrics(y: Any, pred: Any, prefix: str) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        f"{prefix}accuracy": float(accuracy_score(y, pred)),
        f"{prefix}f1": float(f1_score(y, pred, average="macro", zero_division=0)),
    }


def check_target_for_task(
    card_type: str, config: dict[str, Any], y: pd.Series, target: str, task: str, model_type: str
) -> pd.Series:
    """Return ``y`` if it suits ``task`` (numbers for regression, labels for classification), else raise."""
    if task == "regression":
        if pd.api.types.is_bool_dtype(y.dtype) or not pd.api.types.is_numeric_dtype(y.dtype):
            both = [m for m, t in MODEL_TYPES.items() if "classification" in t]
            raise card_error(
                card_type,
                config,
                "target_column",
                f"target_column {target!r} holds {y.dtype} values, but {model_type!r} is trained for regression "
                f"(numbers). For labels use a classification model ({', '.join(both)}) with task "
                "'classification' in Model Define.",
            )
        return y
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y)
    n_classes = int(y.nunique())
    if kind.startswith("continuous") or (len(y) > 20 and n_classes > len(y) / 2):
        raise card_error(
            card_type,
            config,
            "target_column",
            f"target_column {target!r} holds continuous numbers ({n_classes} distinct values in {len(y)} rows), "
            f"but {model_type!r} is trained for "
            "classification (labels). Set task 'regression' (or a regression model) in Model Define, "
            "or bin the target into classes.",
        )
    return y


def fit_table(
    card: Any,
    config: dict[str, Any],
    df: pd.DataFrame,
    model_type: str,
    task: str,
    hyperparameters: dict[str, Any],
    storage: Any,
    port: str = "train_dataset",
    extra_metrics: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Fit ``model_type`` on a training table; save ``trained_model``, ``train_metrics`` and ``model_meta``.

    Shared by ``train`` and ``random_forest``: features are ``feature_columns`` of the config or
    every column but ``target_column``; the task is resolved from the target when ``auto``.

    Args:
        card: the card instance (its ``card_type`` names errors).
        config: validated config plus ``_pipeline_id`` / ``_node_id``.
        df: the training table.
        model_type: a key of :data:`MODEL_TYPES`.
        task: ``auto``, ``regression`` or ``classification``.
        hyperparameters: estimator keyword arguments.
        storage: the card storage handle.
        port: the input port of the table, for messages.
        extra_metrics: more entries for ``train_metrics``.

    Returns:
        ``{"trained_model": ref, "train_metrics": ref}``.

    Raises:
        CardConfigError: bad target or features, a task the model cannot do, bad hyperparameters, a failed fit.
    """
    if len(df) == 0:
        raise card_error(card.card_type, config, port, f"{port} has no rows.")

    target = str(config.get("target_column") or "target")
    y = check_target(card.card_type, config, df, target, port)
    features = [str(c) for c in (config.get("feature_columns") or [c for c in df.columns if c != target])]
    if target in features:
        raise card_error(
            card.card_type,
            config,
            "feature_columns",
            f"feature_columns includes the target column {target!r}; remove it (a model must not see its label).",
        )
    x = check_feature_frame(card.card_type, config, df, features, port)

    try:
        task = resolve_task(model_type, task or "auto", y)
    except ValueError as exc:
        raise card_error(card.card_type, config, "model_spec", str(exc)) from exc
    y = check_target_for_task(card.card_type, config, y, target, task, model_type)
    try:
        model = build_estimator(model_type, task, hyperparameters)
    except ValueError as exc:
        raise card_error(card.card_type, config, "model_spec", str(exc)) from exc
    try:
        model.fit(x, y)
    except ValueError as exc:
        raise card_error(card.card_type, config, port, f"fitting {type(model).__name__} failed: {exc}") from exc

    pred = model.predict(x)
    metrics: dict[str, Any] = {}
    if task == "classification":
        metrics.update(_classification_metrics(y, pred, "train_"))
    else:
        metrics.update(_regression_metrics(y, pred, "train_"))
        coef = getattr(model, "coef_", None)
        if coef is not None and np.ndim(coef) == 1 and len(coef) == len(features):
            metrics["coefficients"] = {f: float(v) for f, v in zip(features, coef, strict=True)}
            metrics["intercept"] = json_safe(getattr(model, "intercept_", None))
    importances = getattr(model, "feature_importances_", None)
    if importances is not None and len(importances) == len(features):
        metrics["feature_importances"] = {f: float(v) for f, v in zip(features, importances, strict=True)}
    metrics.update({"feature_columns": features, "target_column": target, "model_type": model_type, "task": task})
    metrics.update(extra_metrics or {})

    meta: dict[str, Any] = {
        "feature_columns": features,
        "target_column": target,
        "model_type": model_type,
        "task": task,
    }
    if task == "classification" and hasattr(model, "classes_"):
        meta["classes"] = json_safe(model.classes_)
    score = ", ".join(f"{k[6:]} {metrics[k]:.4g}" for k in ("train_r2", "train_accuracy") if k in metrics)
    print(f"fitted {model_type} on {len(x)} rows x {len(features)} features (train {score})")
    pid, nid = config.get("_pipeline_id", "_p"), config.get("_node_id", "_n")
    model_ref = storage.save_model(pid, nid, "trained_model", model)
    metrics_ref = storage.save_json(pid, nid, "train_metrics", json_safe(metrics))
    storage.save_json(pid, nid, "model_meta", meta)
    return {"trained_model": model_ref, "train_metrics": metrics_ref}


class TrainCard(BaseCard):
    """Fit a scikit-learn model on the training table; report training metrics."""

    card_type = "train"
    display_name = "Train"
    description = "Fit the model from Model Define on the training table; outputs the model and training metrics."
    category = "model"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "type": "object",
        "properties": {
            **column_fields(target="The label column to predict."),
        },
        "required": ["target_column"],
    }
    input_schema = {"train_dataset": "dataframe", "model_spec": "json"}
    output_schema = {"trained_model": "model", "train_metrics": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Fit the estimator and save the model, its metrics and a ``model_meta`` extra.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: ``{"train_dataset": ref, "model_spec": ref}``.
            storage: the card storage handle.

        Returns:
            ``{"trained_model": ref, "train_metrics": ref}`` (``model_meta`` is saved as an extra
            artifact: ``{feature_columns, target_column, model_type, task}``).
        """
        df = storage.load_dataframe(inputs["train_dataset"])
        spec = storage.load_json(inputs["model_spec"])
        if not isinstance(spec, dict) or "model_type" not in spec:
            raise card_error(
                self.card_type,
                config,
                "model_spec",
                f"model_spec must be a Model Define output like {{'model_type': 'ridge', 'hyperparameters': {{}}}}; "
                f"got {str(spec)[:120]!r}.",
            )
        model_type = str(spec["model_type"]).strip().lower()
        task, hyperparameters = spec.get("task") or "auto", spec.get("hyperparameters") or {}
        return fit_table(self, config, df, model_type, task, hyperparameters, storage)

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{metrics: {train_*}, coefficients?, intercept?, feature_columns, target_column}``.

        ``coefficients`` / ``intercept`` appear for linear regression models;
        ``feature_importances`` for random forests.
        """
        data = storage.load_json(outputs["train_metrics"])
        preview: dict[str, Any] = {
            "metrics": {k: v for k, v in data.items() if k.startswith("train_") and not isinstance(v, (dict, list))}
        }
        for key in ("coefficients", "intercept", "feature_importances"):
            if key in data:
                preview[key] = data[key]
        preview["feature_columns"] = data.get("feature_columns", [])
        preview["target_column"] = data.get("target_column")
        for key in ("model_type", "task"):
            if key in data:
                preview[key] = data[key]
        return json_safe(preview)
