"""One process-wide lock for first imports of heavy libraries from card code.

Cards run in threads. Two threads importing a large package for the first time at once (for
example ``sklearn``, whose modules import each other) can see a partially initialised module
and fail with ``ImportError: cannot import name ...``. Built-in cards import their libraries
inside ``with heavy_imports():``; custom cards may do the same::

    with tensorrag.cards.heavy_imports():
        from sklearn.ensemble import RandomForestClassifier
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["heavy_imports"]

_lock = threading.RLock()


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Hold the process-wide import lock for the block (re-entrant; cheap once imported)."""
    with _lock:
        yield
