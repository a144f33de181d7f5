"""Behaviour every ArtifactStore backend must show (fsspec ``tests/abstract`` style).

Subclass :class:`StoreConformance` and provide a ``store`` fixture returning an empty store.
"""

from __future__ import annotations

import collections
import hashlib
import pickle
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from tensorrag.errors import ArtifactNotFoundError, StorageError, UnsafePathError
from tensorrag.storage import ArtifactStore, CardStorage

if TYPE_CHECKING:
    from tensorrag.storage.store import ArtifactRef


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.arange(5, dtype="int64"),
            "f": [1.5, np.nan, -2.0, np.inf, 0.0],
            "s": ["a", None, "ccc", "", "é"],
            "b": [True, False, True, True, False],
            "t": pd.date_range("2026-01-01", periods=5, freq="h", tz="UTC"),
            "c": pd.Categorical(["x", "y", "x", "x", "y"]),
        }
    )


class StoreConformance:
    """Tests run against every backend."""

    #: overwrite rounds in the concurrent reader test (object stores are slower)
    concurrency_rounds = 40

    # ------------------------------------------------------------------ bytes

    def test_bytes_round_trip(self, store: ArtifactStore) -> None:
        payload = bytes(range(256)) * 10
        uri = store.write_bytes("a/b/c.bin", payload)
        assert uri == store.uri("a/b/c.bin") == store.url + "/a/b/c.bin"
        assert store.read_bytes("a/b/c.bin") == payload
        assert store.read_bytes(uri) == payload
        store.write_bytes("empty.bin", b"")
        assert store.read_bytes("empty.bin") == b""

    def test_overwrite_is_whole_and_leaves_no_temp_files(self, store: ArtifactStore) -> None:
        store.write_bytes("x/data.bin", b"first version, longer than the second")
        store.write_bytes("x/data.bin", b"second")
        assert store.read_bytes("x/data.bin") == b"second"
        assert store.list() == ["x/data.bin"]
        assert [p for p in store.fs.find(store.root) if "/." in p] == []

    def test_readers_never_see_partial_data(self, store: ArtifactStore) -> None:
        a, b = b"A" * 300_000, b"B" * 200_000
        store.write_bytes("hot.bin", a)
        seen: set[bytes] = set()
        errors: list[BaseException] = []
        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    data = store.read_bytes("hot.bin")
                    seen.add(data[:1] + str(len(data)).encode())
                    assert data in (a, b)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(self.concurrency_rounds):
                store.write_bytes("hot.bin", b if i % 2 == 0 else a)
        finally:
            stop.set()
            thread.join()
        assert not errors, errors[0]
        assert seen <= {b"A300000", b"B200000"}
        assert store.list() == ["hot.bin"]

    def test_read_missing_raises_not_found_with_uri(self, store: ArtifactStore) -> None:
        with pytest.raises(ArtifactNotFoundError) as info:
            store.read_bytes("nope/missing.bin")
        assert isinstance(info.value, FileNotFoundError)
        assert store.uri("nope/missing.bin") in str(info.value)

    def test_exists_and_delete(self, store: ArtifactStore) -> None:
        assert not store.exists("d/f.bin")
        uri = store.write_bytes("d/f.bin", b"1")
        store.write_bytes("d/g.bin", b"2")
        assert store.exists("d/f.bin") and store.exists(uri) and store.exists("d")
        store.delete("d/f.bin")
        assert not store.exists("d/f.bin")
        assert store.exists("d/g.bin")
        with pytest.raises(ArtifactNotFoundError):
            store.delete("d/f.bin")
        store.delete("d/f.bin", missing_ok=True)
        with pytest.raises(StorageError, match="recursive=True"):
            store.delete("d")
        assert store.exists("d/g.bin")
        store.delete("d", recursive=True)
        assert not store.exists("d/g.bin")
        assert store.list("d") == []

    def test_list(self, store: ArtifactStore) -> None:
        assert store.list() == []
        for path in ["b/2.bin", "a/1.bin", "a/sub/3.bin", "ab/4.bin", "_history/5.json"]:
            store.write_bytes(path, b"x")
        assert store.list() == ["_history/5.json", "a/1.bin", "a/sub/3.bin", "ab/4.bin", "b/2.bin"]
        assert store.list("a") == ["a/1.bin", "a/sub/3.bin"]
        assert store.list("a/") == ["a/1.bin", "a/sub/3.bin"]
        assert store.list("missing") == []
        for path in store.list():
            assert store.read_bytes(path) == b"x"

    # ------------------------------------------------------------------ paths

    def test_uri_relpath_round_trip(self, store: ArtifactStore) -> None:
        for rel in ["f.bin", "artifacts/abc123/model.joblib", "_history/x y.json"]:
            assert store.relpath(store.uri(rel)) == rel

    @pytest.mark.parametrize(
        "outside",
        [
            "s3://some-other-bucket/artifacts/x.bin",
            "gcs://b/x",
            "https://example.com/x",
            "memory://another-store/x",
        ],
    )
    def test_relpath_rejects_uris_outside(self, store: ArtifactStore, outside: str) -> None:
        with pytest.raises(UnsafePathError, match="not inside the store"):
            store.relpath(outside)
        with pytest.raises(UnsafePathError):
            store.read_bytes(outside)

    def test_relpath_rejects_traversal_and_sibling_prefix(self, store: ArtifactStore) -> None:
        with pytest.raises(UnsafePathError):
            store.relpath(store.url + "/../escape.bin")
        with pytest.raises(UnsafePathError):
            store.relpath(store.url + "-sibling/x.bin")  # same prefix string, different folder
        with pytest.raises(UnsafePathError):
            store.relpath(store.url)

    @pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "~root/x", "C:/x"])
    def test_unsafe_paths_rejected_everywhere(self, store: ArtifactStore, bad: str) -> None:
        with pytest.raises(UnsafePathError):
            store.write_bytes(bad, b"x")
        with pytest.raises(UnsafePathError):
            store.read_bytes(bad)
        assert store.list() == []

    # ------------------------------------------------------------------ json

    def test_json_round_trip(self, store: ArtifactStore) -> None:
        obj = {"a": [1, 2.5, None, True], "nested": {"é": "ü"}, "nan": float("nan"), "inf": [float("inf")]}
        uri = store.write_json("meta/x.json", obj)
        assert uri.endswith("/meta/x.json")
        assert store.read_json("meta/x.json") == {
            "a": [1, 2.5, None, True],
            "nested": {"é": "ü"},
            "nan": None,
            "inf": [None],
        }

    def test_read_json_corrupt_raises_storage_error(self, store: ArtifactStore) -> None:
        store.write_bytes("bad.json", b"{not json")
        with pytest.raises(StorageError, match="not valid JSON"):
            store.read_json("bad.json")

    # ------------------------------------------------------------------ artifacts

    def _check_ref(self, store: ArtifactStore, ref: ArtifactRef, type_: str, ext: str) -> None:
        assert set(ref) == {"type", "uri", "ext", "sha256", "size"}
        assert ref["type"] == type_ and ref["ext"] == ext
        assert ref["uri"].startswith(store.url + "/artifacts/")
        assert ref["uri"].endswith("." + ext)
        data = store.read_bytes(ref["uri"])
        assert ref["sha256"] == hashlib.sha256(data).hexdigest()
        assert ref["size"] == len(data)
        assert store.get_bytes(ref) == data

    def test_put_get_dataframe_mixed_dtypes(self, store: ArtifactStore) -> None:
        df = mixed_frame()
        ref = store.put("k1", "table", df)
        self._check_ref(store, ref, "dataframe", "parquet")
        assert ref["uri"] == store.uri("artifacts/k1/table.parquet")
        pd.testing.assert_frame_equal(store.get(ref), df)
        pd.testing.assert_frame_equal(store.get(ref["uri"]), df)  # type from the extension

    def test_put_dataframe_drops_index_like_the_original(self, store: ArtifactStore) -> None:
        df = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 20, 30])
        back = store.get(store.put("k1", "t", df))
        assert list(back.index) == [0, 1, 2]
        assert list(back["a"]) == [1, 2, 3]

    def test_put_get_model(self, store: ArtifactStore) -> None:
        model = collections.Counter({"apples": 3, "pears": 1})
        ref = store.put("k1", "model", model, type="model")
        self._check_ref(store, ref, "model", "joblib")
        back = store.get(ref)
        assert type(back) is collections.Counter and back == model

    def test_put_get_inferred_types(self, store: ArtifactStore) -> None:
        cases: list[tuple[Any, str, str]] = [
            ({"a": 1, "b": [1, 2]}, "json", "json"),
            ([1, "two", None], "json", "json"),
            (b"\x89PNG", "bytes", "bin"),
            (collections.OrderedDict(a=1), "json", "json"),
            (np.arange(3), "model", "joblib"),
        ]
        for i, (value, type_, ext) in enumerate(cases):
            ref = store.put("k2", f"v{i}", value)
            self._check_ref(store, ref, type_, ext)
            back = store.get(ref)
            if type_ == "model":
                np.testing.assert_array_equal(back, value)
            else:
                assert back == value

    def test_put_bytes_with_extension(self, store: ArtifactStore) -> None:
        ref = store.put("k3", "chart", b"\x89PNG\r\n", type="bytes", ext="png")
        self._check_ref(store, ref, "bytes", "png")
        assert store.get(ref) == b"\x89PNG\r\n"
        assert store.get(ref["uri"]) == b"\x89PNG\r\n"

    def test_put_wrong_value_for_type(self, store: ArtifactStore) -> None:
        with pytest.raises(StorageError, match=r"'dataframe' expects a pandas\.DataFrame; got dict"):
            store.put("k4", "t", {"a": 1}, type="dataframe")
        with pytest.raises(StorageError, match="expects bytes"):
            store.put("k4", "t", "text", type="bytes")
        assert store.list() == []

    def test_put_unpicklable_model_leaves_nothing(self, store: ArtifactStore) -> None:
        with pytest.raises(StorageError, match="pickle"):
            store.put("k5", "m", threading.Lock(), type="model")
        assert store.list() == []
        assert [p for p in store.fs.find(store.root) if "/." in p] == []

    def test_put_rejects_unsafe_key_and_name(self, store: ArtifactStore) -> None:
        with pytest.raises(UnsafePathError, match="artifact key"):
            store.put("../k", "t", {"a": 1})
        with pytest.raises(UnsafePathError, match="output name"):
            store.put("k", "_meta", {"a": 1})

    def test_put_bytes_encoded(self, store: ArtifactStore) -> None:
        ref = store.put("k6", "x", mixed_frame())
        raw = store.get_bytes(ref)
        ref2 = store.put_bytes("k7", "x", raw, "dataframe")
        assert ref2["sha256"] == ref["sha256"] and ref2["ext"] == "parquet"
        pd.testing.assert_frame_equal(store.get(ref2), mixed_frame())

    def test_get_inline_data_ref(self, store: ArtifactStore) -> None:
        assert store.get({"type": "json", "data": {"a": 1}}) == {"a": 1}
        assert store.get({"type": "json", "data": b'{"a": 2}'}) == {"a": 2}
        assert store.get_bytes({"type": "bytes", "data": b"zz", "ext": "bin"}) == b"zz"

    def test_get_missing_artifact(self, store: ArtifactStore) -> None:
        ref = store.put("k8", "t", mixed_frame())
        store.delete(ref["uri"])
        with pytest.raises(ArtifactNotFoundError, match=r"k8/t\.parquet"):
            store.get(ref)

    # ------------------------------------------------------------------ entries, previews

    def test_entries(self, store: ArtifactStore) -> None:
        assert store.read_entry("abc") is None
        out = store.put("abc", "out", mixed_frame())
        extra = store.put("abc", "chart", b"png", type="bytes", ext="png")
        entry = {"outputs": {"out": out}, "extras": {"chart": extra}, "node_id": "n1"}
        uri = store.write_entry("abc", entry)
        assert uri == store.uri("artifacts/abc/_meta.json")
        assert store.read_entry("abc") == entry
        store.delete(extra["uri"])
        assert store.read_entry("abc") is None  # a deleted extra forces a recompute too
        store.put("abc", "chart", b"png", type="bytes", ext="png")
        assert store.read_entry("abc") == entry
        store.delete(out["uri"])
        assert store.read_entry("abc") is None

    def test_entry_with_ref_outside_store_is_a_miss(self, store: ArtifactStore) -> None:
        store.write_entry("e1", {"outputs": {"x": {"type": "json", "uri": "s3://elsewhere/x.json"}}})
        assert store.read_entry("e1") is None

    def test_previews(self, store: ArtifactStore) -> None:
        assert store.read_preview("abc") is None
        store.write_preview("abc", {"rows": [[1, float("nan")]], "columns": ["a", "b"]})
        assert store.read_preview("abc") == {"rows": [[1, None]], "columns": ["a", "b"]}
        assert store.list() == ["artifacts/abc/_preview.json"]

    # ------------------------------------------------------------------ runs

    def test_runs(self, store: ArtifactStore) -> None:
        assert store.list_runs() == []
        ids = ["20261126T031500Z-ab12cd", "20250101T000000Z-000000", "20261126T031501Z-000001"]
        for i, run_id in enumerate(ids):
            assert store.write_run(run_id, {"run_id": run_id, "i": i}).endswith(f"/runs/{run_id}.json")
        assert store.list_runs() == ["20261126T031501Z-000001", "20261126T031500Z-ab12cd", "20250101T000000Z-000000"]
        assert store.read_run(ids[1]) == {"run_id": ids[1], "i": 1}
        with pytest.raises(ArtifactNotFoundError, match="20261126T031501Z-000001"):
            store.read_run("20200101T000000Z-ffffff")  # the message lists the latest runs
        with pytest.raises(UnsafePathError):
            store.read_run("../etc")

    # ------------------------------------------------------------------ pipeline document

    def test_pipeline_document_and_history(self, store: ArtifactStore) -> None:
        with pytest.raises(ArtifactNotFoundError, match=r"_pipeline\.json"):
            store.read_pipeline()
        assert store.pipeline_history() == []
        doc1 = {"schema_version": 1, "nodes": [], "edges": [], "nodeCounter": 0}
        doc2 = {**doc1, "nodeCounter": 2, "name": "ünïcode"}
        assert store.write_pipeline(doc1) == store.uri("_pipeline.json")
        store.write_pipeline(doc2)
        assert store.read_pipeline() == doc2
        history = store.pipeline_history()
        assert len(history) == 2 and all(h.endswith(".json") for h in history)
        assert history == sorted(history, reverse=True)
        assert store.read_history(history[0]) == doc2
        assert store.read_history(history[1].removesuffix(".json")) == doc1
        with pytest.raises(ArtifactNotFoundError):
            store.read_history("20000101T000000.000000Z-000000")
        assert b"\n  " in store.read_bytes("_pipeline.json")  # indented: readable and diffable

    # ------------------------------------------------------------------ scopes, wire

    def test_scoped_and_project_layout(self, store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
        proj = store.project("demo", user="alice")
        assert proj.url == store.url + "/alice/workspace/demo"
        assert proj.fs is store.fs
        proj.write_pipeline({"nodes": []})
        proj.write_run("20260101T000000Z-aaaaaa", {})
        ref = proj.put("k", "out", {"a": 1})
        assert ref["uri"] == store.url + "/alice/workspace/demo/artifacts/k/out.json"
        listed = store.list()
        assert "alice/workspace/demo/_pipeline.json" in listed
        assert "alice/workspace/demo/runs/20260101T000000Z-aaaaaa.json" in listed
        assert "alice/workspace/demo/artifacts/k/out.json" in listed
        assert store.get(ref) == {"a": 1}  # the parent store can read a child's uri
        assert proj.relpath(ref["uri"]) == "artifacts/k/out.json"
        assert store.relpath(ref["uri"]) == "alice/workspace/demo/artifacts/k/out.json"
        with pytest.raises(UnsafePathError):
            proj.relpath(store.uri("bob/workspace/demo/artifacts/k/out.json"))

        monkeypatch.setenv("TENSORRAG_USER", "bob")
        assert store.project("demo").url == store.url + "/bob/workspace/demo"
        assert store.scoped("x", "y/z").url == store.url + "/x/y/z"
        for bad in ["..", "a/b", "", ".hidden"]:
            with pytest.raises(UnsafePathError):
                store.project(bad, user="alice")
            with pytest.raises(UnsafePathError):
                store.project("demo", user=bad)

    def test_wire_round_trip(self, store: ArtifactStore) -> None:
        proj = store.project("p", user="u")
        ref = proj.put("k", "t", mixed_frame())
        wire = proj.to_wire()
        assert set(wire) == {"url", "options"} and wire["url"] == proj.url
        again = ArtifactStore.from_wire(wire)
        assert again == proj and hash(again) == hash(proj)
        assert again != store
        pd.testing.assert_frame_equal(again.get(ref), mixed_frame())
        unpickled = pickle.loads(pickle.dumps(proj))
        assert unpickled == proj
        pd.testing.assert_frame_equal(unpickled.get(ref["uri"]), mixed_frame())

    # ------------------------------------------------------------------ CardStorage

    def test_card_storage_original_style(self, store: ArtifactStore) -> None:
        df = mixed_frame()
        upstream = store.put("up", "dataset", df)
        progress: list[tuple[int, int]] = []
        handle = CardStorage(
            store,
            "node-key",
            {"dataset": {"type": "dataframe", "uri": upstream["uri"]}, "params": {"type": "json", "data": {"k": 3}}},
            on_progress=lambda c, t: progress.append((c, t)),
        )
        inputs = handle.input_refs
        assert inputs == {"dataset": upstream["uri"], "params": "__mem__/params"}
        loaded = handle.load_dataframe(inputs["dataset"])
        pd.testing.assert_frame_equal(loaded, df)
        assert handle.load_dataframe(inputs["dataset"]) is loaded  # decoded once
        assert handle.load_json(inputs["params"]) == {"k": 3}

        scaled = loaded.assign(i=loaded["i"] * 2)
        ref = handle.save_dataframe("_p", "_n", "scaled", scaled)
        assert ref == store.uri("artifacts/node-key/scaled.parquet")
        assert handle.load_dataframe(ref) is scaled  # the very object saved
        model_ref = handle.save_model("_p", "_n", "model", collections.Counter("aab"))
        json_ref = handle.save_json("_p", "_n", "metrics", {"r2": 0.9, "nan": float("nan")})
        bytes_ref = handle.save_bytes("_p", "_n", "chart", b"\x89PNG", "png")
        assert bytes_ref.endswith("/artifacts/node-key/chart.png")
        assert list(handle.saved) == ["scaled", "model", "metrics", "chart"]
        handle.progress(3, 10)
        assert progress == [(3, 10)]

        # A second handle (e.g. the preview step) decodes everything from storage.
        other = CardStorage(store, "node-key")
        pd.testing.assert_frame_equal(other.load_dataframe(ref), scaled)
        assert other.load_model(model_ref) == collections.Counter("aab")
        assert other.load_json(json_ref) == {"r2": 0.9, "nan": None}
        assert other.load_bytes(bytes_ref) == b"\x89PNG"
        assert other.load(bytes_ref) == b"\x89PNG"
        pd.testing.assert_frame_equal(other.load(ref), scaled)
        assert other.load_bytes(json_ref) == store.read_bytes(json_ref)
        for saved in handle.saved.values():
            assert store.exists(saved["uri"])

    def test_card_storage_same_key_twice_last_wins(self, store: ArtifactStore) -> None:
        handle = CardStorage(store, "k")
        handle.save_json("_p", "_n", "out", {"v": 1})
        ref = handle.save_bytes("_p", "_n", "out", b"v2", ext="txt")
        assert list(handle.saved) == ["out"]
        assert handle.saved["out"]["ext"] == "txt"
        assert handle.load_bytes(ref) == b"v2"
        assert store.list() == ["artifacts/k/out.txt"]  # the first file is gone

    def test_card_storage_unknown_ref(self, store: ArtifactStore) -> None:
        handle = CardStorage(
            store, "k", {"dataset": {"type": "json", "data": {"a": 1}}, "labels": {"type": "json", "data": []}}
        )
        with pytest.raises(ArtifactNotFoundError) as info:
            handle.load_dataframe("__mem__/nope")
        assert "'__mem__/nope'" in str(info.value)
        assert "'dataset'" in str(info.value) and "'labels'" in str(info.value)
        with pytest.raises(ArtifactNotFoundError, match="'dataset'"):
            handle.load_dataframe(store.uri("artifacts/k/missing.parquet"))
        with pytest.raises(StorageError, match="cannot be loaded as 'dataframe'"):
            handle.load_dataframe(handle.input_refs["dataset"])

    def test_card_storage_payload_mode(self, store: ArtifactStore) -> None:
        df = mixed_frame()
        upstream = store.put("up", "dataset", df)
        # The orchestrator ships the input's bytes; the worker has no store.
        wire_inputs = {"dataset": {"type": "dataframe", "data": store.get_bytes(upstream), "ext": "parquet"}}
        worker = CardStorage(None, "node-key", wire_inputs)
        assert worker.input_refs == {"dataset": "__mem__/dataset"}
        got = worker.load_dataframe("__mem__/dataset")
        pd.testing.assert_frame_equal(got, df)
        ref = worker.save_dataframe("_p", "_n", "out", got.head(2))
        assert ref == "__mem__/out"
        worker.save_json("_p", "_n", "metrics", {"n": 2})
        worker.save_bytes("_p", "_n", "chart", b"png", ext="png")
        saved = worker.saved
        assert list(saved) == ["out", "metrics", "chart"]
        for item in saved.values():
            assert "uri" not in item and isinstance(item["data"], bytes)
            assert item["sha256"] == hashlib.sha256(item["data"]).hexdigest()
        assert worker.load_dataframe(ref) is not None and worker.load_bytes(ref) == saved["out"]["data"]
        with pytest.raises(StorageError, match="payload mode"):
            CardStorage(None, "k", {"x": {"type": "json", "uri": store.uri("a.json")}}).load_json(store.uri("a.json"))
        # Back on the orchestrator: the bytes become artifacts without being unpickled.
        back = {name: store.put_bytes("node-key", name, r["data"], r["type"], r["ext"]) for name, r in saved.items()}
        assert back["out"]["sha256"] == saved["out"]["sha256"]
        pd.testing.assert_frame_equal(store.get(back["out"]), df.head(2))
        assert store.get(back["metrics"]) == {"n": 2}
        assert store.get(back["chart"]) == b"png" and back["chart"]["uri"].endswith(".png")
