from __future__ import annotations

import pytest

from tensorrag.storage import ArtifactStore, open_store

from .conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    concurrency_rounds = 200

    @pytest.fixture
    def store(self, memory_store: ArtifactStore) -> ArtifactStore:
        return memory_store

    def test_url_shape(self, store: ArtifactStore) -> None:
        assert store.url.startswith("memory://tensorrag-test-") and store.protocol == "memory"
        assert store.root == "/" + store.url.removeprefix("memory://")

    def test_triple_slash_spelling_is_the_same_place(self, store: ArtifactStore) -> None:
        uri = store.write_bytes("a/b.bin", b"1")
        alt = uri.replace("memory://", "memory:///")
        assert store.relpath(alt) == "a/b.bin"
        assert store.read_bytes(alt) == b"1"
        assert open_store(store.url.replace("memory://", "memory:///")) == store

    def test_stores_with_other_names_are_isolated(self, store: ArtifactStore) -> None:
        store.write_bytes("x.bin", b"1")
        other = open_store(store.url + "-other")
        assert other.list() == [] and not other.exists("x.bin")
