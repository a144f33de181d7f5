from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tensorrag.errors import StorageError
from tensorrag.storage import decode, encode, infer_type
from tensorrag.storage.codecs import EXTENSIONS, encode_to, sha256, type_from_ext

from .conformance import mixed_frame


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pd.DataFrame({"a": [1]}), "dataframe"),
        ({"a": 1}, "json"),
        ([1, 2], "json"),
        ("text", "json"),
        (3, "json"),
        (2.5, "json"),
        (True, "json"),
        (None, "json"),
        (b"x", "bytes"),
        (bytearray(b"x"), "bytes"),
        (memoryview(b"x"), "bytes"),
        (np.arange(3), "model"),
        (pd.Series([1]), "model"),
        (object(), "model"),
        ((1, 2), "model"),
        ({1, 2}, "model"),
    ],
)
def test_infer_type(value: object, expected: str) -> None:
    assert infer_type(value) == expected


def test_extensions_table() -> None:
    assert EXTENSIONS == {"dataframe": "parquet", "model": "joblib", "json": "json", "bytes": "bin"}
    assert type_from_ext("parquet") == "dataframe"
    assert type_from_ext(".joblib") == "model"
    assert type_from_ext("JSON") == "json"
    assert type_from_ext("png") == "bytes"
    assert type_from_ext(None) == "bytes"


def test_dataframe_round_trip_is_parquet() -> None:
    df = mixed_frame()
    data, ext = encode("dataframe", df)
    assert ext == "parquet" and isinstance(data, bytes)
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    pd.testing.assert_frame_equal(decode("dataframe", data), df)


def test_dataframe_default_compression_is_snappy() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data, _ = encode("dataframe", pd.DataFrame({"a": range(1000)}))
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"


def test_dataframe_index_is_dropped() -> None:
    df = pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    back = decode("dataframe", encode("dataframe", df)[0])
    assert list(back.columns) == ["a"] and list(back.index) == [0, 1]


def test_model_round_trip() -> None:
    model = collections.Counter("hello")
    data, ext = encode("model", model)
    assert ext == "joblib"
    back = decode("model", data)
    assert type(back) is collections.Counter and back == model


def test_json_round_trip_and_cleaning() -> None:
    value = {
        "n": [1, 2.5, float("nan"), float("-inf")],
        "np": {"i": np.int64(3), "f": np.float32(0.5), "nan": np.float64("nan"), "arr": np.array([1, 2])},
        "when": dt.datetime(2026, 1, 2, 3, 4, 5),
        "dec": Decimal("1.10"),
        "tuple_key": {(1, 2): "x", 3: "int key", None: "none"},
        "text": "ünïcode ✓",
    }
    data, ext = encode("json", value)
    assert ext == "json"
    back = json.loads(data.decode("utf-8"))
    assert back == decode("json", data)
    assert back["n"] == [1, 2.5, None, None]
    assert back["np"] == {"i": 3, "f": 0.5, "nan": None, "arr": [1, 2]}
    assert back["when"] == "2026-01-02 03:04:05"  # str(), like the original
    assert back["dec"] == "1.10"
    assert back["tuple_key"] == {"(1, 2)": "x", "3": "int key", "null": "none"}
    assert back["text"] == "ünïcode ✓"
    assert b"NaN" not in data and b"Infinity" not in data


def test_json_fast_path_keeps_numpy_numbers() -> None:
    data, _ = encode("json", {"a": np.int64(7), "b": np.bool_(True)})
    assert json.loads(data) == {"a": 7, "b": True}


def test_json_circular_reference_is_a_storage_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(StorageError, match="JSON"):
        encode("json", loop)


def test_bytes_round_trip_and_ext() -> None:
    assert encode("bytes", b"abc") == (b"abc", "bin")
    assert encode("bytes", bytearray(b"abc"), "png") == (b"abc", "png")
    assert encode("bytes", memoryview(np.array([1, 2], dtype="<i4")), ".tar.gz") == (
        b"\x01\x00\x00\x00\x02\x00\x00\x00",
        "tar.gz",
    )
    assert decode("bytes", b"abc") == b"abc"


def test_any_infers_and_decodes_by_ext() -> None:
    df = pd.DataFrame({"a": [1.5]})
    data, ext = encode("any", df)
    assert ext == "parquet"
    pd.testing.assert_frame_equal(decode("any", data, ext), df)
    data, ext = encode("any", {"k": 1})
    assert (ext, decode("any", data, ext)) == ("json", {"k": 1})
    data, ext = encode("any", np.arange(2))
    assert ext == "joblib"
    np.testing.assert_array_equal(decode("any", data, ext), np.arange(2))
    assert decode("any", b"\x00raw", "png") == b"\x00raw"


@pytest.mark.parametrize(
    ("type_", "value", "message"),
    [
        ("dataframe", {"a": 1}, "port type 'dataframe' expects a pandas.DataFrame; got dict"),
        ("dataframe", [1, 2], "expects a pandas.DataFrame; got list"),
        ("bytes", "text", "'bytes' expects bytes, bytearray or memoryview; got str"),
        ("bytes", 3, "got int"),
    ],
)
def test_wrong_value_for_type(type_: str, value: object, message: str) -> None:
    with pytest.raises(StorageError) as info:
        encode(type_, value)
    assert message.lower() in str(info.value).lower()


def test_unpicklable_model() -> None:
    import threading

    with pytest.raises(StorageError, match=r"Could not pickle a _thread.lock.*picklable"):
        encode("model", threading.Lock())


def test_unknown_type_and_bad_ext() -> None:
    with pytest.raises(StorageError, match="Unknown artifact type 'tensor'"):
        encode("tensor", b"x")
    with pytest.raises(StorageError, match="Unknown artifact type"):
        decode("tensor", b"x")
    for bad in ["../x", "a/b", "", "x" * 17, "p ng", ".", "a..b"]:
        with pytest.raises(StorageError, match="Invalid file extension"):
            encode("bytes", b"x", bad)
    with pytest.raises(StorageError, match=r"stored as \.parquet; got ext 'csv'"):
        encode("dataframe", pd.DataFrame(), "csv")
    assert encode("json", {}, "json")[1] == "json"


@pytest.mark.parametrize("type_", ["dataframe", "model", "json"])
def test_decode_corrupt_data(type_: str) -> None:
    with pytest.raises(StorageError, match="corrupt"):
        decode(type_, b"\x00\x01 definitely not valid")


def test_encode_to_path_and_file_match_encode(tmp_path: object) -> None:
    import io
    import pathlib

    df = mixed_frame()
    for type_, value in [("dataframe", df), ("json", {"a": [1]}), ("bytes", b"xyz"), ("model", {"m": 1})]:
        path = str(pathlib.Path(str(tmp_path)) / f"out.{type_}")
        assert encode_to(type_, value, path) == EXTENSIONS[type_]
        buf = io.BytesIO()
        encode_to(type_, value, buf)
        on_disk = pathlib.Path(path).read_bytes()
        assert on_disk == buf.getvalue()
        back = decode(type_, on_disk)
        if type_ == "dataframe":
            pd.testing.assert_frame_equal(back, df)
        else:
            assert back == value


def test_sha256() -> None:
    assert sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256(memoryview(b"abc")) == hashlib.sha256(b"abc").hexdigest()
    assert sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
