"""Fitted transforms as plain JSON: fit on one table, apply the same numbers to another.

``scale``, ``encode`` and ``fill_missing`` output one of these specs next to the transformed
table, and ``apply_transform`` applies it to new data (a test split, rows at inference time), so
test data is transformed with the statistics of the training data. A spec is JSON, not a pickle:
it can be read in a preview, diffed, and loaded without running any code.

* ``{"kind": "scale", "method", "columns", "center", "scale"}``: ``x -> (x - center) / scale``
  (standard: mean and population std; minmax: min and max - min; robust: median and IQR; a zero
  scale becomes 1, as scikit-learn does).
* ``{"kind": "encode", "method", "columns", "categories"}``: onehot (one 0/1 column
  ``{column}_{value}`` per category, in place of the column; unknown or missing values give all 0),
  ordinal (the category's index, -1 for unknown or missing) or label (the index; unknown is an error).
* ``{"kind": "fill", "values"}``: missing values of each column replaced by its value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.previews import json_safe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ENCODE_METHODS", "SCALE_METHODS", "apply_spec", "fit_encoder", "fit_scaler", "sorted_categories"]

SCALE_METHODS = ("standard", "minmax", "robust")
ENCODE_METHODS = ("onehot", "ordinal", "label")


def fit_scaler(df: pd.DataFrame, columns: list[str], method: str) -> dict[str, Any]:
    """The scale spec of ``columns`` of ``df`` (missing values ignored, as scikit-learn's scalers do)."""
    x = df[columns].astype(float)
    if method == "standard":
        center, scale = x.mean(), x.std(ddof=0)
    elif method == "minmax":
        center, scale = x.min(), x.max() - x.min()
    elif method == "robust":
        center, scale = x.median(), x.quantile(0.75) - x.quantile(0.25)
    else:
        raise ValueError(f"unknown scale method {method!r}; expected one of {', '.join(SCALE_METHODS)}")
    scale = scale.where(scale != 0, 1.0).fillna(1.0)
    return {
        "kind": "scale",
        "method": method,
        "columns": list(columns),
        "center": [float(v) for v in center],
        "scale": [float(v) for v in scale],
    }


def sorted_categories(values: pd.Series) -> list[Any]:
    """The distinct non-missing values of a column, sorted (by text when the types are mixed)."""
    distinct = list(dict.fromkeys(json_safe(v) for v in values.dropna().tolist()))
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)


def fit_encoder(df: pd.DataFrame, columns: list[str], method: str) -> dict[str, Any]:
    """The encode spec of ``columns`` of ``df``."""
    if method not in ENCODE_METHODS:
        raise ValueError(f"unknown encode method {method!r}; expected one of {', '.join(ENCODE_METHODS)}")
    return {
        "kind": "encode",
        "method": method,
        "columns": list(columns),
        "categories": {c: sorted_categories(df[c]) for c in columns},
    }


def apply_spec(spec: dict[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """Apply a fitted spec to ``df`` (a copy is returned).

    Raises:
        KeyError: a column of the spec is not in ``df`` (the message names it).
        ValueError: an unknown spec kind, or a label the encoder never saw.
    """
    kind = spec.get("kind") if isinstance(spec, dict) else None
    columns = list(spec.get("columns") or spec.get("values") or []) if isinstance(spec, dict) else []
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"the {kind} transform needs column(s) {', '.join(map(repr, missing))}, not in the table")
    out = df.copy()
    if kind == "scale":
        for column, center, scale in zip(columns, spec["center"], spec["scale"], strict=True):
            out[column] = (out[column].astype(float) - center) / scale
        return out
    if kind == "fill":
        for column, value in spec["values"].items():
            out[column] = out[column].fillna(value)
        return out
    if kind == "encode":
        return _encode(spec, out)
    raise ValueError(f"not a fitted transform (kind {kind!r}); expected the scaler/encoder/fill_values output")


def _encode(spec: dict[str, Any], out: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    method = spec["method"]
    for column in spec["columns"]:
        categories = spec["categories"][column]
        index = {value: i for i, value in enumerate(categories)}
        values = out[column].map(lambda v, index=index: index.get(json_safe(v), -1) if pd.notna(v) else -1)
        if method == "label":
            unknown = out[column][values.eq(-1)]
            if len(unknown):
                seen = ", ".join(map(repr, categories[:20]))
                raise ValueError(
                    f"column {column!r} has value(s) {', '.join(map(repr, unknown.unique()[:10]))} the label "
                    f"encoder never saw (it knows {seen}); fit it on data that has every label."
                )
        if method in ("label", "ordinal"):
            out[column] = values.astype("int64")
            continue
        position = list(out.columns).index(column)
        dummies = pd.DataFrame(
            {f"{column}_{value}": values.eq(i).astype("int64") for i, value in enumerate(categories)},
            index=out.index,
        )
        out = pd.concat([out.iloc[:, :position], dummies, out.iloc[:, position + 1 :]], axis=1)
    return out
