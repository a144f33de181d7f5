"""Storage owns where artifacts, cache entries, run manifests and pipeline documents live (any fsspec URL)."""

from __future__ import annotations

from tensorrag.storage.codecs import decode, encode, infer_type
from tensorrag.storage.handle import CardStorage
from tensorrag.storage.paths import safe_name, safe_relpath
from tensorrag.storage.project import ProjectStore
from tensorrag.storage.store import ArtifactRef, ArtifactStore, open_store

__all__ = [
    "ArtifactRef",
    "ArtifactStore",
    "CardStorage",
    "ProjectStore",
    "decode",
    "encode",
    "infer_type",
    "open_store",
    "safe_name",
    "safe_relpath",
]
