"""``LocalExecutor``: cards run in threads of this process."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import ConfigError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import run_task

if TYPE_CHECKING:
    from tensorrag.spec import Task, TaskResult

__all__ = ["LocalExecutor"]

_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_IDLE_S = 10.0  # a pool thread idle this long exits, so executors dropped without shutdown() leave no threads


class LocalExecutor(Executor):
    """Run cards in threads of this process: no serialisation, live logs and progress.

    A thread cannot be killed, so a card that times out or is cancelled is *abandoned*: its
    thread is retired (it exits when the card returns) and a fresh thread takes its place, so
    the executor keeps ``max_workers`` threads available for other tasks. Threads start on demand
    and a thread idle for 10 s exits, so an executor dropped without :meth:`shutdown` leaves none.

    Args:
        max_workers: threads (and so cards running at once); default ``TENSORRAG_MAX_WORKERS``
            or the CPU count (at least 4).
    """

    name = "local"
    in_process = True
    streams_logs = True

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (
            not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
        ):
            raise ConfigError(f"LocalExecutor(max_workers=...) must be a positive integer; got {max_workers!r}.")
        self.max_workers = max_workers or get_settings().max_workers
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads blocked waiting for an item
        self._pending = 0  # items queued and not yet taken
        self._live = 0  # threads serving the pool (retired ones excluded)
        self._running: dict[Future[Any], threading.Thread] = {}
        self._retired: set[threading.Thread] = set()
        self._closed = False

    def start(self) -> None:
        """Threads start on demand; this only reopens a shut-down executor."""
        with self._lock:
            self._closed = False

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Run ``task`` on a pool thread."""
        on_log = (lambda line: events("log", line)) if events else None
        on_progress = (lambda cur, tot: events("progress", (cur, tot))) if events else None
        fut: Future[TaskResult] = Future()
        with self._lock:
            if self._closed:
                self._closed = False  # reusable after shutdown, like start()
            self._queue.put((fut, run_task, (task,), {"on_log": on_log, "on_progress": on_progress}))
            self._pending += 1
            if self._pending > self._idle and self._live < self.max_workers:
                self._spawn()
        return fut

    def lend(self, worker: Callable[[], None]) -> Future[None]:
        """Run an engine's worker loop on a pool thread (pull mode, see engine.py).

        The engine lends at most ``max_workers`` loops; one whose card timed out is retired with
        :meth:`cancel` on the returned future, as for a task, and the engine lends a replacement.
        """
        fut: Future[None] = Future()
        with self._lock:
            self._closed = False
            self._queue.put((fut, worker, (), {}))
            self._pending += 1
            if self._pending > self._idle and self._live < self.max_workers:
                self._spawn()
        return fut

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel a queued task, or abandon a running one and replace its thread."""
        if future.cancel():
            return
        with self._lock:
            thread = self._running.pop(future, None)
            if thread is None or thread in self._retired:
                return
            self._retired.add(thread)
            self._live -= 1
            if self._pending > self._idle:
                self._spawn()

    def shutdown(self, wait: bool = True) -> None:
        """Stop idle threads; queued tasks are cancelled, running ones finish (joined when ``wait``)."""
        with self._lock:
            self._closed = True
            threads = self._live
            self._live = 0
        drained: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                drained.append(item)
        with self._lock:
            self._pending -= len(drained)
        for fut, *_ in drained:
            fut.cancel()
        for _ in range(threads):
            self._queue.put(None)
        if wait:
            for thread in list(self._running.values()):
                thread.join()

    def _spawn(self) -> None:
        self._live += 1
        threading.Thread(target=self._work, name="tensorrag-card", daemon=True).start()

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                self._idle += 1
            try:
                item = self._queue.get(timeout=_IDLE_S)
            except queue.Empty:
                with self._lock:
                    if self._pending == 0:  # nothing queued for this thread: leave (a new task spawns one)
                        self._idle -= 1
                        self._live -= 1
                        return
                    self._idle -= 1
                continue
            with self._lock:
                self._idle -= 1
                if item is not None:
                    self._pending -= 1
            if item is None:
                return
            fut, fn, args, kwargs = item
            if not fut.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running[fut] = me
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
            with self._lock:
                self._running.pop(fut, None)
                if me in self._retired:  # abandoned while it ran: a replacement already serves the pool
                    self._retired.discard(me)
                    return
            # An idle thread must not keep its last task alive (its run, its store, their memory).
            item = fut = fn = args = kwargs = result = None  # type: ignore[assignment]
