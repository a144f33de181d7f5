"""Content stamps from filesystem metadata (fsspec ``info()``), shared by cache tokens and storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["info_token"]

# Metadata that changes whenever the content does (content hashes, versions), by fsspec backend.
_STRONG = ("etag", "content-md5", "md5", "md5hash", "digest", "checksum", "sha256", "crc32c", "generation",
           "versionid", "version_id")
# Metadata that usually changes with the content (modification times), used with the size.
_WEAK = ("mtime", "last-modified", "lastmodified", "last_modified", "updated", "created")


def info_token(info: Mapping[str, Any]) -> str | None:
    """A token from an fsspec ``info()`` dict, or None when nothing in it tracks the content."""
    lowered = {str(k).lower(): v for k, v in info.items() if v not in (None, "")}
    size = lowered.get("size")
    strong = [f"{k}={lowered[k]}" for k in _STRONG if k in lowered]
    if strong:
        return ";".join([*strong, f"size={size}"])
    weak = [f"{k}={lowered[k]}" for k in _WEAK if k in lowered]
    if weak and size is not None:
        return ";".join([*weak, f"size={size}"])
    return None
