"""``model_define``: choose a scikit-learn model and its hyperparameters (emits a JSON spec).

Also home of the model catalogue shared by the other ML cards: which estimator class a
``model_type`` means for each task, how ``task="auto"`` is resolved, and how hyperparameter
names are checked. scikit-learn is imported only inside functions.
"""

from __future__ import annotations

import difflib
import importlib
import json
from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.previews import model_summary_preview
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MODEL_TYPES",
    "TASKS",
    "ModelDefineCard",
    "build_estimator",
    "card_error",
    "check_hyperparameters",
    "estimator_class",
    "resolve_task",
]

#: model_type -> task -> (module, class). The first task listed is what ``auto`` means without data.
MODEL_TYPES: dict[str, dict[str, tuple[str, str]]] = {
    "linear_regression": {"regression": ("sklearn.linear_model", "LinearRegression")},
    "ridge": {
        "regression": ("sklearn.linear_model", "Ridge"),
        "classification": ("sklearn.linear_model", "RidgeClassifier"),
    },
    "lasso": {"regression": ("sklearn.linear_model", "Lasso")},
    "logistic_regression": {"classification": ("sklearn.linear_model", "LogisticRegression")},
    "random_forest": {
        "regression": ("sklearn.ensemble", "RandomForestRegressor"),
        "classification": ("sklearn.ensemble", "RandomForestClassifier"),
    },
    "gradient_boosting": {
        "regression": ("sklearn.ensemble", "GradientBoostingRegressor"),
        "classification": ("sklearn.ensemble", "GradientBoostingClassifier"),
    },
    "svm": {"regression": ("sklearn.svm", "SVR"), "classification": ("sklearn.svm", "SVC")},
    "knn": {
        "regression": ("sklearn.neighbors", "KNeighborsRegressor"),
        "classification": ("sklearn.neighbors", "KNeighborsClassifier"),
    },
    "decision_tree": {
        "regression": ("sklearn.tree", "DecisionTreeRegressor"),
        "classification": ("sklearn.tree", "DecisionTreeClassifier"),
    },
}
TASKS = ("auto", "regression", "classification")
#: Seed given to estimators that take ``random_state`` when the hyperparameters set none,
#: so a pipeline run twice trains the same model (and caching stays truthful).
DEFAULT_RANDOM_STATE = 42


def card_error(card_type: str, config: dict[str, Any], field: str, message: str) -> CardConfigError:
    """A :class:`CardConfigError` for a field of a node's config, prefixed with the card type.

    Args:
        card_type: e.g. ``"train"``.
        config: the node config (its ``_node_id`` is recorded).
        field: the config field (or port) at fault.
        message: what was expected, what was found, and how to fix it.

    Returns:
        The error, to be raised by the caller.
    """
    node = config.get("_node_id")
    return CardConfigError(
        f"{card_type}: {message}",
        node_id=node,
        card_type=card_type,
        problems=[{"node_id": node, "field": field, "message": message}],
    )


def _unknown_model_type(model_type: Any) -> ValueError:
    close = difflib.get_close_matches(str(model_type), list(MODEL_TYPES), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown model type {model_type!r}; expected one of {', '.join(MODEL_TYPES)}.{hint}")


def resolve_task(model_type: str, task: str | None = "auto", target: pd.Series | None = None) -> str:
    """The concrete task (``"regression"`` or ``"classification"``) to train ``model_type`` for.

    A model that supports one task always gets it (asking for the other is an error). For
    models with both (``ridge``, ``random_forest``, ``gradient_boosting``, ``svm``, ``knn``,
    ``decision_tree``), ``task="auto"`` means classification when the target
    column is not numeric (strings, categories, booleans) and regression otherwise — integer
    labels such as iris's 0/1/2 are numbers, so set ``task="classification"`` for them.

    Args:
        model_type: a key of :data:`MODEL_TYPES`.
        task: ``"auto"``, ``"regression"`` or ``"classification"``.
        target: the target column, when known.

    Returns:
        The task.

    Raises:
        ValueError: unknown model type or task, or a task the model does not support.
    """
    if model_type not in MODEL_TYPES:
        raise _unknown_model_type(model_type)
    supported = list(MODEL_TYPES[model_type])
    task = (task or "auto").lower()
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {', '.join(TASKS)}.")
    if task != "auto":
        if task not in supported:
            alternatives = [m for m, tasks in MODEL_TYPES.items() if task in tasks]
            raise ValueError(
                f"model_type {model_type!r} supports only {' and '.join(supported)}, not {task}. "
                f"Use task 'auto' or {'/'.join(repr(s) for s in supported)}, or pick a {task} model: "
                f"{', '.join(alternatives)}."
            )
        return task
    if len(supported) == 1:
        return supported[0]
    if target is not None:
        import pandas as pd

        dtype = target.dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return "classification" if "classification" in supported else supported[0]
    return "regression" if "regression" in supported else supported[0]


def estimator_class(model_type: str, task: str) -> type:
    """The scikit-learn estimator class for ``model_type`` and a concrete ``task`` (imported lazily).

    Raises:
        ValueError: unknown model type, or a task it does not support.
    """
    task = resolve_task(model_type, task)
    module, name = MODEL_TYPES[model_type][task]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"model_type {model_type!r} needs scikit-learn: pip install 'tensorrag[ml]' ({exc})") from exc


def check_hyperparameters(model_type: str, task: str, hyperparameters: dict[str, Any]) -> None:
    """Check hyperparameter names (with did-you-mean) and, where scikit-learn can, their values.

    For ``task="auto"`` on a model with two tasks, a name is accepted when either estimator
    has it; values are checked against every estimator that has all the names.

    Args:
        model_type: a key of :data:`MODEL_TYPES`.
        task: ``"auto"``, ``"regression"`` or ``"classification"``.
        hyperparameters: keyword arguments for the estimator.

    Raises:
        ValueError: unknown model type/task, unknown hyperparameter name, or an invalid value.
    """
    if not isinstance(hyperparameters, dict):
        raise ValueError(f"hyperparameters must be an object (a dict); got {type(hyperparameters).__name__}.")
    if model_type not in MODEL_TYPES:
        raise _unknown_model_type(model_type)
    task = (task or "auto").lower()
    tasks = list(MODEL_TYPES[model_type]) if task == "auto" else [resolve_task(model_type, task)]
    classes = [estimator_class(model_type, t) for t in tasks]
    valid: dict[type, set[str]] = {cls: set(cls().get_params(deep=False)) for cls in classes}
    known = sorted(set().union(*valid.values()))
    unknown = [name for name in hyperparameters if name not in known]
    if unknown:
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        class_names = " / ".join(cls.__name__ for cls in classes)
        raise ValueError(
            f"Unknown hyperparameter{'s' if len(unknown) > 1 else ''} {', '.join(parts)} for model_type "
            f"{model_type!r} ({class_names}). Valid names: {', '.join(known)}."
        )
    for cls, names in valid.items():
        if not set(hyperparameters) <= names:
            continue
        estimator = cls(**hyperparameters)
        validate = getattr(estimator, "_validate_params", None)  # scikit-learn >= 1.2
        if callable(validate):
            try:
                validate()
            except (ValueError, TypeError) as exc:
                raise ValueError(f"Invalid hyperparameter value for {cls.__name__}: {exc}") from exc


def build_estimator(model_type: str, task: str, hyperparameters: dict[str, Any] | None = None) -> Any:
    """An unfitted estimator for a concrete task, with the hyperparameters applied.

    ``random_state`` defaults to :data:`DEFAULT_RANDOM_STATE` where the estimator has one.

    Raises:
        ValueError: as :func:`check_hyperparameters`.
    """
    params = dict(hyperparameters or {})
    check_hyperparameters(model_type, task, params)
    cls = estimator_class(model_type, task)
    if "random_state" in cls().get_params(deep=False):
        params.setdefault("random_state", DEFAULT_RANDOM_STATE)
    return cls(**params)


class ModelDefineCard(BaseCard):
    """Pick a model type and hyperparameters; the spec is consumed by ``train``."""

    card_type = "model_define"
    display_name = "Model Define"
    description = (
        "Choose a scikit-learn model (linear, ridge, lasso, logistic, random forest, gradient boosting, SVM, "
        "k-NN, decision tree) and its hyperparameters."
    )
    category = "model"
    execution_mode = "local"
    output_view_type = "model_summary"
    config_schema = {
        "type": "object",
        "properties": {
            "model_type": {
                "type": "string",
                "enum": list(MODEL_TYPES),
                "default": "linear_regression",
                "description": "The estimator: linear_regression, lasso (regression), logistic_regression "
                "(classification); ridge, random_forest, gradient_boosting, svm, knn, decision_tree (both).",
            },
            "task": {
                "type": "string",
                "enum": list(TASKS),
                "default": "auto",
                "description": "regression or classification, for models that do both (ridge, random_forest, "
                "gradient_boosting, svm, knn, decision_tree). "
                "auto: classification when the target is text/categorical/boolean, else regression.",
            },
            "hyperparameters": {
                "type": "object",
                "default": {},
                "description": 'Keyword arguments of the scikit-learn estimator, e.g. {"alpha": 0.5}.',
            },
        },
        "required": ["model_type"],
    }
    input_schema = {}
    output_schema = {"model_spec": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Check the choice and save ``{model_type, task, hyperparameters}`` as ``model_spec``.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: unused (no input ports).
            storage: the card storage handle.

        Returns:
            ``{"model_spec": ref}``.

        Raises:
            CardConfigError: (a ``ValueError``) unknown model type ("Unknown model type ..."), a task the
                model cannot do, or an unknown/invalid hyperparameter.
        """
        model_type = str(config.get("model_type") or "linear_regression").strip().lower()
        task = str(config.get("task") or "auto").strip().lower()
        hyperparameters = config.get("hyperparameters") or {}
        if model_type not in MODEL_TYPES:
            raise card_error(self.card_type, config, "model_type", str(_unknown_model_type(config.get("model_type"))))
        try:
            if task != "auto":
                task = resolve_task(model_type, task)
            elif len(MODEL_TYPES[model_type]) == 1:
                task = next(iter(MODEL_TYPES[model_type]))
        except ValueError as exc:
            raise card_error(self.card_type, config, "task", str(exc)) from exc
        try:
            check_hyperparameters(model_type, task, hyperparameters)
        except ValueError as exc:
            raise card_error(self.card_type, config, "hyperparameters", str(exc)) from exc
        spec = {"model_type": model_type, "task": task, "hyperparameters": dict(hyperparameters)}
        kind = "" if task == "auto" else f" ({task})"
        print(f"model: {model_type}{kind}, hyperparameters {json.dumps(spec['hyperparameters'], sort_keys=True)}")
        ref = storage.save_json(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "model_spec", spec)
        return {"model_spec": ref}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{model_type, hyperparameters, task}``."""
        spec = storage.load_json(outputs["model_spec"])
        preview = model_summary_preview(spec)
        if spec.get("task"):
            preview["task"] = spec["task"]
        return preview
