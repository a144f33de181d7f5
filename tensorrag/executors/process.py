"""``ProcessExecutor``: each task runs in a separate worker process, over the wire format.

Workers are long-lived fresh interpreters (``python -c`` running
:func:`tensorrag.executors.worker.main`: no forked threads or locks, and the user's script is
never re-imported, so it needs no ``if __name__ == "__main__":`` guard), one per slot, each
driven by a thread of this process that sends a task payload, relays live log and progress
messages, and resolves the task's future with the result payload. A worker that dies (segfault,
SIGKILL, out of memory) fails only the task it was running — with its exit code and signal in
the message — and is replaced. Timeouts and cancels kill the worker running the task. Whatever
goes wrong in a driver resolves the task's future with an error: nothing is left waiting.
Workers die with this process (see :func:`tensorrag.executors.worker.main`).

Cards travel as importable references (``module:qualname``) or as source (project card files;
cards defined in the main script or a notebook cell, shipped with its imports and definitions,
see :func:`tensorrag.executors.runtime.main_source`). Cards defined inside a function cannot
travel: ``preflight`` refuses them, naming each, before the run starts.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import card_ref
from tensorrag.executors.worker import FramedPipe, dumps, loads
from tensorrag.spec import TaskResult

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task

__all__ = ["ProcessExecutor", "card_travel_problem"]

_Item = tuple["Future[TaskResult]", dict[str, Any], "EventSink | None", str]


class WorkerCrashedError(ExecutorError):
    """The worker process running a task died."""


class _Worker:
    """One child interpreter and the framed pipe to it (its stdin and stdout)."""

    def __init__(self) -> None:
        # A fresh interpreter that never imports __main__: a script without a guard cannot recurse.
        boot = (
            f"import sys; sys.path[:0] = {sys.path!r}; "
            f"from tensorrag.executors.worker import main; main({os.getpid()})"
        )
        self.process = subprocess.Popen(
            [sys.executable, *subprocess._args_from_interpreter_flags(), "-c", boot],  # type: ignore[attr-defined]
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.conn = FramedPipe(self.process.stdout, self.process.stdin)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.kill()
            except OSError:  # it exited meanwhile
                pass

    def stop(self) -> None:
        try:
            self.conn.send_bytes(dumps(None))
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait(timeout=5)
        self.conn.close()

    def describe_exit(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
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
        start_method: only ``"spawn"``: every worker is a fresh interpreter (kept for compatibility).
    """

    name = "process"
    in_process = False
    streams_logs = True

    def __init__(self, max_workers: int | None = None, start_method: str = "spawn") -> None:
        if max_workers is not None and (
            not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
        ):
            raise ConfigError(f"ProcessExecutor(max_workers=...) must be a positive integer; got {max_workers!r}.")
        if start_method != "spawn":
            raise ConfigError(
                f"start_method {start_method!r} is not supported: workers are always fresh interpreters "
                "(start_method='spawn'), which is what makes them safe with threads."
            )
        self.max_workers = max_workers or get_settings().max_workers
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
            self._drivers = [d for d in self._drivers if d.is_alive()]
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
                try:
                    worker = self._run_one(worker, fut, payload, events, node_id)
                except BaseException as exc:  # a driver failure fails its task at once, never a wait
                    if not fut.done():
                        err = ExecutorError(
                            f"the process executor failed while running node {node_id!r}: "
                            f"{type(exc).__name__}: {exc}"
                        )
                        err.__cause__ = exc
                        fut.set_exception(err)
                    if worker is not None:
                        self._retire(worker)
                        worker = None
                    if not isinstance(exc, Exception):
                        raise
                finally:
                    with self._lock:
                        self._running.pop(fut, None)
        finally:
            if worker is not None:
                self._retire(worker)

    def _run_one(
        self, worker: _Worker | None, fut: Future[TaskResult], payload: dict[str, Any],
        events: EventSink | None, node_id: str,
    ) -> _Worker | None:
        """Run one task on ``worker`` (a new one if needed); return the worker to reuse, or None."""
        if worker is None or not worker.alive():
            if worker is not None:
                self._retire(worker)
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
            return None
        fut.set_result(result)
        return worker

    def _exchange(self, worker: _Worker, payload: dict[str, Any], events: EventSink | None) -> TaskResult:
        worker.conn.send_bytes(dumps(payload))
        while True:
            kind, body = loads(worker.conn.recv_bytes())
            if kind == "result":
                return TaskResult.from_wire(body)
            if events is not None and kind in ("log", "progress"):
                events(kind, tuple(body) if kind == "progress" else body)

    def _spawn(self) -> _Worker:
        worker = _Worker()
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
    if module.startswith("__main__:"):  # main_source could not read it back
        return (
            f"{cls.card_type!r} ({cls.__qualname__}) is defined in an interactive session and its source "
            "cannot be read back"
        )
    return None
