"""``AutoExecutor``: ``execution_mode="local"`` cards run here, the rest on a remote executor.

``p.run(executor="auto")`` keeps data loading and light cards on this machine and sends the
cards that declare ``execution_mode = "modal"`` (or carry a ``resources["gpu"]``, or follow the
``llm_*`` rule) to Modal, in one run with one scheduling loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.local import LocalExecutor

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task, TaskResult
    from tensorrag.storage import ArtifactStore

__all__ = ["AutoExecutor", "remote_bound"]


def remote_bound(cls: Any, card_type: str, resources: dict[str, Any] | None) -> bool:
    """Whether ``auto`` sends a card to the remote executor: modal mode, a GPU request or an ``llm_*`` type."""
    mode = getattr(cls, "execution_mode", "local")
    return mode == "modal" or bool((resources or {}).get("gpu")) or card_type.startswith("llm_")


class AutoExecutor(Executor):
    """Route each task to ``local`` or ``remote`` by its card's ``execution_mode`` and resources.

    Args:
        local: where ``execution_mode="local"`` cards run (default a :class:`LocalExecutor`).
        remote: where the others run (default a ``ModalExecutor``).
    """

    name = "auto"
    in_process = True  # some tasks run here, so the engine keeps output capture ready

    def __init__(self, local: Executor | None = None, remote: Executor | None = None) -> None:
        if remote is None:
            from tensorrag.executors.modal import ModalExecutor

            remote = ModalExecutor()
        self.local = local or LocalExecutor()
        self.remote = remote
        self.max_workers = self.local.max_workers + self.remote.max_workers
        self._owner: dict[Future[TaskResult], Executor] = {}

    def pick(self, task: Task) -> Executor:
        """The executor for ``task``: remote for modal-mode cards, GPU requests and ``llm_*`` types."""
        card_type = str(task.card.get("card_type", ""))
        return self.remote if remote_bound(task.card_class, card_type, task.resources) else self.local

    def uri_mode(self, task: Task, store: ArtifactStore) -> bool:
        """As the chosen executor says."""
        return self.pick(task).uri_mode(task, store)

    def streams_logs_for(self, task: Task) -> bool:
        """As the chosen executor says."""
        return self.pick(task).streams_logs_for(task)

    def preflight(self, cards: list[type[BaseCard]]) -> None:
        """Check the remote-bound cards (by their class resources) with the remote executor."""
        self.preflight_nodes([(c, c.resources) for c in cards])

    def preflight_nodes(self, nodes: list[tuple[type[BaseCard], dict[str, Any]]]) -> None:
        """Check, before any node runs, each node's card with the executor its resources route it to.

        The engine calls this with every node's card and resources, so a node sent remote only by
        its own ``resources={"gpu": ...}`` is checked (credentials, image) before the local ones run.
        """
        remote = [c for c, res in nodes if remote_bound(c, c.card_type, res)]
        local = [c for c, res in nodes if not remote_bound(c, c.card_type, res)]
        self.local.preflight(local)
        if remote:
            self.remote.preflight(remote)

    def startup_allowance(self, card: type[BaseCard], resources: dict[str, Any]) -> float:
        """The remote executor's allowance for remote-bound nodes (queueing, cold start); none for local ones."""
        if not remote_bound(card, card.card_type, resources):
            return 0.0
        return self.remote.startup_allowance(card, resources)

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Submit to the chosen executor."""
        target = self.pick(task)
        fut = target.submit(task, events)
        self._owner[fut] = target
        fut.add_done_callback(lambda f: self._owner.pop(f, None))
        return fut

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel through the executor that runs it."""
        (self._owner.get(future) or self.local).cancel(future)

    def start(self) -> None:
        """Start both."""
        self.local.start()
        self.remote.start()

    def shutdown(self, wait: bool = True) -> None:
        """Shut both down."""
        self.local.shutdown(wait)
        self.remote.shutdown(wait)
