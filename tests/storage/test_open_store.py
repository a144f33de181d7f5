from __future__ import annotations

import os
import pickle
from typing import TYPE_CHECKING, Any

import pytest

from tensorrag.errors import StorageError
from tensorrag.storage import ArtifactStore, open_store

if TYPE_CHECKING:
    import pathlib

_ENV = ("TENSORRAG_STORAGE", "STORAGE_DIR", "S3_ENABLED", "S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_ENV, "S3_REGION", "TENSORRAG_USER", "DEFAULT_USER_ID"):
        monkeypatch.delenv(name, raising=False)


def test_default_is_dot_tensorrag_in_cwd(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store()
    assert store.url == (tmp_path / ".tensorrag").as_uri()
    assert store.protocol == "file"
    monkeypatch.chdir(tmp_path.parent)  # the root was pinned at open time
    store.write_bytes("x.bin", b"1")
    assert (tmp_path / ".tensorrag" / "x.bin").read_bytes() == b"1"


def test_storage_dir_relative_becomes_absolute(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STORAGE_DIR", "./storage")
    store = open_store()
    assert store.url == "file://" + str(tmp_path / "storage")


def test_tensorrag_storage_wins_over_storage_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "ignored"))
    monkeypatch.setenv("TENSORRAG_STORAGE", "memory://from-env")
    store = open_store()
    assert store.url == "memory://from-env" and store.protocol == "memory"


def test_s3_from_original_env_vars(monkeypatch: pytest.MonkeyPatch, s3_server: dict[str, Any], aws_env: None) -> None:
    monkeypatch.setenv("S3_ENABLED", "true")
    monkeypatch.setenv("S3_ENDPOINT", s3_server["endpoint"])
    monkeypatch.setenv("S3_BUCKET", s3_server["bucket"])
    monkeypatch.setenv("S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("S3_SECRET_KEY", "testing")
    monkeypatch.setenv("S3_REGION", s3_server["region"])
    store = open_store()
    assert store.url == f"s3://{s3_server['bucket']}" and store.protocol == "s3"
    assert store.options["client_kwargs"]["endpoint_url"] == s3_server["endpoint"]
    proj = store.project("env-test", user="u1")
    try:
        ref = proj.put("k", "out", {"hello": "s3"})
        assert ref["uri"] == f"s3://{s3_server['bucket']}/u1/workspace/env-test/artifacts/k/out.json"
        assert open_store().get(ref) == {"hello": "s3"}
        again = ArtifactStore.from_wire(proj.to_wire())
        assert again.get(ref) == {"hello": "s3"}
    finally:
        proj.delete("artifacts", recursive=True, missing_ok=True)


def test_s3_url_without_options_uses_the_s3_variables(
    monkeypatch: pytest.MonkeyPatch, s3_server: dict[str, Any], aws_env: None
) -> None:
    monkeypatch.delenv("S3_ENABLED", raising=False)  # an explicit s3:// URL, S3 not the default store
    monkeypatch.setenv("S3_ENDPOINT", s3_server["endpoint"])
    monkeypatch.setenv("S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("S3_SECRET_KEY", "testing")
    store = open_store(f"s3://{s3_server['bucket']}/explicit")
    assert store.options["client_kwargs"]["endpoint_url"] == s3_server["endpoint"]
    ref = store.put("k", "x", {"ok": True})
    assert open_store(f"s3://{s3_server['bucket']}/explicit").get(ref) == {"ok": True}
    given = open_store(f"s3://{s3_server['bucket']}/explicit", anon=True)
    assert given.options == {"anon": True}  # explicit options replace the variables entirely


def test_explicit_options_are_merged_with_configured(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    pytest.importorskip("s3fs")
    monkeypatch.setenv("S3_ENABLED", "1")
    monkeypatch.setenv("S3_BUCKET", "merged")
    monkeypatch.setenv("S3_ACCESS_KEY", "from-env")
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9")
    store = open_store(secret="explicit", anon=False)  # opening does not connect
    assert store.url == "s3://merged"
    assert store.options == {
        "key": "from-env",
        "secret": "explicit",
        "anon": False,
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"},
    }


def test_paths_and_pathlike(tmp_path: pathlib.Path) -> None:
    a = open_store(tmp_path / "s")
    b = open_store(str(tmp_path / "s"))
    c = open_store((tmp_path / "s").as_uri())
    d = open_store(str(tmp_path / "s") + "/")
    assert a == b == c == d
    assert a.url == "file://" + str(tmp_path / "s")
    assert open_store(os.path.join("~", "x")).root == os.path.expanduser("~/x")


def test_store_is_returned_as_is() -> None:
    store = open_store("memory://same")
    assert open_store(store) is store
    with pytest.raises(StorageError, match="already open"):
        open_store(store, key="k")


def test_url_normalisation() -> None:
    assert open_store("memory://a/b/").url == "memory://a/b"
    assert open_store("memory:///a/b").url == "memory://a/b"
    assert open_store("memory://a").root == "/a"


def test_unknown_protocol_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="nosuchproto"):
        open_store("nosuchproto://x/y")


def test_repr_hides_credentials(s3_server: dict[str, Any], aws_env: None) -> None:
    store = open_store(f"s3://{s3_server['bucket']}/r", **{**s3_server["options"], "secret": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(store)
    assert repr(store) == f"ArtifactStore('s3://{s3_server['bucket']}/r')"
    assert store.to_wire()["options"]["secret"] == "s3cr3t-value"  # workers still get them


def test_equality_uses_url_and_options(tmp_path: pathlib.Path) -> None:
    a = open_store(tmp_path)
    assert a == open_store(tmp_path)
    assert a != open_store(tmp_path, auto_mkdir=True)
    assert a != open_store(tmp_path / "sub")
    assert a.scoped("sub") == open_store(tmp_path / "sub")
    assert len({a, open_store(tmp_path)}) == 1
    assert pickle.loads(pickle.dumps(a.scoped("sub"))) == a.scoped("sub")


def test_scoped_reuses_the_filesystem(store: ArtifactStore) -> None:
    child = store.scoped("a", "b")
    assert child.fs is store.fs and child.options == store.options
    assert child.project("p", user="u").url == store.url + "/a/b/u/workspace/p"
    assert store.scoped() is store


def test_from_wire_rejects_garbage() -> None:
    for bad in [None, {}, {"url": 3}, "memory://x"]:
        with pytest.raises(StorageError, match="storage description"):
            ArtifactStore.from_wire(bad)  # type: ignore[arg-type]
