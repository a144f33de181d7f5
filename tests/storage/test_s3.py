from __future__ import annotations

from typing import Any

import pytest

from tensorrag.storage import ArtifactStore, open_store

from .conformance import StoreConformance


class TestS3Store(StoreConformance):
    concurrency_rounds = 8  # each round is a real HTTP PUT

    @pytest.fixture
    def store(self, s3_store: ArtifactStore) -> ArtifactStore:
        return s3_store

    def test_url_shape(self, store: ArtifactStore, s3_server: dict[str, Any]) -> None:
        assert store.url.startswith(f"s3://{s3_server['bucket']}/t-") and store.protocol == "s3"
        assert store.root == store.url.removeprefix("s3://")

    def test_writes_are_visible_to_a_fresh_client(self, store: ArtifactStore, s3_server: dict[str, Any]) -> None:
        import boto3

        store.write_json("runs/x.json", {"a": 1})
        client = boto3.client(
            "s3",
            endpoint_url=s3_server["endpoint"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=s3_server["region"],
        )
        prefix = store.root.split("/", 1)[1]
        body = client.get_object(Bucket=s3_server["bucket"], Key=f"{prefix}/runs/x.json")["Body"].read()
        assert body == b'{"a": 1}'

    def test_deleted_elsewhere_is_seen(self, store: ArtifactStore, s3_server: dict[str, Any]) -> None:
        # Listing caches in s3fs must not hide a delete done by another client.
        ref = store.put("k", "out", {"a": 1})
        store.write_entry("k", {"outputs": {"out": ref}})
        assert store.list("artifacts/k") == ["artifacts/k/_meta.json", "artifacts/k/out.json"]
        other = open_store(store.url, **s3_server["options"], skip_instance_cache=True)
        assert other.fs is not store.fs
        other.delete(ref["uri"])
        assert store.read_entry("k") is None
        assert store.list("artifacts/k") == ["artifacts/k/_meta.json"]
