"""The worker side of out-of-process executors: a loop over wire payloads on a pipe.

Messages are pickles of wire data only (dicts, lists, str, bytes, numbers), read back with an
unpickler that refuses every class, so neither side ever unpickles an object it did not expect.
A worker serves tasks one at a time and streams ``("log", line)`` and ``("progress", (c, t))``
messages while a card runs, then ``("result", payload)``. A worker is long-lived, so it keeps what
it resolved between tasks: card classes by their ref (see :class:`_WorkerTask`), and output
routing stays installed for its life.

``python -c "...; main(PARENT_PID)"`` (what :class:`~tensorrag.executors.process.ProcessExecutor`
starts) is a fresh interpreter that never imports the user's script, so scripts need no
``if __name__ == "__main__":`` guard. Its stdin/stdout carry length-prefixed frames (fd 1 is
then pointed at stderr, so stray native writes cannot corrupt the wire), and it dies with its
parent: ``PR_SET_PDEATHSIG`` on Linux, plus a thread that notices being re-parented elsewhere.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import threading
import time
import traceback
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import SpecError
from tensorrag.executors.capture import routing
from tensorrag.executors.runtime import resolve_card, run_task
from tensorrag.spec import Task, TaskResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.cards import BaseCard

__all__ = ["FramedPipe", "dumps", "loads", "main", "serve"]


class _WireUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise SpecError(f"Refusing to unpickle {module}.{name}: wire messages carry plain data only.")


def dumps(obj: Any) -> bytes:
    """Serialise wire data for the pipe."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """Deserialise wire data from the pipe; any class reference is refused."""
    return _WireUnpickler(io.BytesIO(data)).load()


class FramedPipe:
    """``send_bytes`` / ``recv_bytes`` over two binary streams: each frame is a 4-byte length, then the bytes."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader, self._writer = reader, writer

    def send_bytes(self, data: bytes) -> None:
        """Write one frame (raises ``OSError`` once the other side is gone)."""
        self._writer.write(struct.pack(">I", len(data)) + data)
        self._writer.flush()

    def recv_bytes(self) -> bytes:
        """Read one frame; ``EOFError`` when the other side closed or died."""
        (size,) = struct.unpack(">I", self._read(4))
        return self._read(size)

    def _read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self._reader.read(left)
            if not chunk:
                raise EOFError("the other end of the worker pipe closed")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        """Close both streams."""
        for stream in (self._writer, self._reader):
            try:
                stream.close()
            except OSError:
                pass


class _Cache(OrderedDict[Any, Any]):
    """A small LRU: what a long-lived worker keeps between tasks."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


# Resolving a shipped card re-runs its source (a script's defs, pydantic models): milliseconds a task.
_cards = _Cache(128)


class _WorkerTask(Task):
    """A task whose card class comes from this worker's cache of resolved cards.

    It is looked up lazily, where :func:`~tensorrag.executors.runtime.run_task` reads it (inside
    its output capture and error handling), so a first resolution prints into the node's logs and
    fails the node exactly as an uncached one would; a failure is never cached. Refs key by their
    whole text, so a changed card file is a new card. (Stores are not kept: each store object
    carries an object memo of up to 512 MiB that would then outlive its task in every worker.)
    """

    @property  # type: ignore[override]
    def card_class(self) -> type[BaseCard]:
        ref = self.card
        key = (ref.get("card_type"), ref.get("source"), ref.get("path"), ref.get("module"))
        cls: type[BaseCard] = _cards.get_or_make(key, lambda: resolve_card(ref))
        return cls

    @card_class.setter
    def card_class(self, value: Any) -> None:
        pass  # never set on the wire side (the dataclass __init__ assigns None)


def serve(conn: Any) -> None:
    """Serve tasks from ``conn`` until it closes or sends ``None`` (the child process's main)."""
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:
            conn.send_bytes(dumps(message))

    log_chars = get_settings().max_log_chars  # the worker's environment does not change: read it once
    with routing():  # held for the worker's life, so each task's capture only pushes a sink
        while True:
            try:
                message = loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            if message is None:
                return
            try:
                task = _WorkerTask.from_wire(message)
                result = run_task(
                    task,
                    on_log=lambda line: send(("log", line)),
                    on_progress=lambda cur, tot: send(("progress", (cur, tot))),
                    log_chars=log_chars,
                ).to_wire()
            except Exception as exc:  # a malformed payload: answer with an error, keep serving
                error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
                result = TaskResult(error=error).to_wire()
            send(("result", result))


def main(parent_pid: int) -> None:
    """The worker process's entry: die with ``parent_pid``, take the wire off stdio, then :func:`serve`."""
    _die_with_parent(parent_pid)
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a card reading stdin must not eat wire frames
    os.close(devnull)
    os.dup2(2, 1)  # prints from native code go to stderr, not into the wire
    serve(FramedPipe(reader, writer))


def _die_with_parent(parent_pid: int) -> None:
    # Work for a dead orchestrator is abandoned: it must never go on to commit a cache entry.
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before we could ask
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="tensorrag-parent-watch", daemon=True).start()
