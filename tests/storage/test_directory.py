"""``directory`` artifacts (design.md §8): save/load on every store, cache verification, payload mode."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from tensorrag.errors import ArtifactCorruptError, ArtifactNotFoundError, StorageError
from tensorrag.storage import CardStorage, open_store
from tensorrag.storage import directory as d
from tensorrag.storage.integrity import entry_problems, entry_stamps, verify_entry

if TYPE_CHECKING:
    from pathlib import Path

    from tensorrag.storage import ArtifactStore


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORRAG_DIR_CACHE", str(tmp_path / "dir-cache"))


def _folder(root: Path, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"n_layer": 2}' + extra)
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 64)
    (root / ".hidden").write_text("skipped")
    return root


def _tree(folder: str) -> dict[str, bytes]:
    out = {}
    for rel in d._walk(folder):
        with open(os.path.join(folder, rel), "rb") as fh:
            out[rel] = fh.read()
    return out


def test_ref_carries_manifest_hash_count_and_size(store: ArtifactStore, tmp_path: Path) -> None:
    src = _folder(tmp_path / "ckpt")
    ref = store.save_directory("attempt1", "model", src)
    manifest = d.scan(src)
    assert ref["type"] == "directory"
    assert ref["sha256"] == d.digest(manifest)
    assert ref["files"] == 2 and [m[0] for m in manifest] == ["config.json", "sub/weights.bin"]
    assert ref["size"] == len('{"n_layer": 2}') + 256 * 64
    assert ref["uri"] == store.uri("artifacts/attempt1/model")
    assert store.list("artifacts/attempt1/model") == ["artifacts/attempt1/model/config.json",
                                                       "artifacts/attempt1/model/sub/weights.bin"]


def test_load_gives_the_same_files_read_only(store: ArtifactStore, tmp_path: Path) -> None:
    src = _folder(tmp_path / "ckpt")
    ref = store.save_directory("a1", "model", src)
    path = store.load_directory(ref)
    assert _tree(path) == _tree(str(src))
    for rel in ("config.json", "sub/weights.bin"):  # mode bits: root would ignore them when writing
        assert os.stat(os.path.join(path, rel)).st_mode & 0o222 == 0
    assert store.load_directory(ref) == path  # once per process, keyed by content


def test_same_content_is_materialised_once(memory_store: ArtifactStore, tmp_path: Path) -> None:
    src = _folder(tmp_path / "ckpt")
    a = memory_store.save_directory("a1", "model", src)
    b = memory_store.save_directory("a2", "model", src)
    assert a["sha256"] == b["sha256"]
    assert memory_store.load_directory(a) == memory_store.load_directory(b)


def test_changed_file_is_corrupt_on_load(store: ArtifactStore, tmp_path: Path) -> None:
    ref = store.save_directory("a1", "model", _folder(tmp_path / "ckpt"))
    rel = "artifacts/a1/model/config.json"
    if store.protocol == "file":
        full = store._backend.path(rel)  # type: ignore[attr-defined]
        os.chmod(full, 0o644)
    store.write_bytes(rel, b'{"n_layer": 3}')
    with pytest.raises(ArtifactCorruptError):
        store.load_directory(ref)


def test_cache_entry_verification_sees_a_changed_added_or_removed_file(store: ArtifactStore, tmp_path: Path) -> None:
    ref = store.save_directory("a1", "model", _folder(tmp_path / "ckpt"))
    entry: dict[str, Any] = {"outputs": {"model": ref}, "extras": {}}
    entry["stamps"] = entry_stamps(store, [entry["outputs"]])
    assert verify_entry(store, entry) == (True, [])
    store.write_bytes("artifacts/a1/model/added.txt", b"new")
    problems = entry_problems(store, entry)
    assert len(problems) == 1 and isinstance(problems[0], ArtifactCorruptError)
    store.delete("artifacts/a1/model/added.txt")
    assert verify_entry(store, entry) == (True, [])
    store.delete("artifacts/a1/model/sub/weights.bin")
    ok, problems = verify_entry(store, entry)
    assert not ok or len(problems) == 1


def test_saving_the_same_key_again_keeps_only_the_last(local_store: ArtifactStore, tmp_path: Path) -> None:
    local_store.save_directory("a1", "model", _folder(tmp_path / "one"))
    two = tmp_path / "two"
    two.mkdir()
    (two / "only.txt").write_text("x")
    ref = local_store.save_directory("a1", "model", two)
    assert ref["files"] == 1
    assert local_store.list("artifacts/a1/model") == ["artifacts/a1/model/only.txt"]


def test_not_a_folder_is_a_clear_error(local_store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"needs a folder.*does not exist.*save_pretrained"):
        local_store.save_directory("a1", "model", tmp_path / "missing")


def test_card_handle_store_mode(store: ArtifactStore, tmp_path: Path) -> None:
    h = CardStorage(store, "k1")
    ref = h.save_directory("adapter", _folder(tmp_path / "ckpt"))
    assert h.saved["adapter"]["type"] == "directory"
    path = h.load_directory(ref)
    assert _tree(path) == _tree(str(tmp_path / "ckpt"))
    # A downstream handle gets it as an input port.
    h2 = CardStorage(store, "k2", {"model": h.saved["adapter"]})
    assert _tree(h2.load_directory(h2.input_refs["model"])) == _tree(path)
    assert h2.load(h2.input_refs["model"]) == h2.load_directory(h2.input_refs["model"])
    # The full ref, digest included, for a card that hands the model on (a server reads it itself).
    assert h2.input_artifact("model") == h.saved["adapter"]
    with pytest.raises(ArtifactNotFoundError, match=r"Unknown input port 'modle'.*'model'"):
        h2.input_artifact("modle")


def test_payload_mode_round_trip(memory_store: ArtifactStore, tmp_path: Path) -> None:
    src = _folder(tmp_path / "ckpt")
    worker = CardStorage(None, "k1")
    ref = worker.save_directory("model", src)
    art = worker.saved["model"]
    assert ref == "__mem__/model" and isinstance(art["data"], bytes)
    # The orchestrator stores the payload (ArtifactStore.put_bytes, as the engine does) ...
    stored = memory_store.put_bytes("k1", "model", art["data"], "directory", art.get("ext"))
    assert stored["sha256"] == art["sha256"] == d.digest(d.scan(src))
    # ... and sends it to the next payload-mode worker as bytes (ArtifactStore.get_bytes).
    data = memory_store.get_bytes(stored)
    nxt = CardStorage(None, "k2", {"model": {"type": "directory", "data": data, "sha256": stored["sha256"]}})
    assert _tree(nxt.load_directory(nxt.input_refs["model"])) == _tree(str(src))


def test_payload_size_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENSORRAG_MAX_DIRECTORY_PAYLOAD", "1000")
    with pytest.raises(StorageError, match=r"above the .* MiB.*TENSORRAG_MAX_DIRECTORY_PAYLOAD"):
        CardStorage(None, "k1").save_directory("model", _folder(tmp_path / "ckpt"))


def test_tampered_payload_is_refused(tmp_path: Path) -> None:
    data = d.pack(_folder(tmp_path / "ckpt"))
    with pytest.raises(ArtifactCorruptError):
        d.unpack(data, "0" * 64)


def test_payload_with_unsafe_names_is_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(StorageError):
        d.unpack(buf.getvalue())
    assert not (tmp_path.parent / "escape.txt").exists()


def test_local_store_serves_its_own_folder(local_store: ArtifactStore, tmp_path: Path) -> None:
    ref = local_store.save_directory("a1", "model", _folder(tmp_path / "ckpt"))
    path = local_store.load_directory(ref)
    assert os.path.realpath(path).startswith(os.path.realpath(local_store.root))


def test_reopened_store_loads_by_bare_uri(local_store: ArtifactStore, tmp_path: Path) -> None:
    ref = local_store.save_directory("a1", "model", _folder(tmp_path / "ckpt"))
    again = open_store(local_store.url)
    assert _tree(again.load_directory(ref["uri"])) == _tree(str(tmp_path / "ckpt"))
