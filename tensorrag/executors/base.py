"""The executor interface: run tasks, nothing else.

Executors do not schedule: the engine (:mod:`tensorrag.executors.engine`) owns the only
scheduling loop and hands ready tasks to ``submit``. An executor returns a
``concurrent.futures.Future`` that resolves to a :class:`~tensorrag.spec.TaskResult`; a card's
own failure is a result with ``error`` set, while an exception from the future means the
executor itself failed (the engine reports both as a failed node).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tensorrag.spec import Task, TaskResult

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.storage import ArtifactStore

__all__ = ["EventSink", "Executor"]

#: ``sink(kind, payload)`` with kind ``"log"`` (payload: a line) or ``"progress"`` ((current, total)).
EventSink = Callable[[str, Any], None]


class Executor(ABC):
    """Base class of executors. Subclasses implement :meth:`submit`.

    Attributes:
        name: registry name (``"local"``, ``"process"``, ...).
        max_workers: how many tasks may run at once; the engine never has more in flight.
        in_process: tasks may carry live objects (card class, store) instead of wire payloads.
    """

    name: str = "executor"
    max_workers: int = 1
    in_process: bool = False
    #: Logs and progress arrive live through ``events``; otherwise the engine replays ``result.logs``.
    streams_logs: bool = False

    @abstractmethod
    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Start ``task``; ``events`` receives live logs/progress where the executor can stream them."""

    def uri_mode(self, task: Task, store: ArtifactStore) -> bool:
        """Whether the worker for ``task`` reads and writes ``store`` itself (else bytes travel in the payload).

        The default: in-process executors always can; others can unless the store is process-local memory.
        """
        return self.in_process or store.protocol != "memory"

    def streams_logs_for(self, task: Task) -> bool:
        """Whether ``task``'s logs arrive live (else the engine replays ``result.logs`` when it ends)."""
        return self.streams_logs

    def preflight(self, cards: list[type[BaseCard]]) -> None:  # noqa: B027  # optional hook
        """Check, before a run starts, that every card can run here (raise ``CardDefinitionError`` if not)."""

    def preflight_nodes(self, nodes: list[tuple[type[BaseCard], dict[str, Any]]]) -> None:
        """:meth:`preflight` with each node's resources (the engine calls this); routing executors override it."""
        self.preflight([card for card, _ in nodes])

    def startup_allowance(self, card: type[BaseCard], resources: dict[str, Any]) -> float:
        """Seconds added to a node's timeout for queueing and cold start, which are not the card's time (0 here)."""
        return 0.0

    def cancel(self, future: Future[TaskResult]) -> None:
        """Try to stop a submitted task (best effort; threads cannot be interrupted)."""
        future.cancel()

    def start(self) -> None:  # noqa: B027  # optional hook, not abstract
        """Acquire resources before the first task (pools, remote apps). Idempotent."""

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027  # optional hook, not abstract
        """Release resources. The executor may be started again afterwards."""

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_workers={self.max_workers})"
