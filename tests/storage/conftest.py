"""Fixtures for the storage tests: one store per backend (the moto S3 server lives in tests/conftest.py)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tensorrag.storage import ArtifactStore, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def local_store(tmp_path: Any) -> ArtifactStore:
    """A store on local disk under a fresh temp folder."""
    return open_store(tmp_path / "store")


@pytest.fixture
def memory_store() -> Iterator[ArtifactStore]:
    """A store in fsspec's process-wide memory filesystem, under a unique name, wiped afterwards."""
    store = open_store(f"memory://tensorrag-test-{uuid.uuid4().hex[:12]}")
    yield store
    fs: Any = store.fs
    prefix = store.root + "/"
    for path in [p for p in fs.store if p == store.root or p.startswith(prefix)]:
        del fs.store[path]
    fs.pseudo_dirs[:] = [p for p in fs.pseudo_dirs if not (p == store.root or p.startswith(prefix))]


@pytest.fixture
def s3_store(s3_server: dict[str, Any], aws_env: None) -> ArtifactStore:
    """A store in the moto bucket under a unique prefix (the in-memory server is dropped at session end)."""
    return open_store(f"s3://{s3_server['bucket']}/t-{uuid.uuid4().hex[:12]}", **s3_server["options"])


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """The same test against each backend: local disk, memory:// and S3 (moto)."""
    result: ArtifactStore = request.getfixturevalue(f"{request.param}_store")
    return result
