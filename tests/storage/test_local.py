from __future__ import annotations

import os
import stat
from typing import Any

import pandas as pd
import pytest

from tensorrag.errors import StorageError
from tensorrag.storage import ArtifactStore, CardStorage, open_store

from .conformance import StoreConformance, mixed_frame


class TestLocalStore(StoreConformance):
    concurrency_rounds = 200

    @pytest.fixture
    def store(self, local_store: ArtifactStore) -> ArtifactStore:
        return local_store

    def test_url_is_absolute_file_url(self, store: ArtifactStore) -> None:
        assert store.url.startswith("file:///") and store.protocol == "file"
        assert store.root == store.url.removeprefix("file://")
        assert os.path.isabs(store.root)

    def test_no_directories_created_until_first_write(self, tmp_path: Any) -> None:
        store = open_store(tmp_path / "lazy")
        assert not (tmp_path / "lazy").exists()
        store.write_bytes("a/b.bin", b"1")
        assert (tmp_path / "lazy" / "a" / "b.bin").read_bytes() == b"1"

    def test_files_get_normal_permissions(self, store: ArtifactStore) -> None:
        ref = store.put("k", "t", {"a": 1})
        mode = stat.S_IMODE(os.stat(store.root + "/" + store.relpath(ref["uri"])).st_mode)
        umask = os.umask(0)
        os.umask(umask)
        assert mode == 0o666 & ~umask  # not mkstemp's 0o600

    def test_failed_write_leaves_old_file_and_no_temp(self, store: ArtifactStore) -> None:
        store.put("k", "m", {"v": 1}, type="model")
        with pytest.raises(StorageError):
            store.put("k", "m", lambda: None, type="model")  # lambdas cannot be pickled
        assert store.get(store.uri("artifacts/k/m.joblib")) == {"v": 1}
        assert sorted(os.listdir(store.root + "/artifacts/k")) == ["m.joblib"]

    def test_hidden_files_are_not_listed(self, store: ArtifactStore) -> None:
        store.write_bytes("a/x.bin", b"1")
        open(store.root + "/a/.tmp-deadbeef", "wb").close()
        os.makedirs(store.root + "/.git")
        open(store.root + "/.git/HEAD", "wb").close()
        assert store.list() == ["a/x.bin"]

    def test_absolute_paths_inside_are_accepted_as_refs(self, store: ArtifactStore) -> None:
        # The original system's refs were plain file paths.
        ref = store.put("k", "t", mixed_frame())
        path = store.root + "/artifacts/k/t.parquet"
        assert store.relpath(path) == "artifacts/k/t.parquet"
        pd.testing.assert_frame_equal(store.get(path), mixed_frame())
        pd.testing.assert_frame_equal(CardStorage(store, "k").load_dataframe(path), mixed_frame())
        assert store.read_bytes(path) == store.get_bytes(ref)
        with pytest.raises(ValueError, match="not inside"):
            store.read_bytes("/etc/passwd")

    def test_corrupt_parquet_is_a_storage_error(self, store: ArtifactStore) -> None:
        store.write_bytes("artifacts/k/t.parquet", b"garbage")
        with pytest.raises(StorageError, match="corrupt"):
            store.get(store.uri("artifacts/k/t.parquet"))
