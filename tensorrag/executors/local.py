"""``LocalExecutor``: cards run in a thread pool of this process."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from tensorrag.config import get_settings
from tensorrag.errors import ConfigError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import run_task

if TYPE_CHECKING:
    from tensorrag.spec import Task, TaskResult

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Run cards in threads of this process: no serialisation, live logs and progress.

    Args:
        max_workers: threads (and so cards running at once); default ``TENSORRAG_MAX_WORKERS``
            or the CPU count (at least 4).
    """

    name = "local"
    in_process = True

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
            raise ConfigError(f"LocalExecutor(max_workers=...) must be a positive integer; got {max_workers!r}.")
        self.max_workers = max_workers or get_settings().max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Create the thread pool (once)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="tensorrag-card")

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Run ``task`` on a pool thread."""
        if self._pool is None:
            self.start()
        assert self._pool is not None
        on_log = (lambda line: events("log", line)) if events else None
        on_progress = (lambda cur, tot: events("progress", (cur, tot))) if events else None
        return self._pool.submit(run_task, task, on_log=on_log, on_progress=on_progress)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool (running cards finish when ``wait``)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
