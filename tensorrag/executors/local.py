"""``LocalExecutor``: cards run in threads of this process."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import ConfigError
from tensorrag.executors import threads
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import run_task

if TYPE_CHECKING:
    from tensorrag.spec import Task, TaskResult

__all__ = ["LocalExecutor"]

_Item = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_IDLE_S = 10.0  # a spare thread idle this long exits (executors/threads.py)


class LocalExecutor(Executor):
    """Run cards in threads of this process: no serialisation, live logs and progress.

    A thread cannot be killed, so a card that times out or is cancelled is *abandoned*: its
    thread is retired (it leaves the pool when the card returns) and a fresh thread takes its place,
    so the executor keeps ``max_workers`` threads available for other tasks. Threads are taken on
    demand from the process's spare ones (:mod:`tensorrag.executors.threads`: threads earlier runs
    let go) or started, and go back as soon as nothing is queued; a spare idle for 10 s exits, so an
    executor dropped without :meth:`shutdown` leaves no threads.

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
        self._queue: deque[_Item] = deque()  # items not yet taken (changed under the lock)
        self._lock = threading.Lock()
        self._live = 0  # threads serving the pool (retired ones excluded)
        self._running: dict[Future[Any], threading.Thread] = {}
        self._retired: set[threading.Thread] = set()

    def start(self) -> None:
        """Threads start on demand: nothing to do (kept for the executor protocol)."""

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Run ``task`` on a pool thread."""
        on_log = (lambda line: events("log", line)) if events else None
        on_progress = (lambda cur, tot: events("progress", (cur, tot))) if events else None
        fut: Future[TaskResult] = Future()
        self._put((fut, run_task, (task,), {"on_log": on_log, "on_progress": on_progress}))
        return fut

    def lend(self, worker: Callable[[], None]) -> Future[None]:
        """Run an engine's worker loop on a pool thread (pull mode, see engine.py).

        The engine lends at most ``max_workers`` loops; one whose card timed out is retired with
        :meth:`cancel` on the returned future, as for a task, and the engine lends a replacement.
        """
        fut: Future[None] = Future()
        self._put((fut, worker, (), {}))
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
            if len(self._queue) > self._live:
                self._spawn()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel queued tasks; running ones finish (waited for when ``wait``); threads go back as spares."""
        with self._lock:
            drained = list(self._queue)
            self._queue.clear()
        for fut, *_ in drained:
            fut.cancel()
        if wait:
            futures.wait(list(self._running))

    def _put(self, item: _Item) -> None:
        with self._lock:
            self._queue.append(item)
            if len(self._queue) > self._live - len(self._running) and self._live < self.max_workers:
                self._spawn()  # more items than threads free to take them

    def _spawn(self) -> None:
        self._live += 1
        threads.start(self._work, lambda: _IDLE_S)  # a spare thread of an earlier run, or a new one

    def _work(self) -> None:
        """Take items until none is queued, then leave: the thread goes back to the process's spares."""
        me = threading.current_thread()
        while True:
            with self._lock:
                if not self._queue:
                    self._live -= 1
                    return
                fut, fn, args, kwargs = self._queue.popleft()
                if not fut.set_running_or_notify_cancel():
                    continue
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
            # A thread between tasks must not keep its last one alive (its run, its store, their memory).
            fut = fn = args = kwargs = result = None  # type: ignore[assignment]
