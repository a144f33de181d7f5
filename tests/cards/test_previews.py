"""Preview helpers: JSON-safe conversion and the documented preview shapes."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tensorrag.cards.previews import (
    json_safe,
    metrics_preview,
    model_summary_preview,
    preview_value,
    split_preview,
    table_preview,
)


def _strict(obj):
    return json.loads(json.dumps(obj, allow_nan=False))


def test_json_safe_converts_numpy_pandas_and_non_finite() -> None:
    value = {
        1: np.int64(3),
        "f": np.float32(1.5),
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "arr": np.array([[1, 2], [3, 4]]),
        "bool": np.bool_(True),
        "ts": pd.Timestamp("2024-01-02T03:04:05Z"),
        "nat": pd.NaT,
        "na": pd.NA,
        "date": dt.date(2024, 5, 6),
        "td": pd.Timedelta("1h"),
        "dt64": np.datetime64("2024-01-01"),
        "tuple": (1, np.nan),
        "set": {2, 1},
        "series": pd.Series([1.0, None]),
        "bytes": b"abc",
        "nested": [{"x": np.float64("nan")}],
        "obj": object,
    }
    out = json_safe(value)
    _strict(out)
    assert out["1"] == 3 and type(out["1"]) is int
    assert out["f"] == 1.5 and out["nan"] is None and out["inf"] is None
    assert out["arr"] == [[1, 2], [3, 4]]
    assert out["bool"] is True
    assert out["ts"] == "2024-01-02T03:04:05+00:00"
    assert out["nat"] is None and out["na"] is None
    assert out["date"] == "2024-05-06"
    assert out["td"] == "0 days 01:00:00"
    assert out["dt64"].startswith("2024-01-01")
    assert out["tuple"] == [1, None] and out["set"] == [1, 2]
    assert out["series"] == [1.0, None]
    assert out["bytes"] == "<3 bytes>"
    assert out["nested"] == [{"x": None}]
    assert isinstance(out["obj"], str)


def test_table_preview_shape() -> None:
    df = pd.DataFrame(
        {
            "a": np.arange(150),
            "b": [None if i % 50 == 0 else float(i) for i in range(150)],
            "c": pd.date_range("2024-01-01", periods=150, freq="D"),
            3: ["x"] * 150,
        }
    )
    preview = table_preview(df)
    _strict(preview)
    assert set(preview) == {"rows", "columns", "shape", "null_counts"}
    assert len(preview["rows"]) == 100
    assert preview["rows"][0] == {"a": 0, "b": None, "c": "2024-01-01T00:00:00", "3": "x"}
    assert [c["name"] for c in preview["columns"]] == ["a", "b", "c", "3"]
    dtypes = [c["dtype"] for c in preview["columns"]]
    assert dtypes[:2] == ["int64", "float64"]
    assert dtypes[2].startswith("datetime64[") and dtypes[3] in ("object", "str")  # pandas 2 / pandas 3
    assert preview["shape"] == {"rows": 150, "cols": 4}
    assert preview["null_counts"] == {"a": 0, "b": 3, "c": 0, "3": 0}
    assert len(table_preview(df, max_rows=5)["rows"]) == 5


def test_split_preview_shape() -> None:
    train, test = pd.DataFrame({"x": range(70)}), pd.DataFrame({"x": range(30)})
    preview = split_preview(train, test)
    _strict(preview)
    assert preview["train"]["row_count"] == 70 and len(preview["train"]["rows"]) == 20
    assert preview["test"]["row_count"] == 30 and preview["test"]["rows"][0] == {"x": 0}
    assert preview["split_ratio"] == {"train": 0.7, "test": 0.3}
    third = split_preview(pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]}))
    assert third["split_ratio"] == {"train": 0.667, "test": 0.333}
    assert split_preview(pd.DataFrame(), pd.DataFrame())["split_ratio"] == {"train": 0.0, "test": 0.0}


def test_model_summary_preview() -> None:
    from sklearn.linear_model import Ridge

    preview = model_summary_preview(Ridge(alpha=0.5))
    _strict(preview)
    assert preview["model_type"] == "Ridge" and preview["hyperparameters"]["alpha"] == 0.5
    assert model_summary_preview({"model_type": "lasso", "hyperparameters": {"alpha": np.float64(2)}}) == {
        "model_type": "lasso",
        "hyperparameters": {"alpha": 2.0},
    }
    assert model_summary_preview(object()) == {"model_type": "object", "hyperparameters": {}}


def test_metrics_preview() -> None:
    preview = metrics_preview(
        {"mse": np.float64(2.5), "r2": 0.5, "n": 3, "bad": math.nan, "ok": True, "coefficients": {"a": 1}}
    )
    _strict(preview)
    assert preview["metrics"] == {"mse": 2.5, "r2": 0.5, "n": 3, "bad": None}
    assert preview["coefficients"] == {"a": 1} and preview["ok"] is True
    already = {"metrics": {"x": np.float32(1)}, "chart_ref": "r"}
    assert metrics_preview(already) == {"metrics": {"x": 1.0}, "chart_ref": "r"}


@pytest.mark.parametrize(
    ("value", "view", "expected_keys"),
    [
        (pd.DataFrame({"a": [1]}), "table", {"rows", "columns", "shape", "null_counts"}),
        (pd.Series([1, 2], name="s"), "table", {"rows", "columns", "shape", "null_counts"}),
        ({"mse": 1.0}, "metrics", {"metrics"}),
        (
            {"model_type": "ridge", "hyperparameters": {}, "task": "auto"},
            "model_summary",
            {"model_type", "hyperparameters"},
        ),
        ({"a": [1, 2]}, "table", {"a"}),
        (b"\x89PNG", "metrics", {"bytes"}),
        ([1, 2], "table", {"value"}),
    ],
)
def test_preview_value_dispatch(value, view, expected_keys) -> None:
    preview = preview_value(value, view)
    _strict(preview)
    assert set(preview) == expected_keys


def test_preview_value_of_a_model() -> None:
    from sklearn.ensemble import RandomForestRegressor

    preview = preview_value(RandomForestRegressor(n_estimators=3), "metrics")
    _strict(preview)
    assert preview["model_type"] == "RandomForestRegressor"
    assert preview["hyperparameters"]["n_estimators"] == 3


def test_importing_the_builtin_cards_does_not_import_sklearn_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "import tensorrag.cards.builtin, tensorrag.cards.previews\n"
        "import tensorrag.cards.data.load, tensorrag.cards.data.split\n"
        "import tensorrag.cards.ml.define, tensorrag.cards.ml.train, tensorrag.cards.ml.evaluate\n"
        "import tensorrag.cards.ml.inference\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'matplotlib', 'scipy'))\n"
        "assert not heavy, heavy\n"
        "assert not any(m.startswith('tensorrag.storage') for m in sys.modules if 'cards' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
