"""Cache tokens for data read from outside the pipeline: a cheap fingerprint of a file or URL.

A card that reads a file returns :func:`file_token` of it from ``cache_token(config)``, so the
node's cache key changes when the file does::

    class LoadPrices(tr.BaseCard):
        ...
        def cache_token(self, config):
            return file_token(config["path"])

The fingerprint comes from the filesystem's metadata, never from reading the data: a local file's
size, mtime, ctime and inode; an object store's ETag / md5 / generation (plus size); an HTTP
server's ``ETag`` / ``Content-MD5`` / ``Digest``, else ``Last-Modified`` with the size. When the
metadata holds nothing that changes with the content (an HTTP server that sends only a length),
the token is ``None``: the node is not cached rather than cached on a guess.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tensorrag._stamps import info_token

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["file_token", "info_token"]


def file_token(location: str, storage_options: Mapping[str, Any] | None = None) -> str | None:
    """The cache token of the file at ``location`` (a local path or any fsspec URL).

    Args:
        location: a path (``~`` expanded, relative to the current directory) or a URL.
        storage_options: fsspec options for a URL (credentials, endpoint).

    Returns:
        A string that changes when the file changes, or None when this process cannot see the
        file (missing, no driver, no access: the node then runs uncached and reports the real
        error itself) or when its metadata has nothing stable.
    """
    if "://" not in location:
        path = os.path.abspath(os.path.expanduser(location))
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not os.path.isfile(path):
            return None
        return f"file:{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
    try:
        from fsspec.core import url_to_fs

        fs, path = url_to_fs(location, **dict(storage_options or {}))
        info = fs.info(path)
    except Exception:  # no driver, no network, no access, not there: the card says why when it runs
        return None
    if info.get("type") == "directory":
        return None
    token = info_token(info)
    return None if token is None else f"{location}|{token}"
