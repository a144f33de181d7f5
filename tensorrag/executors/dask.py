"""``DaskExecutor``: run tasks on a Dask distributed cluster (``pip install 'tensorrag[dask]'``).

Each task is one ``client.submit`` of :func:`tensorrag.executors.remote.entry` on the task's wire bytes (the
same payload and worker entry as the process and Modal executors). The cluster is an address
(``"tcp://scheduler:8786"``), a ``distributed.Client`` you made, or by default a ``LocalCluster`` of worker
processes that this executor starts and closes at shutdown.

Resources: ``resources={"gpu": ...}`` becomes the Dask worker resource ``GPU`` (``"T4"`` -> 1, ``"A100:2"``
-> 2; start GPU workers with ``dask worker --resources GPU=1``), ``memory`` (MiB) becomes ``MEMORY`` in bytes
and ``cpu`` becomes ``CPU``. A GPU no worker declares fails the run before it starts; ``MEMORY`` and ``CPU``
are requested only from clusters whose workers declare them (elsewhere Dask does not account for them).

Limits: Dask cannot interrupt a running task, so a cancelled or timed-out node ends at once but its worker
thread finishes the card in the background; its result is dropped and it never commits a cache entry. A worker
that dies mid-task makes Dask retry the task elsewhere up to ``distributed.scheduler.allowed-failures`` times,
then the node fails with :class:`~tensorrag.errors.WorkerLostError`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ConfigError, ExecutorError, TaskCancelledError, TensorragError, WorkerLostError
from tensorrag.executors.remote import RemoteExecutor, entry, gpu_count, memory_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.spec import Task

__all__ = ["DaskExecutor", "dask_resources"]

_LOOPBACK = ("127.", "localhost", "inproc://", "[::1]")


def dask_resources(resources: dict[str, Any], node_id: str) -> dict[str, float]:
    """The Dask worker resources a node's ``resources`` ask for (``GPU``, ``MEMORY`` in bytes, ``CPU``).

    Raises:
        ConfigError: a malformed ``gpu``, ``memory`` or ``cpu``.
    """
    out: dict[str, float] = {}
    gpus = gpu_count(resources.get("gpu"), f"node {node_id!r} resources['gpu']")
    if gpus:
        out["GPU"] = gpus
    mem = memory_bytes(resources.get("memory"), f"node {node_id!r} resources['memory']")
    if mem:
        out["MEMORY"] = float(mem)
    cpu = resources.get("cpu")
    if cpu is not None:
        if isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or cpu <= 0:
            raise ConfigError(f"node {node_id!r} resources['cpu'] must be a positive number of cores; got {cpu!r}.")
        out["CPU"] = float(cpu)
    return out


class DaskExecutor(RemoteExecutor):
    """Run every task on a Dask distributed cluster (see the module docstring).

    Args:
        address: a scheduler address, a ``distributed.Client``, or ``None`` (default) for a ``LocalCluster``
            of worker processes started here (and closed at shutdown).
        n_workers: worker processes of the default ``LocalCluster``.
        threads_per_worker: threads of each of its workers.
        max_workers: tasks in flight at once (default: the cluster's threads when it starts).
        shared_storage: whether workers see a local-disk store (default: only a ``LocalCluster`` or a
            scheduler on this machine does); object stores are always read by the workers themselves.
        cluster_options: more keyword arguments for the default ``LocalCluster``.
    """

    name = "dask"
    engine = "Dask"
    extra = "dask"

    def __init__(
        self,
        address: Any = None,
        *,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        max_workers: int | None = None,
        shared_storage: bool | None = None,
        cluster_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(max_workers=max_workers, shared_storage=shared_storage)
        if address is not None and not isinstance(address, str) and not hasattr(address, "submit"):
            raise ConfigError(f"DaskExecutor(address=...) must be a scheduler address, a distributed.Client or "
                              f"None; got {type(address).__name__}.")
        for label, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"DaskExecutor({label}=...) must be a positive integer; got {value!r}.")
        self.address = address
        self.n_workers, self.threads_per_worker = n_workers, threads_per_worker
        self.cluster_options = dict(cluster_options or {})
        self.client: Any = None
        self.cluster: Any = None
        self._owns_client = False
        self._declared_memo: list[dict[str, float]] | None = None

    # ------------------------------------------------------------------ the cluster

    def _connect(self) -> int:
        try:
            import distributed
        except ImportError as exc:
            raise self._missing("dask.distributed") from exc
        if self.address is not None and not isinstance(self.address, str):
            self.client, self._owns_client = self.address, False
        else:
            try:
                if self.address is None:
                    self.cluster = distributed.LocalCluster(
                        **{"n_workers": self.n_workers, "threads_per_worker": self.threads_per_worker,
                           "processes": True, "dashboard_address": None, **self.cluster_options})
                    self.client = distributed.Client(self.cluster, set_as_default=False)
                else:
                    self.client = distributed.Client(self.address, set_as_default=False, timeout="10s")
            except Exception as exc:
                self._close_cluster()
                raise self._start_error(exc) from exc
            self._owns_client = True
        info = self.client.scheduler_info()
        return sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()) or 1

    def _start_error(self, exc: BaseException) -> ExecutorError:
        where = f"the Dask scheduler at {self.address!r}" if self.address else "a local Dask cluster"
        hint = ("check the address and that the scheduler runs (`dask scheduler`)" if self.address else
                "if the script has no `if __name__ == '__main__':` guard, the worker processes re-import it: add "
                "one around the run, or pass DaskExecutor(cluster_options={'processes': False})")
        return ExecutorError(f"Starting {where} failed: {type(exc).__name__}: {str(exc).rstrip('.')}. Fix: {hint}.")

    def _disconnect(self) -> None:
        client, self.client, self._declared_memo = self.client, None, None
        if client is not None and self._owns_client:
            try:
                client.close()
            except Exception:  # leaving a cluster that is already gone
                pass
        self._close_cluster()

    def _close_cluster(self) -> None:
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            try:
                cluster.close()
            except Exception:  # its processes die with it either way
                pass

    def _same_host(self) -> bool:
        if self.cluster is not None:
            return True
        address = str(getattr(getattr(self.client, "scheduler", None), "address", "") or self.address or "")
        return any(mark in address for mark in _LOOPBACK)

    def _declared(self) -> list[dict[str, float]]:
        info = self.client.scheduler_info()
        return [dict(w.get("resources") or {}) for w in info.get("workers", {}).values()]

    def _check_resources(self, needs: list[tuple[str, dict[str, Any]]]) -> None:
        declared = self._declared()
        for who, res in needs:
            ask = dask_resources(res, who)
            if not ask:
                continue
            wanted = {k: v for k, v in ask.items() if k == "GPU" or any(k in d for d in declared)}
            if wanted and not any(all(d.get(k, 0) >= v for k, v in wanted.items()) for d in declared):
                have = "; ".join(sorted({", ".join(f"{k}={v:g}" for k, v in d.items()) or "none" for d in declared}))
                raise ConfigError(
                    f"{who!r} needs Dask worker resources {', '.join(f'{k}={v:g}' for k, v in wanted.items())}, "
                    f"but no worker of the cluster has them (workers declare: {have or 'no workers'}). Start "
                    "workers with `dask worker SCHEDULER --resources \"GPU=1\"` (or LocalCluster(resources=...)), "
                    "or drop the node's resources."
                )

    # ------------------------------------------------------------------ one call

    def _launch(self, task: Task, wire: bytes, expect: dict[str, Any] | None,
                done: Callable[[Callable[[], bytes]], None]) -> Any:
        declared = self._declared_cached()
        ask = dask_resources(task.resources or {}, task.node_id)
        resources = {k: v for k, v in ask.items() if k == "GPU" or any(k in d for d in declared)} or None
        key = f"tensorrag-{task.node_id}-{uuid.uuid4().hex[:12]}"
        future = self.client.submit(entry, wire, expect, key=key, pure=False, resources=resources)
        future.add_done_callback(lambda f: done(f.result))
        return future

    def _declared_cached(self) -> list[dict[str, float]]:
        cached = self._declared_memo
        if cached is None:
            cached = self._declared_memo = self._declared()
        return cached

    def _cancel_call(self, handle: Any) -> None:
        client = self.client
        if client is not None:
            client.cancel([handle], reason="tensorrag cancelled the node")

    def _translate(self, exc: BaseException, node_id: str) -> TensorragError:
        import asyncio

        from distributed.scheduler import KilledWorker

        if isinstance(exc, KilledWorker):
            return WorkerLostError(
                f"node {node_id!r}: the Dask worker running it died ({exc}); the node failed, the run goes on. "
                "A crash like this usually means the card ran out of memory or crashed native code; Dask retries "
                "a task on another worker up to `distributed.scheduler.allowed-failures` times."
            )
        if isinstance(exc, asyncio.CancelledError):
            return TaskCancelledError(f"node {node_id!r}: its Dask task was cancelled on the cluster ({exc}).")
        if isinstance(exc, (OSError, TimeoutError)) or "CommClosedError" in type(exc).__name__:
            return WorkerLostError(
                f"node {node_id!r}: the connection to the Dask cluster was lost ({type(exc).__name__}: {exc}); "
                "check that the scheduler and its workers are still running."
            )
        return ExecutorError(f"node {node_id!r}: the Dask task failed outside the card: {type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        where = self.address if isinstance(self.address, str) else "LocalCluster" if self.address is None else "client"
        return f"DaskExecutor({where!r}, max_workers={self.max_workers})"

