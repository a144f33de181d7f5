"""What the executors on existing distributed engines (Dask, Ray) share: the remote entry and the future bridge.

A task travels as the bytes the process executor sends down its pipe (:func:`~tensorrag.executors.worker.dumps`
of the task's wire payload) and comes back the same way; both ends read with the unpickler that refuses every
class (:func:`~tensorrag.executors.worker.loads`), so the orchestrator never unpickles a model. The remote side
is :func:`entry`: the Modal worker's check that the worker runs the caller's tensorrag and card modules
(:func:`~tensorrag.executors.modal_images.mismatch`), then :func:`~tensorrag.executors.runtime.run_wire`, the
one worker entry every out-of-process executor ends in.

:class:`RemoteExecutor` is the engine-independent half of :class:`~tensorrag.executors.dask.DaskExecutor` and
:class:`~tensorrag.executors.ray.RayExecutor`: preflight (cards that can travel, resources the cluster has),
URI or payload mode, a ``concurrent.futures.Future`` per task resolved from the engine's own future, cancel and
shutdown. Subclasses say how to start the cluster, launch one call, cancel it and name its errors.
"""

from __future__ import annotations

import functools
import json
import threading
from abc import abstractmethod
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError, TaskCancelledError, TensorragError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.worker import dumps, loads
from tensorrag.spec import TaskResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task
    from tensorrag.storage import ArtifactStore

__all__ = ["RemoteExecutor", "entry", "gpu_count", "memory_bytes"]

#: Stores only this process can see: their bytes always travel in the payload.
_PROCESS_LOCAL = ("memory",)
#: Stores on this machine's disk: workers see them only where they share it.
_LOCAL_DISK = ("file", "local")
#: The handle of a call being launched (its future is registered before the call exists).
_LAUNCHING = object()
_GONE = object()


def entry(wire: bytes, expect: dict[str, Any] | None = None) -> bytes:
    """The remote worker entry: a task payload's bytes in, its result payload's bytes out.

    It never raises for a card's failure or a stale worker: both come back as a result with ``error`` set.
    """
    from tensorrag.executors.runtime import run_wire

    problem = _mismatch(json.dumps(expect, sort_keys=True) if expect else "")
    if problem:
        message = (f"this worker does not run the caller's code ({problem}): install the same tensorrag and card "
                   "modules on every worker of the cluster (or ship project cards as files)")
        return dumps(TaskResult(error={"type": "ExecutorError", "message": message, "traceback": ""}).to_wire())
    return dumps(run_wire(loads(wire)))


@functools.lru_cache(maxsize=32)
def _mismatch(expect_json: str) -> str | None:
    # Digesting the .py files of tensorrag costs milliseconds: once per expectation in a long-lived worker.
    from tensorrag.executors.modal_images import mismatch

    return mismatch(json.loads(expect_json)) if expect_json else None


def gpu_count(value: Any, where: str) -> float:
    """How many GPUs ``resources["gpu"]`` asks for: ``"T4"`` or ``True`` -> 1, ``"A100:2"`` or ``2`` -> 2, none -> 0.

    Raises:
        ConfigError: a value that is not a GPU name, a count or a ``NAME:COUNT``.
    """
    if value is None or value is False or value == 0:
        return 0
    if value is True:
        return 1
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    if isinstance(value, str) and value.strip():
        _, sep, count = value.rpartition(":")
        if not sep:
            return 1
        try:
            n = float(count)
        except ValueError:
            n = 0
        if n > 0:
            return n
    raise ConfigError(f"{where} must be a GPU name ('T4'), a count (2) or 'NAME:COUNT' ('A100:2'); got {value!r}.")


def memory_bytes(value: Any, where: str) -> int:
    """``resources["memory"]`` (MiB, as on Modal) in bytes; 0 when not set.

    Raises:
        ConfigError: not a positive number.
    """
    if value is None or value is False:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where} must be a positive number of MiB (e.g. 16384); got {value!r}.")
    return int(value * 2**20)


class RemoteExecutor(Executor):
    """Run tasks on a distributed engine's workers over the wire format (see the module docstring).

    Args:
        max_workers: tasks in flight at once (default: the cluster's worker threads or CPUs, read at start).
        shared_storage: whether every worker sees a local-disk store path (URI mode); ``None``: only when the
            workers run on this machine (a cluster this executor started). Object stores (``s3://``) are always
            read by the workers themselves; ``memory://`` never is (its bytes travel in the payload).
    """

    in_process = False
    streams_logs = False  # the engine replays each result's logs and progress
    #: The engine's name in messages ("Dask", "Ray") and its install extra.
    engine = "remote"
    extra = ""

    def __init__(self, max_workers: int | None = None, shared_storage: bool | None = None) -> None:
        if max_workers is not None and (
            not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
        ):
            raise ConfigError(
                f"{type(self).__name__}(max_workers=...) must be a positive integer; got {max_workers!r}."
            )
        if shared_storage not in (None, True, False):
            raise ConfigError(f"{type(self).__name__}(shared_storage=...) must be True, False or None; "
                              f"got {shared_storage!r}.")
        self._max_workers = max_workers
        self.max_workers = max_workers or 1
        self.shared_storage = shared_storage
        self._lock = threading.RLock()
        self._live: dict[Future[TaskResult], Any] = {}  # our future -> the engine's handle of the call
        self._started = False
        self._expect: dict[str, Any] | None = None
        self._modules: tuple[str, ...] = ("tensorrag",)

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def _connect(self) -> int:
        """Start or join the cluster; return how many tasks it runs at once (the default ``max_workers``)."""

    @abstractmethod
    def _disconnect(self) -> None:
        """Leave the cluster (and stop one this executor started)."""

    @abstractmethod
    def _same_host(self) -> bool:
        """Whether the workers run on this machine (and so see its disk)."""

    @abstractmethod
    def _check_resources(self, needs: list[tuple[str, dict[str, Any]]]) -> None:
        """Refuse, before the run, resources no worker has: ``needs`` is ``(node or card, resources)`` pairs."""

    @abstractmethod
    def _launch(self, task: Task, wire: bytes, expect: dict[str, Any] | None,
                done: Callable[[Callable[[], bytes]], None]) -> Any:
        """Start one call of :func:`entry`; call ``done(fetch)`` when it ends (``fetch()`` returns or raises)."""

    @abstractmethod
    def _cancel_call(self, handle: Any) -> None:
        """Stop one call (best effort)."""

    @abstractmethod
    def _translate(self, exc: BaseException, node_id: str) -> TensorragError:
        """The typed tensorrag error for the engine's exception ``exc`` about node ``node_id``."""

    # ------------------------------------------------------------------ executor API

    def start(self) -> None:
        """Start or join the cluster (idempotent)."""
        with self._lock:
            if self._started:
                return
            slots = self._connect()
            self._started = True
            self.max_workers = self._max_workers or max(1, int(slots))

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every call still running, then leave the cluster (stopping one this executor started)."""
        with self._lock:
            live, self._live = list(self._live.items()), {}
            started, self._started = self._started, False
        for fut, handle in live:
            self._cancel_quietly(handle)
            if not fut.done():
                fut.set_exception(TaskCancelledError(f"the {self.engine} executor shut down while the task ran"))
        if started:
            self._disconnect()

    def preflight_nodes(self, nodes: list[tuple[type[BaseCard], dict[str, Any]]]) -> None:
        """Refuse cards no worker could load and resources no worker has, before anything runs."""
        from tensorrag.executors.process import card_travel_problem
        from tensorrag.executors.runtime import card_ref

        cards = [card for card, _ in nodes]
        problems = [msg for msg in (card_travel_problem(c) for c in dict.fromkeys(cards)) if msg]
        if problems:
            raise CardDefinitionError(
                f"These cards cannot run on {self.engine} workers:\n  - " + "\n  - ".join(problems)
                + "\nMove them into an importable module (a .py file you import) installed on the workers, "
                "or run with executor='local'."
            )
        for card in cards:
            module = str(card_ref(card).get("module") or "")
            top = module.split(":")[0].split(".")[0]
            if top and top != "__main__" and top not in self._modules:
                self._modules = (*self._modules, top)
        self.start()
        from tensorrag.executors.modal_images import expectation

        expect = expectation(self._modules)  # per run: a card module edited since the last run is a new digest
        with self._lock:
            self._expect = expect
        self._check_resources([(card.card_type, res or {}) for card, res in nodes])

    def uri_mode(self, task: Task, store: ArtifactStore) -> bool:
        """Whether workers read and write ``store`` themselves (else artifact bytes travel in the payload)."""
        if store.protocol in _PROCESS_LOCAL:
            return False
        if store.protocol in _LOCAL_DISK:
            return self.shared_storage if self.shared_storage is not None else self._same_host()
        return True

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Send ``task`` to the cluster; the future resolves with its result, or a typed error."""
        self.start()
        outer: Future[TaskResult] = Future()
        outer.set_running_or_notify_cancel()
        wire = dumps(task.to_wire())
        node_id = task.node_id

        def done(fetch: Callable[[], bytes]) -> None:
            with self._lock:
                wanted = self._live.pop(outer, _GONE) is not _GONE
            if not wanted or outer.done():
                return  # cancelled or shut down: the node has already ended
            try:
                outer.set_result(TaskResult.from_wire(loads(fetch())))
            except BaseException as exc:
                if not outer.done():
                    outer.set_exception(self._typed(exc, node_id))

        with self._lock:
            self._live[outer] = _LAUNCHING  # registered first: a call that ends at once still finds itself
        try:
            handle = self._launch(task, wire, self._expect, done)
        except BaseException as exc:
            with self._lock:
                self._live.pop(outer, None)
            raise self._typed(exc, node_id) from exc
        with self._lock:
            cancelled = outer.done() and outer not in self._live
            if outer in self._live:
                self._live[outer] = handle
        if cancelled and outer.exception() is not None and isinstance(outer.exception(), TaskCancelledError):
            self._cancel_quietly(handle)  # cancelled while it was being launched
        return outer

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel the call behind ``future`` on the cluster; the future fails with ``TaskCancelledError`` now."""
        with self._lock:
            handle = self._live.pop(future, None)
        if not future.done():
            future.set_exception(TaskCancelledError(f"the {self.engine} task was cancelled"))
        if handle is not None:
            self._cancel_quietly(handle)

    # ------------------------------------------------------------------ helpers

    def _typed(self, exc: BaseException, node_id: str) -> TensorragError:
        if isinstance(exc, TensorragError):
            return exc
        err = self._translate(exc, node_id)
        err.__cause__ = exc
        return err

    def _cancel_quietly(self, handle: Any) -> None:
        if handle is None or handle is _LAUNCHING:
            return
        try:
            self._cancel_call(handle)
        except Exception:  # best effort: the node has already ended either way
            pass

    def _missing(self, what: str) -> ExecutorError:
        return ExecutorError(f"The {self.engine} executor needs {what}: pip install 'tensorrag[{self.extra}]'")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_workers={self.max_workers})"
