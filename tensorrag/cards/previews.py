"""Preview helpers: turn card outputs into the JSON shapes the canvas renders.

The shapes follow the original UI (see ``output_view_type``):

* **table** — :func:`table_preview` ``{rows, columns: [{name, dtype}], shape: {rows, cols}, null_counts}``
  or the split form of :func:`split_preview` ``{train: {rows, row_count}, test: {...}, split_ratio}``.
* **metrics** — :func:`metrics_preview` ``{metrics: {name: number}, ...rest}``.
* **model_summary** — :func:`model_summary_preview` ``{model_type, hyperparameters}``.

Every helper returns plain JSON (``json.dumps`` works): :func:`json_safe` converts numpy
scalars and arrays, pandas timestamps and missing values, and maps NaN/inf to ``None``.
numpy and pandas are imported only when a value could be one of theirs: an object of their types
cannot exist before the library is loaded, so ``import tensorrag`` stays light.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    import pandas as pd

__all__ = [
    "json_safe",
    "metrics_preview",
    "model_summary_preview",
    "preview_value",
    "split_preview",
    "table_preview",
]

_MAX_DEPTH = 32


def _loaded(name: str) -> ModuleType | None:
    """The module ``name`` if some code already imported it, else ``None`` (no value can be one of its types)."""
    if name not in sys.modules:
        return None
    # The import statement waits for a module another thread is still initialising.
    return __import__(name)


def json_safe(obj: Any, _depth: int = 0) -> Any:
    """Return ``obj`` as plain JSON data (dict, list, str, int, float, bool, None).

    * numpy scalars become Python numbers, numpy arrays and pandas Series become lists;
    * NaN, +/-inf, ``pd.NA`` and ``pd.NaT`` become ``None``;
    * dates, datetimes and ``pd.Timestamp`` become ISO-8601 strings, timedeltas their string;
    * dict keys become strings; tuples and sets become lists;
    * a DataFrame becomes a list of records; bytes become ``"<N bytes>"``;
    * anything else becomes ``str(obj)``.

    Args:
        obj: any value.

    Returns:
        A value ``json.dumps`` accepts (without ``allow_nan``).
    """
    if _depth > _MAX_DEPTH:
        return str(obj)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    np, pd = _loaded("numpy"), _loaded("pandas")
    if np is not None and isinstance(obj, np.generic):
        if isinstance(obj, (np.datetime64, np.timedelta64)):
            import pandas  # converts NaT to NaT and the rest to Timestamp / Timedelta

            as_pandas = pandas.Timestamp if isinstance(obj, np.datetime64) else pandas.Timedelta
            return json_safe(as_pandas(obj), _depth + 1)
        return json_safe(obj.item(), _depth + 1)
    if pd is not None and (obj is pd.NaT or obj is pd.NA):
        return None
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):  # pd.Timestamp is a datetime
        return obj.isoformat()
    if isinstance(obj, _dt.timedelta):  # pd.Timedelta is a timedelta
        return str(obj)
    if isinstance(obj, decimal.Decimal):
        return json_safe(float(obj), _depth + 1)
    if isinstance(obj, complex):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in obj.items()}
    if pd is not None and isinstance(obj, pd.DataFrame):
        return json_safe(obj.to_dict(orient="records"), _depth + 1)
    if pd is not None and isinstance(obj, (pd.Series, pd.Index)):
        return [json_safe(v, _depth + 1) for v in obj.tolist()]
    if np is not None and isinstance(obj, np.ndarray):
        return [json_safe(v, _depth + 1) for v in obj.tolist()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [json_safe(v, _depth + 1) for v in items]
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return f"<{len(obj)} bytes>"
    if isinstance(obj, PurePath) or (type(obj).__name__ == "UUID" and type(obj).__module__ == "uuid"):
        return str(obj)
    try:
        if pd is not None and pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def _columns(df: pd.DataFrame) -> list[dict[str, str]]:
    return [{"name": str(name), "dtype": str(dtype)} for name, dtype in df.dtypes.items()]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    # Build records by position so duplicate or non-string column names survive.
    names = [str(c) for c in df.columns]
    return [
        {name: json_safe(value) for name, value in zip(names, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


def table_preview(df: pd.DataFrame, max_rows: int = 100) -> dict[str, Any]:
    """The standard table preview of a DataFrame.

    Args:
        df: the table.
        max_rows: how many leading rows to include.

    Returns:
        ``{"rows": [{col: value}], "columns": [{"name", "dtype"}], "shape": {"rows", "cols"},
        "null_counts": {col: n}}``.
    """
    nulls = df.isna().sum()
    return {
        "rows": _records(df.head(max(0, int(max_rows)))),
        "columns": _columns(df),
        "shape": {"rows": int(df.shape[0]), "cols": int(df.shape[1])},
        "null_counts": {str(k): int(v) for k, v in nulls.items()},
    }


def split_preview(train: pd.DataFrame, test: pd.DataFrame, rows: int = 20) -> dict[str, Any]:
    """The split-form table preview (the canvas shows Train / Test tabs).

    Args:
        train: the training part.
        test: the test part.
        rows: how many leading rows of each part to include.

    Returns:
        ``{"train": {"rows", "row_count"}, "test": {"rows", "row_count"},
        "split_ratio": {"train", "test"}}`` with ratios rounded to 3 decimals.
    """
    n_train, n_test = len(train), len(test)
    total = n_train + n_test
    return {
        "train": {"rows": _records(train.head(rows)), "row_count": n_train},
        "test": {"rows": _records(test.head(rows)), "row_count": n_test},
        "split_ratio": {
            "train": round(n_train / total, 3) if total else 0.0,
            "test": round(n_test / total, 3) if total else 0.0,
        },
    }


def model_summary_preview(model: Any) -> dict[str, Any]:
    """The model-summary preview of a model object or a model spec dict.

    Args:
        model: an estimator (anything with ``get_params()`` gets its parameters listed), or a
            dict with ``model_type`` / ``hyperparameters`` (a model spec).

    Returns:
        ``{"model_type": str, "hyperparameters": dict}``.
    """
    if isinstance(model, Mapping) and "model_type" in model:
        return {
            "model_type": str(model["model_type"]),
            "hyperparameters": json_safe(dict(model.get("hyperparameters") or {})),
        }
    params: dict[str, Any] = {}
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        try:
            params = dict(get_params(deep=False))
        except TypeError:
            params = dict(get_params())
        except Exception:  # a model whose parameters cannot be read still gets a summary
            params = {}
    return {"model_type": type(model).__name__, "hyperparameters": json_safe(params)}


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    np = _loaded("numpy")
    return np is not None and isinstance(value, np.number) and not isinstance(value, np.bool_)


def metrics_preview(data: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics preview of a dict of results.

    Numeric top-level entries go under ``metrics``; everything else (coefficients, lists,
    strings, a ``chart_ref``) is kept next to it. A dict that already has a ``metrics``
    mapping is only made JSON-safe.

    Args:
        data: e.g. ``{"train_mse": 3.2, "train_r2": 0.5, "coefficients": {...}}``.

    Returns:
        ``{"metrics": {name: number | None}, ...other entries}``.
    """
    if isinstance(data.get("metrics"), Mapping):
        return json_safe(dict(data))
    metrics: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in data.items():
        if _is_number(value):
            metrics[str(key)] = json_safe(value)
        else:
            rest[str(key)] = json_safe(value)
    return {"metrics": metrics, **rest}


def preview_value(value: Any, view_type: str = "table") -> dict[str, Any]:
    """A preview of one loaded artifact, chosen by its Python type and the card's view type.

    * DataFrame (or Series) -> :func:`table_preview`;
    * dict -> :func:`metrics_preview` for the ``metrics`` view, the ``{model_type, hyperparameters}``
      part for ``model_summary`` when present, else the dict made JSON-safe;
    * bytes -> ``{"bytes": length}``;
    * list, str or number -> ``{"value": ...}``;
    * anything else (a model) -> :func:`model_summary_preview`.

    Args:
        value: the loaded artifact.
        view_type: the card's ``output_view_type``.

    Returns:
        A JSON-safe dict.
    """
    pd, np = _loaded("pandas"), _loaded("numpy")
    if pd is not None and isinstance(value, pd.Series):
        value = value.to_frame()
    if pd is not None and isinstance(value, pd.DataFrame):
        return table_preview(value)
    if isinstance(value, Mapping):
        if view_type == "metrics":
            return metrics_preview(value)
        if view_type == "model_summary" and "model_type" in value:
            return model_summary_preview(value)
        return json_safe(dict(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": len(value)}
    if value is None or isinstance(value, (str, int, float, list, tuple)):
        return {"value": json_safe(value)}
    if np is not None and isinstance(value, (np.generic, np.ndarray)):
        return {"value": json_safe(value)}
    return model_summary_preview(value)
