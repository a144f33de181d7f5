import uuid

import numpy as np
import pandas as pd
import pytest

from tensorrag.errors import ArtifactNotFoundError
from tensorrag.storage import ArtifactStore, open_store
from tensorrag.storage.memo import ObjectMemo


def _frame(n: int = 50) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": np.arange(n, dtype="float64"),
            "i": np.arange(n, dtype="int64"),
            "s": pd.array([f"v{k}" for k in range(n)], dtype="string"),
            "c": pd.Categorical(["a", "b"] * (n // 2)),
            "t": pd.date_range("2026-01-01", periods=n, freq="h"),
        }
    )


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path) -> ArtifactStore:
    return open_store(tmp_path / "s") if request.param == "local" else open_store(f"memory://memo-{uuid.uuid4().hex}")


def test_hit_equals_a_fresh_read(store):
    df = _frame()
    ref = store.put("k", "t", df)
    fresh = ArtifactStore.from_wire(store.to_wire()).get(ref)  # another store object: no memo
    pd.testing.assert_frame_equal(store.get(ref), fresh)


def test_consumers_get_independent_views(store):
    df = _frame()
    ref = store.put("k", "t", df)
    first = store.get(ref)
    first.loc[0, "x"] = -1.0
    first["new"] = 1
    second = store.get(ref)
    assert second.loc[0, "x"] == 0.0 and "new" not in second
    assert df.loc[0, "x"] == 0.0 and "new" not in df


def test_frames_that_do_not_round_trip_are_read_back(store):
    df = pd.DataFrame({"x": [1.0, 2.0]}, index=[10, 20])  # parquet drops the index
    ref = store.put("k", "t", df)
    got = store.get(ref)
    assert list(got.index) == [0, 1]


def test_delete_forgets(store):
    ref = store.put("k", "t", _frame())
    store.delete(ref["uri"])
    with pytest.raises(ArtifactNotFoundError):
        store.get(ref)


def test_bytes_are_shared_but_bytearrays_are_not():
    memo = ObjectMemo()
    memo.remember("u1", b"abc", "bytes")
    memo.remember("u2", bytearray(b"abc"), "bytes")
    assert memo.recall("u1") == (True, b"abc")
    assert memo.recall("u2") == (False, None)


def test_models_and_json_are_never_memoised():
    memo = ObjectMemo()
    memo.remember("m", object(), "model")
    memo.remember("j", {"a": float("nan")}, "json")
    assert memo.recall("m")[0] is False and memo.recall("j")[0] is False


def test_lru_bound_evicts_oldest():
    memo = ObjectMemo(max_bytes=100)
    memo.remember("a", b"x" * 40, "bytes")
    memo.remember("b", b"x" * 40, "bytes")
    memo.recall("a")  # a is now the most recent
    memo.remember("c", b"x" * 40, "bytes")
    assert memo.recall("b")[0] is False
    assert memo.recall("a")[0] and memo.recall("c")[0]


def test_type_mismatch_is_a_miss():
    memo = ObjectMemo()
    memo.remember("u", b"abc", "bytes")
    assert memo.recall("u", "dataframe") == (False, None)
