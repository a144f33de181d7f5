"""The running task's context, so card code can report progress without extra arguments."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TaskContext", "current_task", "report_progress"]


@dataclass
class TaskContext:
    """What the task runtime tells card code about the task it is running."""

    run_id: str
    node_id: str
    on_progress: Callable[[int, int], None] | None = None


current_task: ContextVar[TaskContext | None] = ContextVar("tensorrag_task", default=None)


def report_progress(current: int, total: int) -> None:
    """Report progress of the running card (shown as a bar on its node); no-op outside a run.

    Args:
        current: units done so far.
        total: units in all.
    """
    ctx = current_task.get()
    if ctx is not None and ctx.on_progress is not None:
        ctx.on_progress(int(current), int(total))
