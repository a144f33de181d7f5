"""The codec hook for models that declare a weights + description form (no pickle), with a toy format."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tensorrag.errors import StorageError
from tensorrag.registry import model_format_registry
from tensorrag.storage.codecs import declared_format, decode, encode, encode_to, resolve_ext, type_from_ext
from tensorrag.storage.handle import CardStorage

if TYPE_CHECKING:
    from tensorrag.storage import ArtifactStore


class Toy:
    """A model whose artifact is JSON of its weights."""

    __tensorrag_format__ = "trtoy"

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def __tensorrag_encode__(self) -> bytes:
        return json.dumps({"weights": self.weights}).encode()


def read_toy(data: bytes) -> Toy:
    return Toy(json.loads(data)["weights"])


@pytest.fixture
def toy_format() -> Any:
    model_format_registry.register("trtoy", read_toy)
    yield
    model_format_registry.unregister("trtoy")


def test_a_declared_format_is_written_and_read_without_pickle(toy_format: None) -> None:
    data, ext = encode("model", Toy([1.0, 2.0]))
    assert (data, ext) == (b'{"weights": [1.0, 2.0]}', "trtoy")
    assert decode("model", data, "trtoy").weights == [1.0, 2.0]
    assert decode("any", data, "trtoy").weights == [1.0, 2.0]
    assert type_from_ext("trtoy") == "model" and type_from_ext("joblib") == "model"
    assert resolve_ext("model", "trtoy") == "trtoy" and declared_format(Toy([])) == "trtoy"


def test_ext_joblib_still_pickles_a_declaring_model(toy_format: None) -> None:
    data, ext = encode("model", Toy([3.0]), "joblib")
    assert ext == "joblib" and decode("model", data, "joblib").weights == [3.0]


def test_a_format_ext_for_a_model_that_does_not_declare_it_is_refused(toy_format: None) -> None:
    with pytest.raises(StorageError, match=r"must declare that format"):
        encode("model", {"a": 1} and object(), "trtoy")


def test_an_unregistered_ext_is_not_a_model_type() -> None:
    assert type_from_ext("trnothing") == "bytes"
    with pytest.raises(StorageError, match=r"stored as .joblib"):
        resolve_ext("model", "trnothing")


def test_a_reader_that_cannot_be_imported_says_how_to_install(toy_format: None) -> None:
    model_format_registry.register("trgone", "tensorrag_no_such_module:read", hint="pip install 'tensorrag[gone]'")
    try:
        with pytest.raises(StorageError, match=r"Cannot read a \.trgone model artifact here.*tensorrag\[gone\]"):
            decode("model", b"{}", "trgone")
    finally:
        model_format_registry.unregister("trgone")


def test_corrupt_bytes_are_a_storage_error(toy_format: None) -> None:
    with pytest.raises(StorageError, match=r"as a \.trtoy model artifact.*corrupt"):
        decode("model", b"not json", "trtoy")


def test_encode_to_a_path_writes_the_same_bytes(toy_format: None, tmp_path: Any) -> None:
    target = tmp_path / "m.trtoy"
    assert encode_to("model", Toy([4.0]), str(target), "trtoy") == "trtoy"
    assert target.read_bytes() == encode("model", Toy([4.0]))[0]


@pytest.mark.parametrize("store_name", ["local_store", "memory_store"])
def test_card_storage_saves_the_declared_format_in_every_store(
    toy_format: None, store_name: str, request: pytest.FixtureRequest
) -> None:
    store: ArtifactStore = request.getfixturevalue(store_name)
    handle = CardStorage(store, "node")
    ref = handle.save_model("p", "n", "trained_model", Toy([5.0]))
    assert ref.endswith("/trained_model.trtoy")
    assert store.get_bytes(ref) == b'{"weights": [5.0]}'
    assert CardStorage(store, "other").load_model(ref).weights == [5.0]
    assert store.get(ref).weights == [5.0]


@pytest.mark.parametrize("store_name", ["local_store", "memory_store"])
def test_store_keep_without_ext_reads_back_as_bytes_too(
    toy_format: None, store_name: str, request: pytest.FixtureRequest
) -> None:
    """ArtifactStore.keep/put choose the ext before seeing the value; the bytes still read back as the model."""
    store: ArtifactStore = request.getfixturevalue(store_name)
    art = store.keep("key", "model", Toy([6.0]), "model")
    data = store.get_bytes(art)
    assert decode("model", data, art["ext"]).weights == [6.0]


def test_a_real_pickle_is_still_read_by_joblib(toy_format: None) -> None:
    data, ext = encode("model", {"plain": "object"}, "joblib")
    assert data[:1] == b"\x80" and decode("model", data, ext) == {"plain": "object"}


@pytest.mark.parametrize("where", ["disk", "memory"])
def test_the_store_writes_a_declaring_model_in_its_format_whichever_path_saves_it(toy_format, where, tmp_path):
    # The store decides the extension from the value: CardStorage, the direct path of @tr.card
    # functions (store.keep) and store.put all write the declared format, never a pickle.
    import uuid

    from tensorrag.storage import open_store

    store = open_store(tmp_path if where == "disk" else f"memory://toy-{uuid.uuid4().hex}")
    handle = CardStorage(store, "k")
    handle.save("c", Toy([3.0]), "model")
    for ref in (store.put("k", "a", Toy([1.0]), "model"), store.keep("k", "b", Toy([2.0]), "model"), handle.saved["c"]):
        assert ref["ext"] == "trtoy" and ref["uri"].endswith(".trtoy")
        assert store.get_bytes(ref).startswith(b'{"weights"')  # the format's bytes, not a pickle
        assert store.get(ref).weights in ([1.0], [2.0], [3.0])
