"""``ModalExecutor``: run cards on Modal's serverless CPUs and GPUs (``pip install 'tensorrag[modal]'``).

The app (:mod:`tensorrag.executors.modal_app`) holds the worker entry ``run_task`` (CPU image) and
``run_task_gpu`` (the same entry on a CUDA image). Either it is deployed once (``tensorrag modal
deploy``; default name ``tensorrag``), or, with ``ephemeral=True`` (the default when no deployed
app is found), the executor starts it with ``app.run()`` for the run, with the pipeline's card
modules added to the image, and stops it at shutdown. Every call picks its options — GPU, timeout,
CPU, memory, secrets, region — with ``with_options``. Routing (:meth:`ModalExecutor.route`): a
node's ``resources`` win; otherwise ``llm_*`` card types go to a GPU (``T4``, 600 s), the rest to
CPU (300 s).

Calls are spawned once and polled (:mod:`tensorrag.executors.modal_calls`): transient errors retry
the poll of the same call, never a second spawn; Modal's terminal errors end the node at once; a
cancelled run, :meth:`~ModalExecutor.shutdown`, an exception in the poll thread or interpreter exit
cancel the remote calls. The local deadline adds ``startup_timeout`` (queueing, cold start) to the
card's timeout, as Modal's own timeout does not count them. Artifacts travel in the call payload
(bytes, at most ``max_payload_mb``) unless the store is an S3 bucket the containers can reach and
a ``secret`` gives them credentials; then only URIs travel.

Everything Modal-specific sits behind one seam, :class:`ModalTransport`; tests swap in
:class:`~tensorrag.executors.modal_local.LocalProcessTransport`.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError, TaskCancelledError, TaskTimeoutError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.modal_calls import CallHandle, TransientModalError, dashboard_url, track, untrack
from tensorrag.executors.modal_local import LocalProcessTransport, artifact_bytes
from tensorrag.executors.modal_options import check_gpu, private_endpoint, without_credentials
from tensorrag.executors.modal_real import AppNotDeployedError, RealModalTransport
from tensorrag.executors.runtime import card_ref
from tensorrag.spec import TaskResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task
    from tensorrag.storage import ArtifactStore

__all__ = ["CallHandle", "LocalProcessTransport", "ModalExecutor", "ModalTransport", "RealModalTransport", "Route"]

CPU_FUNCTION = "run_task"
GPU_FUNCTION = "run_task_gpu"
#: Stores whose URLs a Modal container can open itself (the images have s3fs; credentials in a modal.Secret).
_REACHABLE = ("s3", "s3a")
#: Reserved for the engine's own deadline: the executor's poll loop gives the remote this much grace.
_GRACE_S = 30.0
#: Default reservations (Modal's own default is 0.125 cores and 128 MiB: most cards would OOM-loop).
_CPU_DEFAULTS = {"cpu": 1.0, "memory": 2048}
_GPU_DEFAULTS = {"cpu": 4.0, "memory": 16384}
_CRASH_HINT = ("If the container kept restarting (out of memory, or a crash before the card started), raise "
               "resources={'memory': MiB}; the dashboard shows its logs")
_CANCELLED = "cancelled"
_TransientError = TransientModalError  # the name earlier tests and transports used


class ModalTransport(Protocol):
    """The seam between the executor and Modal: spawn a call of a function with options."""

    def check(self, app_name: str) -> None:
        """Fail fast, with what is missing and how to fix it, when calls cannot work.

        Raises:
            AppNotDeployedError: credentials work but the app is not deployed (ephemeral mode can help).
        """

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any],
              expect: dict[str, Any] | None = None) -> CallHandle:
        """Start ``function`` of ``app_name`` on ``payload`` with per-call ``options``."""


@dataclass(frozen=True)
class Route:
    """Where one task runs: the function and its per-call options."""

    function: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def timeout(self) -> float:
        """The call's timeout in seconds."""
        return float(self.options.get("timeout", 300))


class ModalExecutor(Executor):
    """Run every task on Modal (see the module docstring).

    Args:
        app_name: the app (default ``TENSORRAG_MODAL_APP`` or ``"tensorrag"``).
        gpu: the GPU for GPU-routed cards without their own ``resources["gpu"]`` (Modal's names).
        cpu_timeout: default timeout (s) of CPU calls.
        gpu_timeout: default timeout (s) of GPU calls.
        max_workers: calls in flight at once.
        secret: a ``modal.Secret`` with the object store's credentials (enables URI mode).
        secrets: more ``modal.Secret`` names every call gets (e.g. a Hugging Face token).
        retries: attempts after the first for transient errors (connection, internal, rate limits).
        backoff: first retry delay in seconds (doubles each time).
        poll: seconds between result polls.
        modules: your own modules in the image (deployed with ``tensorrag modal deploy --module``;
            in ephemeral mode added automatically), whose cards may then run remotely.
        ephemeral: ``True``: start the app for this executor's runs (``app.run()``), no deploy step;
            ``False``: use the deployed app; ``None`` (default): the deployed app if there is one.
        hf_volume: a ``modal.Volume`` (created if missing) mounted at ``HF_HOME``, so containers
            keep downloaded model weights.
        startup_timeout: seconds a call may wait for a container (queueing, image pull, cold
            start), on top of the card's timeout.
        max_containers: at most this many containers per function and options (``None``: Modal's).
        region: Modal region(s) to run in (``"us-east"``, ``["us", "eu"]``; adds Modal's region price).
        cpu: CPU cores reserved per CPU call (GPU calls: 4); a node's ``resources["cpu"]`` wins.
        memory: MiB reserved per CPU call (GPU calls: 16384); a node's ``resources["memory"]`` wins.
        max_payload_mb: largest artifact bytes one call may carry in payload mode (each way).
        restrict_modal_access: ephemeral app only: containers cannot use Modal's API (untrusted cards).
        block_network: ephemeral app only: containers have no network (payload mode only).
        transport: the seam to Modal (default: the real one).
    """

    name = "modal"
    in_process = False
    streams_logs = False

    def __init__(
        self,
        app_name: str | None = None,
        *,
        gpu: str = "T4",
        cpu_timeout: float = 300,
        gpu_timeout: float = 600,
        max_workers: int = 32,
        secret: str | None = None,
        secrets: Sequence[str] = (),
        retries: int = 2,
        backoff: float = 1.0,
        poll: float = 1.0,
        modules: tuple[str, ...] | list[str] = (),
        ephemeral: bool | None = None,
        hf_volume: str | None = None,
        startup_timeout: float = 600,
        max_containers: int | None = None,
        region: str | Sequence[str] | None = None,
        cpu: float = _CPU_DEFAULTS["cpu"],
        memory: int = int(_CPU_DEFAULTS["memory"]),
        max_payload_mb: float = 256,
        restrict_modal_access: bool = False,
        block_network: bool = False,
        transport: ModalTransport | None = None,
    ) -> None:
        settings = get_settings()
        if not settings.modal_enabled:
            raise ConfigError("Modal is disabled (MODAL_ENABLED=false); use executor='local' or 'process'.")
        if max_workers < 1 or retries < 0 or poll <= 0 or startup_timeout < 0 or max_payload_mb <= 0:
            raise ConfigError("ModalExecutor needs max_workers >= 1, retries >= 0, poll > 0, startup_timeout >= 0 "
                              "and max_payload_mb > 0.")
        self.app_name = app_name or settings.modal_app
        self.gpu = check_gpu(gpu, "ModalExecutor(gpu=...)")
        self.cpu_timeout, self.gpu_timeout = float(cpu_timeout), float(gpu_timeout)
        self.max_workers = max_workers
        self.secret = secret
        self.secrets: tuple[str, ...] = tuple(dict.fromkeys([*([secret] if secret else []), *secrets]))
        self.retries, self.backoff, self.poll = retries, backoff, poll
        self.transport: ModalTransport = transport or RealModalTransport()
        self.modules: tuple[str, ...] = ("tensorrag", *modules)
        self.ephemeral = ephemeral
        self.hf_volume = hf_volume
        self.startup_timeout = float(startup_timeout)
        self.max_containers, self.region = max_containers, region
        self.cpu, self.memory = float(cpu), int(memory)
        self.max_payload_bytes = int(max_payload_mb * 2**20)
        self.restrict_modal_access, self.block_network = restrict_modal_access, block_network
        self._lock = threading.Lock()
        self._handles: dict[Future[TaskResult], CallHandle] = {}
        self._cancelled: set[Future[TaskResult]] = set()
        self._stopped: set[int] = set()  # ids of handles already cancelled
        self._checked = False
        self._check_lock = threading.Lock()
        self._expect: dict[str, Any] | None = None
        self._run_modules: tuple[str, ...] = ()  # card modules of the pipelines seen (ephemeral image)

    # ------------------------------------------------------------------ routing

    def route(self, task: Task) -> Route:
        """The function and options for ``task``: its resources, else the ``llm_*`` -> GPU rule.

        Raises:
            ConfigError: ``resources["gpu"]`` is not one of Modal's GPU names.
        """
        res = task.resources or {}
        card_type = str(task.card.get("card_type", ""))
        gpu = res.get("gpu")
        if gpu is None and card_type.startswith("llm_"):
            gpu = self.gpu
        elif gpu is not None and gpu is not False:
            gpu = check_gpu(gpu, f"node {task.node_id!r} resources['gpu']")
        defaults = _GPU_DEFAULTS if gpu else {"cpu": self.cpu, "memory": self.memory}
        timeout = float(res.get("timeout", self.gpu_timeout if gpu else self.cpu_timeout))
        options: dict[str, Any] = {}
        if gpu:
            options["gpu"] = gpu
        options["timeout"] = max(1, math.ceil(timeout))  # Modal takes whole seconds, at least 1
        options["cpu"] = float(res.get("cpu") or defaults["cpu"])
        options["memory"] = int(res.get("memory") or defaults["memory"])
        if self.secrets:
            options["secrets"] = list(self.secrets)  # per call: a deployed app need not have been given them
        if self.hf_volume:
            options["hf_volume"] = self.hf_volume
        if self.max_containers:
            options["max_containers"] = int(self.max_containers)
        if self.region:
            options["region"] = self.region
        return Route(GPU_FUNCTION if gpu else CPU_FUNCTION, options)

    def startup_allowance(self, card: type[BaseCard], resources: dict[str, Any]) -> float:
        """Seconds the engine adds to a node's timeout: Modal's timeout does not count queueing or cold start."""
        return self.startup_timeout

    # ------------------------------------------------------------------ executor API

    def uri_mode(self, task: Task, store: ArtifactStore) -> bool:
        """URIs only when containers can open the store themselves: S3, a secret, an endpoint they can reach."""
        if self.secret is None or store.protocol not in _REACHABLE:
            return False
        return getattr(self.transport, "same_host", False) or private_endpoint(store.options or {}) is None

    def preflight(self, cards: list[type[BaseCard]]) -> None:
        """Check that every card is in the image (or can be added to an ephemeral one), then credentials and app."""
        problems, extra = [], []
        for cls in dict.fromkeys(cards):
            ref = card_ref(cls)
            module = str(ref.get("module", ""))
            top = module.split(".")[0].split(":")[0]
            if ref.get("source") or top in self.modules:
                continue
            if self.ephemeral is not False and top and top != "__main__":
                extra.append(top)  # an ephemeral app can carry it (decided at the check below)
                continue
            problems.append(f"{cls.card_type!r} ({module or cls.__qualname__}) is not in the deployed image")
        if problems:
            raise CardDefinitionError(
                "These cards cannot run on Modal:\n  - " + "\n  - ".join(problems) + "\nDeploy their module with the "
                "app (tensorrag modal deploy --module YOUR_MODULE) and pass ModalExecutor(modules=...), run with "
                "ModalExecutor(ephemeral=True), or keep them local with executor='auto' and execution_mode='local'."
            )
        self._run_modules = tuple(dict.fromkeys([*self._run_modules, *extra]))
        self._check()
        if extra and not self.ephemeral:
            names = ", ".join(sorted(set(extra)))
            raise CardDefinitionError(
                f"Cards from {names} are not in the deployed app {self.app_name!r}: redeploy with "
                f"`tensorrag modal deploy{''.join(' --module ' + m for m in sorted(set(extra)))}` and pass "
                "ModalExecutor(modules=...), or run with ModalExecutor(ephemeral=True)."
            )

    def _check(self) -> None:
        # Once per executor, before the first call, however the task got here (e.g. "auto" routing a GPU node).
        with self._check_lock:
            if self._checked:
                return
            try:
                self.transport.check(self.app_name) if not self.ephemeral else self._check_token()
            except AppNotDeployedError:
                if self.ephemeral is False:
                    raise
                self.ephemeral = True  # no deployed app: start one for the run
            self._expect = self._expectation()
            self._checked = True

    def _check_token(self) -> None:
        check_token = getattr(self.transport, "check_token", None)
        if check_token is not None:
            check_token()

    def _expectation(self) -> dict[str, Any] | None:
        if self.ephemeral:
            return None  # the app is built from this machine's files: nothing to compare
        from tensorrag.executors.modal_images import expectation

        return {**expectation(self.modules), "max_result_bytes": self.max_payload_bytes}

    def _ensure_app(self) -> None:
        if not self.ephemeral:
            return
        start = getattr(self.transport, "start_ephemeral", None)
        if start is None:
            return  # a transport without apps (LocalProcessTransport): calls run as they are
        with self._check_lock:
            start(self.app_name, self.app_spec())

    def app_spec(self) -> dict[str, Any]:
        """What an ephemeral app is built with: modules, secrets, volume, startup timeout, isolation."""
        return {"modules": tuple(dict.fromkeys([*self.modules[1:], *self._run_modules])), "secrets": self.secrets,
                "hf_volume": self.hf_volume, "startup_timeout": max(1, math.ceil(self.startup_timeout)),
                "restrict_modal_access": self.restrict_modal_access, "block_network": self.block_network}

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Spawn the remote call and poll it on a daemon thread (it never keeps the process alive)."""
        route = self.route(task)
        payload = task.to_wire()
        if payload.get("storage"):
            opts = payload["storage"].get("options") or {}
            payload["storage"] = {**payload["storage"], "options": without_credentials(opts)}
        size = artifact_bytes(payload.get("inputs", {}))
        if size > self.max_payload_bytes:
            raise ExecutorError(
                f"node {task.node_id!r}: its inputs are {size / 2**20:.0f} MiB, over the payload limit of "
                f"{self.max_payload_bytes / 2**20:.0f} MiB for one Modal call. Run with an s3:// store and "
                "ModalExecutor(secret=...) so containers read artifacts from the bucket, or raise max_payload_mb."
            )
        outer: Future[TaskResult] = Future()
        outer.set_running_or_notify_cancel()

        def call() -> None:
            try:
                outer.set_result(self._call(outer, task.node_id, route, payload, events))
            except BaseException as exc:
                if not outer.done():
                    outer.set_exception(exc)

        threading.Thread(target=call, name=f"tensorrag-modal-{task.node_id}", daemon=True).start()
        return outer

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel the remote call behind ``future`` (and stop polling it)."""
        with self._lock:
            self._cancelled.add(future)
            handle = self._handles.get(future)
        if not future.done():
            future.set_exception(TaskCancelledError("the Modal call was cancelled"))
        if handle is not None:
            self._stop(handle)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every call still running and stop an ephemeral app (its containers stop billing)."""
        with self._lock:
            live = list(self._handles.items())
            self._cancelled.update(f for f, _ in live)
        for _, handle in live:
            self._stop(handle)
        stop = getattr(self.transport, "stop_ephemeral", None)
        if stop is not None:
            stop()

    def _stop(self, handle: CallHandle) -> None:
        """Cancel ``handle`` once (cancel, shutdown and the poll thread's own exit may all ask)."""
        with self._lock:
            if id(handle) in self._stopped:
                return
            self._stopped.add(id(handle))
        untrack(handle)
        _cancel_quietly(handle)

    # ------------------------------------------------------------------ one call

    def _spawn(self, fut: Future[TaskResult], node_id: str, route: Route, payload: dict[str, Any]) -> CallHandle:
        """Spawn, retrying only a spawn that failed (then no call exists that could run twice)."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            if fut in self._cancelled:
                raise TaskCancelledError(f"node {node_id!r}: cancelled before its Modal call started")
            try:
                return self.transport.spawn(self.app_name, route.function, payload, dict(route.options), self._expect)
            except TransientModalError as exc:
                if attempt == self.retries:
                    raise ExecutorError(
                        f"node {node_id!r}: starting the Modal call failed after {attempt + 1} attempts: {exc}. "
                        "Check the network and https://status.modal.com, then run again."
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, fut: Future[TaskResult], node_id: str, route: Route, payload: dict[str, Any],
              events: EventSink | None) -> TaskResult:
        self._check()  # a missing token or app fails the node with the fix, not Modal's raw error
        self._ensure_app()
        handle = self._spawn(fut, node_id, route, payload)
        track(handle)
        with self._lock:
            self._handles[fut] = handle
        url = dashboard_url(handle.call_id) if handle.call_id else "no dashboard: a local call"
        try:
            if events is not None and handle.call_id:  # the dashboard has the container's logs and restarts
                events("log", f"[modal] call {handle.call_id} on {route.function} {route.options.get('gpu', 'CPU')}: "
                              f"{url}")
            return self._wait(fut, node_id, route, handle, url)
        except BaseException:
            self._stop(handle)  # any way out but a result: the container must not keep billing
            raise
        finally:
            untrack(handle)
            with self._lock:
                self._handles.pop(fut, None)
                self._cancelled.discard(fut)
                self._stopped.discard(id(handle))

    def _wait(self, fut: Future[TaskResult], node_id: str, route: Route, handle: CallHandle, url: str) -> TaskResult:
        deadline = time.monotonic() + route.timeout + self.startup_timeout + _GRACE_S
        failures, delay = 0, self.backoff
        while True:
            if fut in self._cancelled:
                raise TaskCancelledError(f"node {node_id!r}: cancelled; its Modal call was cancelled ({url})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TaskTimeoutError(
                    f"node {node_id!r}: the Modal call gave no result within {route.timeout:.0f} s (+"
                    f"{self.startup_timeout:.0f} s startup, +{_GRACE_S:.0f} s grace); it was cancelled. {_CRASH_HINT}: "
                    f"{url}"
                )
            try:
                result = handle.poll(min(self.poll, left))
            except TransientModalError as exc:
                failures += 1
                if failures > self.retries:
                    raise ExecutorError(
                        f"node {node_id!r}: reading the Modal call's result failed {failures} times in a row: {exc}. "
                        f"The call was cancelled ({url})."
                    ) from exc
                time.sleep(delay)
                delay *= 2
                continue
            except TaskTimeoutError as exc:
                raise TaskTimeoutError(f"node {node_id!r}: {exc}. {_CRASH_HINT}.") from exc
            except ExecutorError as exc:
                raise type(exc)(f"node {node_id!r}: {exc}") from exc
            if result is not None:
                return TaskResult.from_wire(result)
            failures, delay = 0, self.backoff


def _cancel_quietly(handle: CallHandle) -> None:
    try:
        handle.cancel()
    except Exception:  # best effort: the node has already ended
        pass
