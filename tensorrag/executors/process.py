"""``ProcessExecutor``: each task runs in a separate worker process, over the wire format.

Workers are long-lived ``spawn`` processes (no forked threads or locks), one per slot, each
driven by a thread of this process that sends a task payload, relays live log and progress
messages, and resolves the task's future with the result payload. A worker that dies (segfault,
SIGKILL, out of memory) fails only the task it was running — with its exit code and signal in
the message — and is replaced. Timeouts and cancels kill the worker running the task.

Cards travel as importable references (``module:qualname``; a script's own cards work when the
script has an ``if __name__ == "__main__":`` guard, as with any multiprocessing program) or as
source (project card files; cards defined in a notebook cell, shipped with the notebook's
imports). Cards defined inside a function cannot travel: ``preflight`` refuses them, naming
each, before the run starts.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import card_ref
from tensorrag.executors.worker import dumps, loads, serve
from tensorrag.spec import TaskResult

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task

__all__ = ["ProcessExecutor", "card_travel_problem"]

_Item = tuple["Future[TaskResult]", dict[str, Any], "EventSink | None", str]


class WorkerCrashedError(ExecutorError):
    """The worker process running a task died."""


class _Worker:
    """One child process and the pipe to it."""

    def __init__(self, ctx: Any) -> None:
        parent, child = ctx.Pipe()
        self.conn = parent
        self.process = ctx.Process(target=serve, args=(child,), name="tensorrag-worker", daemon=True)
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def stop(self) -> None:
        try:
            self.conn.send_bytes(dumps(None))
        except OSError:
            pass
        self.process.join(timeout=5)
        self.kill()
        self.conn.close()

    def describe_exit(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                return f"exit code {code}, {signal.Signals(-code).name}"
            except ValueError:
                return f"exit code {code}"
        return f"exit code {code}"


class ProcessExecutor(Executor):
    """Run each task in a worker process (crash isolation, real timeouts, parallel CPU work).

    Args:
        max_workers: worker processes; default ``TENSORRAG_MAX_WORKERS`` or the CPU count (at least 4).
        start_method: multiprocessing start method; ``"spawn"`` (default) is the safe choice with threads.
    """

    name = "process"
    in_process = False
    streams_logs = True

    def __init__(self, max_workers: int | None = None, start_method: str = "spawn") -> None:
        if max_workers is not None and (
            not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
        ):
            raise ConfigError(f"ProcessExecutor(max_workers=...) must be a positive integer; got {max_workers!r}.")
        if start_method not in multiprocessing.get_all_start_methods():
            raise ConfigError(
                f"start_method {start_method!r} is not available here; use one of "
                f"{', '.join(multiprocessing.get_all_start_methods())}."
            )
        self.max_workers = max_workers or get_settings().max_workers
        self._ctx = multiprocessing.get_context(start_method)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._drivers: list[threading.Thread] = []
        self._running: dict[Future[TaskResult], _Worker] = {}
        self._cancelled: set[Future[TaskResult]] = set()
        self._workers: list[_Worker] = []

    # ------------------------------------------------------------------ executor API

    def preflight(self, cards: list[type[BaseCard]]) -> None:
        """Refuse, naming them, cards a worker process could not load."""
        problems = [msg for msg in (card_travel_problem(c) for c in dict.fromkeys(cards)) if msg]
        if problems:
            raise CardDefinitionError(
                "These cards cannot run in a worker process:\n  - " + "\n  - ".join(problems)
                + "\nMove them into an importable module (a .py file you import), or run with executor='local'."
            )

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Queue ``task`` for the next free worker process."""
        fut: Future[TaskResult] = Future()
        payload = task.to_wire()
        with self._lock:
            self._queue.put((fut, payload, events, task.node_id))
            if len(self._drivers) < self.max_workers:
                driver = threading.Thread(target=self._drive, name="tensorrag-process-driver", daemon=True)
                self._drivers.append(driver)
                driver.start()
        return fut

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel a queued task, or kill the worker running it (a fresh one replaces it)."""
        if future.cancel():
            return
        with self._lock:
            worker = self._running.get(future)
            if worker is None:
                return
            self._cancelled.add(future)
        worker.kill()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the drivers and worker processes (queued tasks are cancelled)."""
        with self._lock:
            drivers, self._drivers = self._drivers, []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in drivers:
            self._queue.put(None)
        if wait:
            for driver in drivers:
                driver.join(timeout=30)

    # ------------------------------------------------------------------ drivers

    def _drive(self) -> None:
        worker: _Worker | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                fut, payload, events, node_id = item
                if not fut.set_running_or_notify_cancel():
                    continue
                if worker is None or not worker.alive():
                    worker = self._spawn()
                with self._lock:
                    self._running[fut] = worker
                try:
                    result = self._exchange(worker, payload, events)
                except (EOFError, OSError):
                    why = worker.describe_exit()
                    with self._lock:
                        cancelled = fut in self._cancelled
                        self._cancelled.discard(fut)
                    msg = (
                        f"the task was cancelled and its worker stopped ({why})"
                        if cancelled
                        else f"the worker process running node {node_id!r} died ({why}); the node failed, the run "
                        "goes on. A crash like this usually means a segfault in native code or running out of memory."
                    )
                    fut.set_exception(WorkerCrashedError(msg))
                    self._retire(worker)
                    worker = None
                except BaseException as exc:  # a malformed message: fail the task, not the driver
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
                finally:
                    with self._lock:
                        self._running.pop(fut, None)
        finally:
            if worker is not None:
                self._retire(worker)

    def _exchange(self, worker: _Worker, payload: dict[str, Any], events: EventSink | None) -> TaskResult:
        worker.conn.send_bytes(dumps(payload))
        while True:
            kind, body = loads(worker.conn.recv_bytes())
            if kind == "result":
                return TaskResult.from_wire(body)
            if events is not None and kind in ("log", "progress"):
                events(kind, tuple(body) if kind == "progress" else body)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx)
        with self._lock:
            self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        worker.stop()


def card_travel_problem(cls: type[BaseCard]) -> str | None:
    """Why ``cls`` cannot be loaded by a worker in another process, or None when it can."""
    ref = card_ref(cls)
    if ref.get("source"):
        return None
    module = ref.get("module")
    if module is None:
        return (
            f"{cls.card_type!r} ({cls.__qualname__}) is defined inside a function, so no other process can import it"
        )
    if module.startswith("__main__:"):
        main = sys.modules.get("__main__")
        if not getattr(main, "__file__", None):
            return (
                f"{cls.card_type!r} ({cls.__qualname__}) is defined in an interactive session and its source "
                "cannot be read back"
            )
    return None
