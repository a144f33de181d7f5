"""Test cards for the executor / engine / run tests.

They live at module level in an importable module so that an out-of-process executor can find
them by reference (``tests.executors.cards:t_source.card_class``). Cards that must be observed
from the test (how often they ran, in which order) append a line to a file named by their
``mark`` config, which works across threads and processes alike.

Module-level state (``CONCURRENCY``, ``RELEASE``, ``GO``) is only for in-process (local) tests.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

import pandas as pd

import tensorrag as tr
from tensorrag import BaseCard

log = logging.getLogger("tests.executors.cards")


# --------------------------------------------------------------------------- helpers


class Box:
    """A custom picklable "model": stored with joblib, loaded back as an equal object."""

    def __init__(self, weights: list[float], name: str = "box") -> None:
        self.weights = list(weights)
        self.name = name

    def predict(self, x: float) -> float:
        return sum(w * x for w in self.weights)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and (self.weights, self.name) == (other.weights, other.name)

    def __hash__(self) -> int:
        return hash((tuple(self.weights), self.name))


def mark(path: str, what: str) -> None:
    """Append ``what`` as one line to ``path`` (no-op for an empty path)."""
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(what + "\n")


def read_marks(path: os.PathLike[str] | str) -> list[str]:
    """The lines :func:`mark` wrote (``[]`` when the file does not exist)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [line for line in fh.read().splitlines() if line]
    except FileNotFoundError:
        return []


class _Concurrency:
    """How many sleeper cards run at once (in-process only)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0
        self.entered = 0

    def reset(self) -> None:
        with self.lock:
            self.current = self.peak = self.entered = 0

    def enter(self) -> None:
        with self.lock:
            self.current += 1
            self.entered += 1
            self.peak = max(self.peak, self.current)

    def leave(self) -> None:
        with self.lock:
            self.current -= 1


CONCURRENCY = _Concurrency()
#: Set by tests to end every sleeping card early (so abandoned threads do not outlive a test).
RELEASE = threading.Event()
#: ``t_wait_go`` blocks until this is set (in-process tests of concurrent output).
GO = threading.Event()


def settle(timeout: float = 5.0) -> None:
    """End sleeping/blocked cards and wait until no card runs in this process (test teardown)."""
    from tensorrag.executors import capture

    RELEASE.set()
    GO.set()
    deadline = time.monotonic() + timeout
    while capture._active and time.monotonic() < deadline:
        time.sleep(0.01)
    RELEASE.clear()
    GO.clear()


# --------------------------------------------------------------------------- function cards


@tr.card(category="data")
def t_source(n: int = 3, mark_file: str = "") -> dict:
    """A root: ``{"values": [0, 1, ..., n-1]}``."""
    mark(mark_file, "t_source")
    return {"values": list(range(n))}


@tr.card(category="data")
def t_double(data: dict, factor: int = 2, mark_file: str = "", tag: str = "") -> dict:
    """Multiply every value by ``factor``."""
    mark(mark_file, f"t_double_{tag}" if tag else "t_double")
    return {"values": [v * factor for v in data["values"]]}


@tr.card(category="data")
def t_add(a: dict, b: dict, mark_file: str = "") -> dict:
    """Element-wise sum of two inputs (the bottom of a diamond)."""
    mark(mark_file, "t_add")
    return {"values": [x + y for x, y in zip(a["values"], b["values"], strict=True)]}


@tr.card(category="data")
def t_nonempty(data: dict, mark_file: str = "") -> dict:
    """Only whether there are values (the same bytes for many different inputs)."""
    mark(mark_file, "t_nonempty")
    return {"nonempty": len(data["values"]) > 0}


@tr.card(category="data")
def t_fail(data: dict, message: str = "boom") -> dict:
    """Always raises ``ValueError(message)``."""
    raise ValueError(message)


@tr.card(category="data")
def t_fail_root(message: str = "root boom") -> dict:
    """A root that always raises ``RuntimeError(message)``."""
    raise RuntimeError(message)


@tr.card(category="data")
def t_flag_fail(data: dict, flag: str = "", mark_file: str = "") -> dict:
    """Raises while the file ``flag`` exists; passes ``data`` through otherwise."""
    mark(mark_file, "t_flag_fail")
    if flag and os.path.exists(flag):
        raise RuntimeError(f"flag file {flag} is present")
    return dict(data)


@tr.card(category="data")
def t_sleep(seconds: float = 0.3, tag: str = "", mark_file: str = "") -> dict:
    """Sleep ``seconds`` (ended early by ``RELEASE``), counting concurrent entries."""
    CONCURRENCY.enter()
    try:
        mark(mark_file, f"start {tag}")
        end = time.monotonic() + seconds
        while time.monotonic() < end and not RELEASE.is_set():
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))
        mark(mark_file, f"end {tag}")
    finally:
        CONCURRENCY.leave()
    return {"values": [seconds]}


@tr.card(category="data")
def t_sleep_after(data: dict, seconds: float = 0.3, tag: str = "", mark_file: str = "") -> dict:
    """Like ``t_sleep`` but with an input, for chains."""
    mark(mark_file, f"start {tag}")
    end = time.monotonic() + seconds
    while time.monotonic() < end and not RELEASE.is_set():
        time.sleep(0.02)
    mark(mark_file, f"end {tag}")
    return dict(data)


@tr.card(category="data")
def t_talk(text: str = "hello from card") -> dict:
    """Prints a line to stdout, one to stderr, and logs a warning."""
    print(text)
    print(f"{text} (stderr)", file=sys.stderr)
    log.warning("careful: %s", text)
    print("no newline at the end", end="")
    return {"said": text}


@tr.card(category="data")
def t_progress(steps: int = 4) -> dict:
    """Reports progress 1..steps of steps."""
    for i in range(1, steps + 1):
        tr.report_progress(i, steps)
    return {"steps": steps}


@tr.card(category="data")
def t_wait_go(text: str = "inside the card") -> dict:
    """Prints, then blocks until ``GO`` is set (at most 5 s)."""
    print(text)
    GO.wait(5)
    return {"ok": True}


@tr.card(category="data")
def t_exit(code: int = 3) -> dict:
    """Calls ``sys.exit(code)``."""
    sys.exit(code)


@tr.card(
    category="data",
    outputs={"frame": "dataframe", "doc": "json", "blob": "bytes", "model": "model"},
)
def t_types(rows: int = 3) -> dict:
    """One output of each artifact type, plus an extra (undeclared) ``chart`` artifact."""
    return {
        "frame": pd.DataFrame({"x": list(range(rows)), "name": [f"r{i}" for i in range(rows)]}),
        "doc": {"nested": {"a": [1, 2.5, None]}, "s": "é"},
        "blob": b"\x00\x01binary\xff",
        "model": Box([1.0, 2.0], name="boxy"),
        "chart": b"\x89PNG fake chart",
    }


@tr.card(category="data")
def t_use_types(frame: pd.DataFrame, model: Any, blob: bytes) -> dict:
    """Consumes typed inputs downstream: the objects arrive decoded."""
    return {
        "rows": len(frame),
        "model_class": type(model).__name__,
        "prediction": model.predict(2.0),
        "blob_len": len(blob),
    }


# --------------------------------------------------------------------------- original-style cards


class MissingOutputCard(BaseCard):
    """Declares two outputs, returns only one."""

    card_type = "t_missing_output"
    display_name = "Missing output"
    description = "Declares a and b, produces only a"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {}
    input_schema = {}
    output_schema = {"a": "json", "b": "json"}

    def execute(self, config, inputs, storage):
        ref = storage.save_json(config["_pipeline_id"], config["_node_id"], "a", {"a": 1})
        return {"a": ref}


class ScaleCard(BaseCard):
    """The original contract: flat config schema, save_dataframe with pipeline/node ids."""

    card_type = "t_scale"
    display_name = "Scale"
    description = "Multiply every column"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {"factor": {"type": "number", "default": 2}}
    input_schema = {}
    output_schema = {"scaled": "dataframe"}

    def execute(self, config, inputs, storage):
        df = pd.DataFrame({"v": [1.0, 2.0, 3.0]}) * config["factor"]
        ref = storage.save_dataframe(config["_pipeline_id"], config["_node_id"], "scaled", df)
        return {"scaled": ref}

    def get_output_preview(self, outputs, storage):
        df = storage.load_dataframe(outputs["scaled"])
        return {"rows": df.to_dict("records"), "total": float(df["v"].sum())}


class ProgressCard(BaseCard):
    """Reports progress through ``storage.progress`` (the original handle's way)."""

    card_type = "t_orig_progress"
    category = "data"
    output_view_type = "metrics"
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        storage.progress(1, 2)
        storage.progress(2, 2)
        return {"out": storage.save_json(None, None, "out", {"done": True})}


class BadPreviewCard(BaseCard):
    """Executes fine; its preview raises."""

    card_type = "t_bad_preview"
    category = "data"
    output_view_type = "metrics"
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        return {"out": storage.save_json(None, None, "out", {"x": 1})}

    def get_output_preview(self, outputs, storage):
        raise KeyError("no preview for you")


class NotADictCard(BaseCard):
    """``execute`` returns a list instead of ``{port: ref}``."""

    card_type = "t_not_a_dict"
    category = "data"
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        return ["not", "a", "dict"]


class ForeignRefCard(BaseCard):
    """Returns a ref it never saved through the handle."""

    card_type = "t_foreign_ref"
    category = "data"
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        return {"out": "file:///nowhere/out.json"}


class NodeStampCard(BaseCard):
    """Output depends on something outside the cache key (like an unseeded random init)."""

    card_type = "t_node_stamp"
    category = "data"
    output_view_type = "metrics"
    config_schema = {"seconds": {"type": "number", "default": 0.2}}
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        time.sleep(config["seconds"])
        return {"out": storage.save_json(None, None, "out", {"made_by": config["_node_id"]})}


@tr.card(category="data", resources={"timeout": 0.2})
def t_slow_card(seconds: float = 0.5) -> dict:
    """A card whose own ``resources`` carry a timeout shorter than its work."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not RELEASE.is_set():
        time.sleep(0.02)
    return {"slept": seconds}


@tr.card(category="data")
def t_crash(x: dict) -> dict:
    """Kills its own process (a stand-in for a segfault or the OOM killer)."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
    return x


@tr.card(category="data")
def t_pid(tag: str = "") -> dict:
    """Reports the id of the process it ran in."""
    return {"pid": os.getpid()}


@tr.card(category="data")
def t_log_then_sleep(seconds: float = 0.5) -> dict:
    """Prints a line, then sleeps, so a live log line arrives while the node still runs."""
    print("started", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}


@tr.card(category="model")
def llm_fake_load(name: str = "tiny") -> dict:
    """An ``llm_*`` card: the default rule routes it to a GPU."""
    return {"model": name}


@tr.card(category="data", execution_mode="modal")
def t_remote_double(data: dict, factor: int = 2) -> dict:
    """A card that declares execution_mode='modal' (auto sends it to the remote executor)."""
    return {"values": [v * factor for v in data["values"]], "pid": os.getpid()}


@tr.card(category="data")
def t_raise_value_error(message: str = "bad value") -> dict:
    """Raises ValueError."""
    raise ValueError(message)


@tr.card(category="data")
def t_frame(rows: int = 1000) -> pd.DataFrame:
    """A frame of ``rows`` rows (for counting bytes moved)."""
    return pd.DataFrame({"a": range(rows), "b": [float(i) for i in range(rows)]})


@tr.card(category="data")
def t_frame_rows(df: pd.DataFrame) -> dict:
    """Counts rows."""
    return {"rows": len(df)}


@tr.card(category="data")
def t_chatty(lines: int = 10) -> dict:
    """Print ``lines`` numbered lines (``line 0``, ``line 1``, ...)."""
    for i in range(lines):
        print(f"line {i}")
    return {"lines": lines}
