"""``ModalExecutor``: run cards on Modal's serverless CPUs and GPUs (``pip install 'tensorrag[modal]'``).

One deployed app (``tensorrag modal deploy``; default name ``tensorrag``) holds the worker entry
function ``run_task`` (CPU image) and ``run_task_gpu`` (the same entry on a CUDA image). Every
call picks its options — GPU type, timeout, memory — with ``with_options``, so there is no
function per GPU. Routing (:meth:`ModalExecutor.route`): a node's ``resources`` win; otherwise
the original's rule: ``llm_*`` card types go to a GPU (``T4``, 600 s), the rest to CPU (300 s).

Calls are spawned and polled, never blocked on: a run's own deadline holds, cancelling a run
cancels its remote calls, transient errors are retried with backoff, and a card's exception comes
back with its original type name, message and remote traceback. Artifacts travel in the call
payload (bytes) unless the run's store is an object store the workers can reach and a
``secret`` gives them credentials; then only URIs travel and workers read and write the bucket
themselves, so the orchestrator moves no artifact bytes.

Everything Modal-specific sits behind one seam, :class:`ModalTransport`; tests swap in
:class:`LocalProcessTransport`, which runs the real worker entry in another process over the
real payload bytes.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError, TaskTimeoutError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.runtime import card_ref
from tensorrag.spec import TaskResult

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task
    from tensorrag.storage import ArtifactStore

__all__ = ["CallHandle", "LocalProcessTransport", "ModalExecutor", "ModalTransport", "RealModalTransport", "Route"]

CPU_FUNCTION = "run_task"
GPU_FUNCTION = "run_task_gpu"
#: Stores whose URLs a Modal container can open itself (given credentials in a modal.Secret).
_REACHABLE = ("s3", "s3a", "gs", "gcs", "az", "abfs", "r2")
#: Storage options that are credentials: never sent in a payload (the secret provides them).
_CREDENTIAL_KEYS = {"key", "secret", "token", "password", "aws_access_key_id", "aws_secret_access_key"}
#: Reserved for the engine's own deadline: the executor's poll loop gives the remote this much grace.
_GRACE_S = 30.0
_CHECK_TIMEOUT_S = 10.0


class CallHandle(Protocol):
    """A spawned remote call."""

    def get(self, timeout: float) -> dict[str, Any]:
        """The result payload; raises ``TimeoutError`` when not ready within ``timeout`` seconds."""

    def cancel(self) -> None:
        """Stop the remote call."""


class ModalTransport(Protocol):
    """The seam between the executor and Modal: spawn a call of a function with options."""

    def check(self, app_name: str) -> None:
        """Fail fast, with what is missing and how to fix it, when calls cannot work."""

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any]) -> CallHandle:
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
        app_name: the deployed app (default ``TENSORRAG_MODAL_APP`` or ``"tensorrag"``).
        gpu: the GPU for GPU-routed cards without their own ``resources["gpu"]``.
        cpu_timeout: default timeout (s) of CPU calls.
        gpu_timeout: default timeout (s) of GPU calls.
        max_workers: calls in flight at once.
        secret: name of a ``modal.Secret`` with the object store's credentials (enables URI mode).
        retries: attempts after the first for transient errors (connection, internal, rate limits).
        backoff: first retry delay in seconds (doubles each time).
        poll: seconds between result polls.
        modules: your own modules deployed with the app (``tensorrag modal deploy --module``), whose
            cards may then run remotely; tensorrag's built-in cards always can.
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
        retries: int = 2,
        backoff: float = 1.0,
        poll: float = 1.0,
        modules: tuple[str, ...] | list[str] = (),
        transport: ModalTransport | None = None,
    ) -> None:
        settings = get_settings()
        if not settings.modal_enabled:
            raise ConfigError("Modal is disabled (MODAL_ENABLED=false); use executor='local' or 'process'.")
        if max_workers < 1 or retries < 0 or poll <= 0:
            raise ConfigError("ModalExecutor needs max_workers >= 1, retries >= 0 and poll > 0.")
        self.app_name = app_name or settings.modal_app
        self.gpu = gpu
        self.cpu_timeout = float(cpu_timeout)
        self.gpu_timeout = float(gpu_timeout)
        self.max_workers = max_workers
        self.secret = secret
        self.retries = retries
        self.backoff = backoff
        self.poll = poll
        self.transport: ModalTransport = transport or RealModalTransport()
        self.modules: tuple[str, ...] = ("tensorrag", *modules)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._handles: dict[Future[TaskResult], CallHandle] = {}
        self._cancelled: set[Future[TaskResult]] = set()
        self._checked = False
        self._check_lock = threading.Lock()

    # ------------------------------------------------------------------ routing

    def route(self, task: Task) -> Route:
        """The function and options for ``task``: its resources, else the ``llm_*`` -> GPU rule."""
        res = task.resources or {}
        card_type = str(task.card.get("card_type", ""))
        gpu = res.get("gpu")
        if gpu is None and card_type.startswith("llm_"):
            gpu = self.gpu
        options: dict[str, Any] = {}
        timeout = float(res.get("timeout", self.gpu_timeout if gpu else self.cpu_timeout))
        if gpu:
            options["gpu"] = str(gpu)
        options["timeout"] = max(1, math.ceil(timeout))  # Modal takes whole seconds, at least 1
        if res.get("memory"):
            options["memory"] = int(res["memory"])
        if res.get("cpu"):
            options["cpu"] = float(res["cpu"])
        return Route(GPU_FUNCTION if gpu else CPU_FUNCTION, options)

    # ------------------------------------------------------------------ executor API

    def uri_mode(self, task: Task, store: ArtifactStore) -> bool:
        """URIs only when workers can open the store themselves (an object store plus a secret)."""
        return self.secret is not None and store.protocol in _REACHABLE

    def preflight(self, cards: list[type[BaseCard]]) -> None:
        """Check credentials and the deployed app (fast), and that every card exists in the image."""
        problems = []
        for cls in dict.fromkeys(cards):
            ref = card_ref(cls)
            module = str(ref.get("module", ""))
            if ref.get("source") or module.split(".")[0].split(":")[0] in self.modules:
                continue
            problems.append(f"{cls.card_type!r} ({module or cls.__qualname__}) is not in the deployed image")
        if problems:
            raise CardDefinitionError(
                "These cards cannot run on Modal:\n  - " + "\n  - ".join(problems) + "\nDeploy their module with the "
                "app (tensorrag modal deploy --module YOUR_MODULE) and pass ModalExecutor(modules=...), or keep them "
                "local with executor='auto' and execution_mode='local'."
            )
        self._check()

    def _check(self) -> None:
        # Once per executor, before the first call, however the task got here (e.g. "auto" routing a GPU node).
        with self._check_lock:
            if not self._checked:
                self.transport.check(self.app_name)
                self._checked = True

    def submit(self, task: Task, events: EventSink | None = None) -> Future[TaskResult]:
        """Spawn the remote call and poll it on a background thread."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="tensorrag-modal")
            pool = self._pool
        route = self.route(task)
        payload = task.to_wire()
        if payload.get("storage"):
            opts = payload["storage"].get("options") or {}
            payload["storage"] = {**payload["storage"], "options": _without_credentials(opts)}
        outer: Future[TaskResult] = Future()

        def call() -> None:
            if not outer.set_running_or_notify_cancel():
                return
            try:
                outer.set_result(self._call(outer, task.node_id, route, payload))
            except BaseException as exc:
                outer.set_exception(exc)

        pool.submit(call)
        return outer

    def cancel(self, future: Future[TaskResult]) -> None:
        """Cancel the remote call behind ``future`` (and stop polling it)."""
        with self._lock:
            self._cancelled.add(future)
            handle = self._handles.get(future)
        future.cancel()
        if handle is not None:
            try:
                handle.cancel()
            except Exception:  # best effort: the engine has already failed the node
                pass

    def shutdown(self, wait: bool = True) -> None:
        """Stop polling threads (remote calls of abandoned tasks were cancelled already)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    # ------------------------------------------------------------------ one call

    def _call(self, fut: Future[TaskResult], node_id: str, route: Route, payload: dict[str, Any]) -> TaskResult:
        self._check()  # a missing token or app fails the node with the fix, not Modal's raw error
        deadline = time.monotonic() + route.timeout + _GRACE_S
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                handle = self.transport.spawn(self.app_name, route.function, payload, dict(route.options))
                with self._lock:
                    self._handles[fut] = handle
                    if fut in self._cancelled:
                        handle.cancel()
                        raise ExecutorError(f"node {node_id!r}: cancelled")
                while True:
                    if fut in self._cancelled:
                        raise ExecutorError(f"node {node_id!r}: cancelled")
                    if time.monotonic() > deadline:
                        handle.cancel()
                        raise TaskTimeoutError(
                            f"node {node_id!r}: the Modal call gave no result within {route.timeout:.0f} s "
                            f"(+{_GRACE_S:.0f} s grace); it was cancelled"
                        )
                    try:
                        return TaskResult.from_wire(handle.get(timeout=self.poll))
                    except TimeoutError:
                        continue
            except _TransientError as exc:
                if attempt == self.retries or fut in self._cancelled:
                    raise ExecutorError(
                        f"node {node_id!r}: Modal call failed after {attempt + 1} attempts: {exc}"
                    ) from exc
                time.sleep(delay)
                delay *= 2
            finally:
                with self._lock:
                    self._handles.pop(fut, None)
        raise ExecutorError(f"node {node_id!r}: no attempt was made")  # pragma: no cover - loop always returns


class _TransientError(ExecutorError):
    """A failure worth retrying (connection lost, rate limited, internal error)."""


def _without_credentials(options: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in options.items() if k not in _CREDENTIAL_KEYS}
    if isinstance(clean.get("client_kwargs"), dict):
        clean["client_kwargs"] = {k: v for k, v in clean["client_kwargs"].items() if k not in _CREDENTIAL_KEYS}
    return clean


# --------------------------------------------------------------------------- transports


class RealModalTransport:
    """Calls a deployed Modal app (``modal.Function.from_name(...).with_options(...).spawn(payload)``)."""

    def check(self, app_name: str) -> None:
        """Fail in seconds, saying what is missing: the token or the deployed app."""
        modal = _import_modal()
        has_token = os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET")
        if not has_token and not os.path.exists(os.path.expanduser("~/.modal.toml")):
            raise ExecutorError(
                "Modal credentials are missing: run `modal token new` (or set MODAL_TOKEN_ID and "
                "MODAL_TOKEN_SECRET), then deploy the worker with `tensorrag modal deploy`."
            )
        outcome: list[BaseException | None] = []

        def probe() -> None:
            try:
                modal.Function.from_name(app_name, CPU_FUNCTION).hydrate()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        # A bad token can make the client retry for a minute: never wait that long to say so.
        thread = threading.Thread(target=probe, name="tensorrag-modal-check", daemon=True)
        thread.start()
        thread.join(_CHECK_TIMEOUT_S)
        if not outcome:
            raise ExecutorError(
                f"Modal did not answer within {_CHECK_TIMEOUT_S:.0f} s: check the network and the token "
                "(`modal token new`), or run with executor='local'."
            )
        try:
            if outcome[0] is not None:
                raise outcome[0]
        except modal.exception.NotFoundError as exc:
            raise ExecutorError(
                f"The Modal app {app_name!r} is not deployed (or has no {CPU_FUNCTION!r} function): run "
                f"`tensorrag modal deploy --app {app_name}`."
            ) from exc
        except modal.exception.AuthError as exc:
            raise ExecutorError(f"Modal rejected the credentials: {exc}. Run `modal token new`.") from exc
        except (modal.exception.ConnectionError, OSError) as exc:
            raise ExecutorError(f"Cannot reach Modal: {exc}. Check the network, or run with executor='local'.") from exc

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any]) -> CallHandle:
        """Spawn one call with per-call options."""
        modal = _import_modal()
        try:
            fn = modal.Function.from_name(app_name, function)
            if options:
                fn = fn.with_options(**options)
            return _RealHandle(fn.spawn(payload), modal)
        except (modal.exception.ConnectionError, modal.exception.InternalError,
                modal.exception.ResourceExhaustedError) as exc:
            raise _TransientError(f"{type(exc).__name__}: {exc}") from exc


class _RealHandle:
    def __init__(self, call: Any, modal: Any) -> None:
        self._call = call
        self._modal = modal

    def get(self, timeout: float) -> dict[str, Any]:
        exc_mod = self._modal.exception
        try:
            result: dict[str, Any] = self._call.get(timeout=timeout)
            return result
        except exc_mod.FunctionTimeoutError as exc:
            raise TaskTimeoutError(f"the Modal function timed out: {exc}") from exc
        except (TimeoutError, exc_mod.TimeoutError):
            raise TimeoutError from None
        except (exc_mod.ConnectionError, exc_mod.InternalError) as exc:
            raise _TransientError(f"{type(exc).__name__}: {exc}") from exc

    def cancel(self) -> None:
        self._call.cancel(terminate_containers=True)


def _import_modal() -> Any:
    try:
        import modal
    except ImportError as exc:
        raise ExecutorError("The Modal executor needs the modal package: pip install 'tensorrag[modal]'") from exc
    return modal


class LocalProcessTransport:
    """A stand-in for Modal that runs the real worker entry in another process over the real payloads.

    It records every call (function, options, payload size, bytes of artifacts carried) so tests
    can check routing and data movement without an account. ``fail_first`` makes the first N
    spawns fail with a transient error (to exercise retries).
    """

    def __init__(self, max_workers: int = 2, fail_first: int = 0) -> None:
        from tensorrag.executors.process import ProcessExecutor

        self._executor = ProcessExecutor(max_workers=max_workers)
        self.calls: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def check(self, app_name: str) -> None:
        """Always ready."""

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any]) -> CallHandle:
        """Record the call and run it in a worker process."""
        from tensorrag.executors.worker import dumps, loads
        from tensorrag.spec import Task

        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                self.calls.append({"function": function, "options": options, "failed": True})
                raise _TransientError("simulated connection reset")
            wire = dumps(payload)  # the bytes that would go over the network
            self.calls.append(
                {
                    "app": app_name,
                    "function": function,
                    "options": dict(options),
                    "node_id": payload.get("node_id"),
                    "payload_bytes": len(wire),
                    "artifact_bytes_in": _artifact_bytes(payload.get("inputs", {})),
                }
            )
        task = Task.from_wire(loads(wire))
        return _LocalHandle(self, self._executor.submit(task), self._executor)

    def close(self) -> None:
        """Stop the worker processes."""
        self._executor.shutdown()


class _LocalHandle:
    def __init__(self, transport: LocalProcessTransport, fut: Future[TaskResult], executor: Any) -> None:
        self._transport = transport
        self._fut = fut
        self._executor = executor

    def get(self, timeout: float) -> dict[str, Any]:
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            result = self._fut.result(timeout=timeout)
        except FutureTimeout:
            raise TimeoutError from None
        payload = result.to_wire()
        with self._transport._lock:
            self._transport.calls.append({"result_artifact_bytes": _artifact_bytes(payload.get("outputs", {}))})
        return payload

    def cancel(self) -> None:
        self._executor.cancel(self._fut)


def _artifact_bytes(refs: dict[str, Any]) -> int:
    total = 0
    for ref in refs.values():
        data = ref.get("data") if isinstance(ref, dict) else None
        if isinstance(data, (bytes, bytearray)):
            total += len(data)
    return total
