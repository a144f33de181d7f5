"""An in-process memo of objects a store just wrote, so a consumer in the same process skips decoding.

Artifacts are immutable (every attempt writes its own folder), so an object remembered under its
uri stays valid until the file is deleted. A hit must equal a fresh read, and consumers get a safe
view, never the producer's object: DataFrames that parquet round-trips exactly (default index,
string column names, no ``object`` columns) come back as a shallow copy under pandas
copy-on-write (a deep copy without it); ``bytes`` are immutable. JSON is remembered as the
``bytes`` written (encoding changes it: NaN becomes null, tuples lists), which the store decodes
again on a hit, so it skips only the read. Models are not memoised (mutable and opaque).
The memo is bounded by an estimate of the bytes it holds and evicts least recently used first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

__all__ = ["ObjectMemo"]

_MEMO_TYPES = ("dataframe", "bytes", "json")  # json: its encoded bytes


class ObjectMemo:
    """A thread-safe LRU of ``uri -> (object, type)`` bounded by ``max_bytes``."""

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Any, str, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def remember(self, uri: str, value: Any, type: str) -> None:
        """Keep ``value`` for ``uri`` if its type is safe to share and it fits."""
        if type not in _MEMO_TYPES or (type == "dataframe" and not _round_trips(value)):
            return
        if type in ("bytes", "json") and not isinstance(value, bytes):
            return  # bytearray / memoryview can still change
        size = _size_of(value, type)
        if size > self.max_bytes // 2:
            return  # one huge object would evict everything else
        with self._lock:
            old = self._items.pop(uri, None)
            if old is not None:
                self._size -= old[2]
            self._items[uri] = (value, type, size)
            self._size += size
            while self._size > self.max_bytes and self._items:
                _, (_, _, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def recall(self, uri: str, type: str | None = None) -> tuple[bool, Any]:
        """``(True, a safe view)`` when ``uri`` is remembered (as ``type``, if given), else ``(False, None)``."""
        with self._lock:
            hit = self._items.get(uri)
            if hit is None or (type is not None and type != hit[1]):
                return False, None
            self._items.move_to_end(uri)
        value, typ, _ = hit
        if typ == "dataframe":
            return True, _frame_view(value)
        return True, value

    def forget(self, prefix: str) -> None:
        """Drop everything at or under ``prefix`` (after a delete)."""
        with self._lock:
            for uri in [u for u in self._items if u == prefix or u.startswith(prefix.rstrip("/") + "/")]:
                self._size -= self._items.pop(uri)[2]


def _size_of(value: Any, type: str) -> int:
    if type == "dataframe":
        try:
            return int(value.memory_usage(index=True, deep=False).sum())
        except Exception:
            return 2**62
    return len(value)


def _round_trips(df: Any) -> bool:
    """True when parquet gives this frame back unchanged, so a memo hit equals a fresh read.

    That needs a default RangeIndex (parquet drops the index), string column names and no
    ``object`` columns (their parquet type depends on the values).
    """
    import pandas as pd

    index = df.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None):
        return False
    if not all(isinstance(c, str) for c in df.columns) or df.columns.name is not None:
        return False
    return not any(pd.api.types.is_object_dtype(dtype) for dtype in df.dtypes)


def _frame_view(df: Any) -> Any:
    # Under copy-on-write a shallow copy is an independent DataFrame that copies on first write.
    return df.copy(deep=not _copy_on_write())


def _copy_on_write() -> bool:
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return True  # pandas 3 always copies on write (and deprecates the option)
    return pd.options.mode.copy_on_write is True

