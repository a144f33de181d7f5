"""The worker side of out-of-process executors: a loop over wire payloads on a pipe.

Messages are pickles of wire data only (dicts, lists, str, bytes, numbers), read back with an
unpickler that refuses every class, so neither side ever unpickles an object it did not expect.
A worker serves tasks one at a time and streams ``("log", line)`` and ``("progress", (c, t))``
messages while a card runs, then ``("result", payload)``.
"""

from __future__ import annotations

import io
import pickle
import threading
import traceback
from typing import Any

from tensorrag.errors import SpecError
from tensorrag.executors.runtime import run_task
from tensorrag.spec import Task, TaskResult

__all__ = ["dumps", "loads", "serve"]


class _WireUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise SpecError(f"Refusing to unpickle {module}.{name}: wire messages carry plain data only.")


def dumps(obj: Any) -> bytes:
    """Serialise wire data for the pipe."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """Deserialise wire data from the pipe; any class reference is refused."""
    return _WireUnpickler(io.BytesIO(data)).load()


def serve(conn: Any) -> None:
    """Serve tasks from ``conn`` until it closes or sends ``None`` (the child process's main)."""
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:
            conn.send_bytes(dumps(message))

    while True:
        try:
            message = loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if message is None:
            return
        try:
            task = Task.from_wire(message)
            result = run_task(
                task,
                on_log=lambda line: send(("log", line)),
                on_progress=lambda cur, tot: send(("progress", (cur, tot))),
            ).to_wire()
        except Exception as exc:  # a malformed payload: answer with an error, keep serving
            error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
            result = TaskResult(error=error).to_wire()
        send(("result", result))
