"""``RayExecutor``: run tasks as Ray remote tasks (``pip install 'tensorrag[ray]'``).

Each task is one call of :func:`tensorrag.executors.remote.entry` as a Ray task on the task's wire bytes (the
same payload and worker entry as the process and Modal executors). The cluster is ``ray.init(address)`` (e.g.
``"ray://head:10001"`` or ``"auto"``), a Ray already initialised in this process (left running at shutdown), or
by default a local Ray started here (``ray.init(num_cpus=...)``) and shut down at shutdown.

Resources: ``resources={"gpu": ...}`` becomes ``num_gpus`` (``"T4"`` -> 1, ``"A100:2"`` -> 2), ``cpu``
becomes ``num_cpus`` (default 1) and ``memory`` (MiB) Ray's ``memory`` in bytes; a node asking for more than
the whole cluster has fails the run before it starts (Ray would wait forever).

Cancel and timeouts stop the task for real: ``ray.cancel(ref, force=True)`` kills the worker process running
it. A worker that dies mid-task (``WorkerCrashedError``, out of memory, a lost node) is retried ``max_retries``
times by Ray, then the node fails with :class:`~tensorrag.errors.WorkerLostError`.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ConfigError, ExecutorError, TaskCancelledError, TensorragError, WorkerLostError
from tensorrag.executors.remote import RemoteExecutor, entry, gpu_count, memory_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.spec import Task

__all__ = ["RayExecutor", "ray_options"]

_init_lock = threading.Lock()


def ray_options(resources: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The Ray task options a node's ``resources`` ask for (``num_cpus``, ``num_gpus``, ``memory`` in bytes).

    Raises:
        ConfigError: a malformed ``gpu``, ``memory`` or ``cpu``.
    """
    cpu = resources.get("cpu", 1)
    if isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or cpu < 0:
        raise ConfigError(f"node {node_id!r} resources['cpu'] must be a number of cores (e.g. 2); got {cpu!r}.")
    out: dict[str, Any] = {"num_cpus": cpu}
    gpus = gpu_count(resources.get("gpu"), f"node {node_id!r} resources['gpu']")
    if gpus:
        out["num_gpus"] = gpus
    mem = memory_bytes(resources.get("memory"), f"node {node_id!r} resources['memory']")
    if mem:
        out["memory"] = mem
    return out


class RayExecutor(RemoteExecutor):
    """Run every task as a Ray remote task (see the module docstring).

    Args:
        address: ``ray.init(address)``: ``"auto"``, ``"ray://head:10001"``, ...; ``None`` (default): a Ray
            already initialised here, else a local one started here (and shut down at shutdown).
        num_cpus: CPUs of the default local Ray (default: this machine's).
        max_workers: tasks in flight at once (default: the cluster's CPUs when it starts).
        max_retries: Ray's retries of a task whose worker died (its own default is 3).
        shared_storage: whether workers see a local-disk store (default: only a local Ray does); object
            stores are always read by the workers themselves.
        init_options: more keyword arguments for ``ray.init``.
    """

    name = "ray"
    engine = "Ray"
    extra = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_workers: int | None = None,
        max_retries: int = 3,
        shared_storage: bool | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(max_workers=max_workers, shared_storage=shared_storage)
        if address is not None and not isinstance(address, str):
            raise ConfigError(f"RayExecutor(address=...) must be a Ray address or None; got {type(address).__name__}.")
        if num_cpus is not None and (not isinstance(num_cpus, int) or isinstance(num_cpus, bool) or num_cpus < 1):
            raise ConfigError(f"RayExecutor(num_cpus=...) must be a positive integer; got {num_cpus!r}.")
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigError(f"RayExecutor(max_retries=...) must be an integer >= 0; got {max_retries!r}.")
        self.address, self.num_cpus, self.max_retries = address, num_cpus, max_retries
        self.init_options = dict(init_options or {})
        self._owns_ray = False
        self._local = address is None
        self._remote: Any = None

    # ------------------------------------------------------------------ the cluster

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise self._missing("ray") from exc
        return ray

    def _connect(self) -> int:
        ray = self._ray()
        with _init_lock:
            if ray.is_initialized():
                self._owns_ray = False  # someone else's Ray: use it, leave it running
            else:
                options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                           "ignore_reinit_error": True}
                if self.address is None:
                    # Local workers import what this interpreter imports (a script's folder, a notebook's path).
                    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
                    options.update(num_cpus=self.num_cpus, runtime_env=env)
                else:
                    options["address"] = self.address
                options.update(self.init_options)
                try:
                    self._init(ray, options)
                except Exception as exc:
                    where = f"Joining the Ray cluster at {self.address!r}" if self.address else "Starting a local Ray"
                    hint = ("check the address (`ray status` on the head node), or use RayExecutor() for a local Ray"
                            if self.address else "its processes did not come up (twice; a busy machine?): run again, "
                            "or start Ray yourself (`ray start --head`) and pass RayExecutor('auto')")
                    raise ExecutorError(
                        f"{where} failed: {type(exc).__name__}: {str(exc).rstrip('.')}. Fix: {hint}."
                    ) from exc
                self._owns_ray = True
                self._local = self.address is None or any(m in self.address for m in ("127.", "localhost"))
            self._remote = ray.remote(entry)
        return int(ray.cluster_resources().get("CPU", 1))

    def _init(self, ray: Any, options: dict[str, Any]) -> None:
        attempts = 2 if self.address is None else 1
        for attempt in range(attempts):
            try:
                ray.init(**options)
                return
            except Exception:
                # A local Ray's agents can miss its 30 s start-up window on a busy machine: try once more.
                try:
                    ray.shutdown()
                except Exception:  # nothing started that needs stopping
                    pass
                if attempt == attempts - 1:
                    raise

    def _disconnect(self) -> None:
        self._remote = None
        if self._owns_ray:
            self._owns_ray = False
            try:
                self._ray().shutdown()
            except Exception:  # its processes stop with it either way
                pass

    def _same_host(self) -> bool:
        return self._local

    def _check_resources(self, needs: list[tuple[str, dict[str, Any]]]) -> None:
        total = self._ray().cluster_resources()
        names = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}
        for who, res in needs:
            for option, amount in ray_options(res, who).items():
                have = float(total.get(names[option], 0))
                if amount > have:
                    raise ConfigError(
                        f"{who!r} needs {option}={amount:g}, but the whole Ray cluster has {names[option]}={have:g}, "
                        "so Ray would never start it. Add nodes that have it (`ray start --num-gpus=1 ...`), or "
                        "lower the node's resources."
                    )

    # ------------------------------------------------------------------ one call

    def _launch(self, task: Task, wire: bytes, expect: dict[str, Any] | None,
                done: Callable[[Callable[[], bytes]], None]) -> Any:
        options = ray_options(task.resources or {}, task.node_id)
        ref = self._remote.options(**options, max_retries=self.max_retries, name=f"tensorrag:{task.node_id}").remote(
            wire, expect
        )
        ref.future().add_done_callback(lambda f: done(f.result))
        return ref

    def _cancel_call(self, handle: Any) -> None:
        self._ray().cancel(handle, force=True)

    def _translate(self, exc: BaseException, node_id: str) -> TensorragError:
        import concurrent.futures

        from ray import exceptions as rx

        lost = tuple(getattr(rx, n) for n in ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError",
                                              "ObjectLostError", "RaySystemError") if hasattr(rx, n))
        if isinstance(exc, lost):
            return WorkerLostError(
                f"node {node_id!r}: the Ray worker running it died ({type(exc).__name__}: {exc}); the node failed, "
                f"the run goes on (after {self.max_retries} retries). A crash like this usually means the card ran "
                "out of memory (raise resources={'memory': MiB}) or crashed native code."
            )
        if isinstance(exc, (rx.TaskCancelledError, concurrent.futures.CancelledError)):
            return TaskCancelledError(f"node {node_id!r}: its Ray task was cancelled ({exc}).")
        if isinstance(exc, rx.RayTaskError):
            cause = getattr(exc, "cause", None)
            return ExecutorError(
                f"node {node_id!r}: the Ray task failed outside the card: {type(cause or exc).__name__}: {cause or exc}"
            )
        return ExecutorError(f"node {node_id!r}: the Ray task failed: {type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        return f"RayExecutor({self.address or 'local'!r}, max_workers={self.max_workers})"
