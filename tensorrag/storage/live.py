"""What a ``memory://`` store holds: files, and objects kept as they are until someone asks for bytes.

A run on ``memory://`` never needs its outputs as bytes: the next card gets the object itself,
and the cache entry is a dict. So the store keeps objects (:meth:`LiveTable.keep`) and encodes
one only when its bytes are read (``get_bytes``, a process worker, a download). DataFrames are
handed out as shallow copies, which pandas' copy-on-write keeps independent: a card that changes
its input frame changes only its own copy. Other objects (json values, models) are shared, so a
card must not change its inputs in place (as with any cached result). Refs from a memory store
carry no ``sha256``: nothing was hashed, and RAM cannot rot between two reads.

Tables are shared by every store opened under the same ``memory://name`` in this process (a
project store inside it, a store rebuilt from a task's wire form), and freed with the last of
them (fsspec's own memory filesystem is one process-wide dict that never frees).
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from typing import TYPE_CHECKING, Any

from tensorrag.storage.codecs import _check_bytes, _is_dataframe, _mismatch, encode, encode_json

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LiveTable", "live_copy", "live_value", "plain_json", "table_for"]


class LiveTable:
    """Full path -> bytes (``files``) or -> ``(object, type, ext)`` not yet encoded (``objects``)."""

    __slots__ = ("__weakref__", "encoders", "files", "lock", "objects")

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.objects: dict[str, tuple[Any, str, str]] = {}
        self.encoders: dict[str, Callable[[Any], bytes]] = {}  # path -> how its bytes are made, when not the codec
        self.lock = threading.Lock()  # only for encoding an object on first read (once)

    def keep(self, path: str, value: Any, type: str, ext: str, encoder: Callable[[Any], bytes] | None = None) -> None:
        """Hold ``value`` at ``path`` without encoding it (replacing what was there); ``encoder`` makes its bytes."""
        self.files.pop(path, None)
        self.objects[path] = (value, type, ext)
        if encoder is not None:
            self.encoders[path] = encoder
        else:
            self.encoders.pop(path, None)

    def put(self, path: str, data: bytes) -> None:
        """Hold ``data`` at ``path`` (replacing what was there)."""
        self.objects.pop(path, None)
        self.encoders.pop(path, None)
        self.files[path] = data

    def read(self, path: str) -> bytes:
        """The bytes at ``path``, encoding a kept object the first time (``FileNotFoundError`` if none)."""
        data = self.files.get(path)
        if data is not None:
            return data
        kept = self.objects.get(path)
        if kept is None:
            raise FileNotFoundError(path)
        with self.lock:
            data = self.files.get(path)
            if data is None:
                encoder = self.encoders.get(path)
                if encoder is not None:
                    data = encoder(kept[0])
                else:
                    data, _ = encode(kept[1], kept[0], kept[2] if kept[1] == "bytes" else None)
                self.files[path] = data
        return data

    def has(self, path: str) -> bool:
        """Whether a file (bytes or object) is at ``path``."""
        return path in self.files or path in self.objects

    def drop(self, path: str) -> bool:
        """Forget ``path``; False when nothing was there."""
        self.encoders.pop(path, None)
        return (self.files.pop(path, None) is not None) | (self.objects.pop(path, None) is not None)

    def paths(self) -> list[str]:
        """Every path held (a snapshot)."""
        return [*list(self.files), *(p for p in list(self.objects) if p not in self.files)]


def live_value(type: str, value: Any) -> Any:
    """What a memory store keeps for ``value``: what the next card would get back from the file.

    Checked as the encoder would; a frame's index dropped as parquet does; json as read back.

    Raises:
        StorageError: ``value`` does not fit ``type`` (a frame for ``dataframe``, bytes for ``bytes``).
    """
    if type == "dataframe":
        if not _is_dataframe(value):
            raise _mismatch("dataframe", "a pandas.DataFrame", value)
        import pandas as pd

        index = value.index
        if not isinstance(index, pd.RangeIndex) or index.start != 0 or index.step != 1 or index.name is not None:
            return value.reset_index(drop=True)  # what a parquet round trip gives the next card
        return value.copy(deep=False)  # later changes by the card that made it do not leak in
    if type == "bytes":
        return bytes(_check_bytes(value))
    if type == "json":
        return plain_json(value)  # what the next card would read back from a .json file
    return value


def plain_json(value: Any) -> Any:
    """``value`` as its JSON text would read back (NaN and infinities None, keys str, tuples lists), made directly."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if t is dict:
        return {k if type(k) is str else _key(k): plain_json(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [plain_json(v) for v in value]
    return json.loads(encode_json(value))  # anything else: exactly what the encoder makes of it


def _key(key: Any) -> str:
    out: str = json.loads(encode_json({key: None})).popitem()[0]
    return out


def live_copy(type: str, value: Any) -> Any:
    """What a reader gets of a kept object: frames as copy-on-write shallow copies, the rest as is."""
    return value.copy(deep=False) if type == "dataframe" else value


_tables: weakref.WeakValueDictionary[str, LiveTable] = weakref.WeakValueDictionary()
_tables_lock = threading.Lock()


def table_for(root: str) -> LiveTable:
    """The table of the ``memory://`` root ``root`` (made when no open store holds it)."""
    with _tables_lock:
        table = _tables.get(root)
        if table is None:
            table = _tables[root] = LiveTable()
        return table
