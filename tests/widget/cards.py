"""Small cards for the canvas tests (registered on each test's pipeline, not globally)."""

from __future__ import annotations

import threading
import time

import pandas as pd

import tensorrag as tr

#: Set to end ``w_slow`` early.
RELEASE = threading.Event()


@tr.card(category="data")
def w_source(n: int = 3) -> dict:
    """A root: ``{"values": [0..n-1]}``."""
    return {"values": list(range(n))}


@tr.card(category="model")
def w_double(data: dict, factor: int = 2) -> dict:
    """Multiply every value by ``factor``."""
    return {"values": [v * factor for v in data["values"]]}


@tr.card(category="data")
def w_table(rows: int = 5) -> pd.DataFrame:
    """A small table."""
    return pd.DataFrame({"a": range(rows), "b": [x * 0.5 for x in range(rows)]})


@tr.card(category="data")
def w_chatty(data: dict, lines: int = 200, seconds: float = 0.5) -> dict:
    """Print ``lines`` lines and report progress ``lines`` times, spread over ``seconds``."""
    for i in range(lines):
        print(f"line {i}")
        tr.report_progress(i + 1, lines)
        time.sleep(seconds / lines)
    return dict(data)


@tr.card(category="data")
def w_slow(data: dict, seconds: float = 10.0) -> dict:
    """Sleep until ``seconds`` pass or ``RELEASE`` is set."""
    RELEASE.wait(seconds)
    return dict(data)


@tr.card(category="data")
def w_fail(data: dict, message: str = "boom") -> dict:
    """Always raises ``ValueError(message)``."""
    raise ValueError(message)
