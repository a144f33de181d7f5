"""A stand-in for Modal that runs the real worker entry in another process over the real payloads.

:class:`LocalProcessTransport` is the :class:`~tensorrag.executors.modal.ModalTransport` the tests
(and users without an account) use: every call goes through the same payload bytes and the same
worker entry (:func:`tensorrag.executors.modal_app.entry` checks, then ``run_wire``) as on Modal.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ExecutorError
from tensorrag.executors.modal_calls import TransientModalError
from tensorrag.executors.modal_images import mismatch

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tensorrag.executors.modal_calls import CallHandle
    from tensorrag.spec import TaskResult

__all__ = ["LocalProcessTransport", "artifact_bytes"]


class LocalProcessTransport:
    """Runs each call in a worker process and records it.

    It records every call (function, options, payload size, bytes of artifacts carried) so tests
    can check routing and data movement without an account. ``fail_first`` makes the first N
    spawns fail with a transient error (to exercise retries). Workers share this host's
    network, so a loopback object store counts as reachable (``same_host``).
    """

    same_host = True

    def __init__(self, max_workers: int = 2, fail_first: int = 0) -> None:
        from tensorrag.executors.process import ProcessExecutor

        self._executor = ProcessExecutor(max_workers=max_workers)
        self.calls: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self._lock = threading.Lock()

    def check(self, app_name: str) -> None:
        """Always ready."""

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any],
              expect: dict[str, Any] | None = None) -> CallHandle:
        """Record the call and run it in a worker process."""
        from tensorrag.executors.worker import dumps, loads
        from tensorrag.spec import Task

        with self._lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                self.calls.append({"function": function, "options": options, "failed": True})
                raise TransientModalError("simulated connection reset")
            wire = dumps(payload)  # the bytes that would go over the network
            self.calls.append({
                "app": app_name, "function": function, "options": dict(options), "node_id": payload.get("node_id"),
                "payload_bytes": len(wire), "artifact_bytes_in": artifact_bytes(payload.get("inputs", {})),
                "expect": expect,
            })
        problem = mismatch(expect)  # the worker entry's own check, against this machine's files
        if problem:
            raise ExecutorError(f"the worker does not match: {problem}")
        task = Task.from_wire(loads(wire))
        return _LocalHandle(self, self._executor.submit(task), self._executor)

    def close(self) -> None:
        """Stop the worker processes."""
        self._executor.shutdown()


class _LocalHandle:
    call_id = ""  # no dashboard: the call runs on this machine

    def __init__(self, transport: LocalProcessTransport, fut: Future[TaskResult], executor: Any) -> None:
        self._transport = transport
        self._fut = fut
        self._executor = executor

    def poll(self, timeout: float) -> dict[str, Any] | None:
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            result = self._fut.result(timeout=timeout)
        except FutureTimeout:
            return None
        payload = result.to_wire()
        with self._transport._lock:
            self._transport.calls.append({"result_artifact_bytes": artifact_bytes(payload.get("outputs", {}))})
        return payload

    def cancel(self) -> None:
        self._executor.cancel(self._fut)


def artifact_bytes(refs: dict[str, Any]) -> int:
    """Bytes of artifacts carried inline (``data``) in ``refs``."""
    total = 0
    for ref in refs.values():
        data = ref.get("data") if isinstance(ref, dict) else None
        if isinstance(data, (bytes, bytearray)):
            total += len(data)
    return total
