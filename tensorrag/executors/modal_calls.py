"""One spawned Modal call: how its outcome is read, which errors are worth a retry, and who cancels it.

* **Polling** is :meth:`CallHandle.poll`: a result, ``None`` for "not ready yet", or an exception.
  "Not ready" is a value, not an exception, because Modal's own timeouts (``FunctionTimeoutError``)
  and our :class:`~tensorrag.errors.TaskTimeoutError` are ``TimeoutError`` s too: an ``except
  TimeoutError`` around a poll would read a finished, timed-out call as "keep waiting".
* **Transient** errors (:class:`TransientModalError`: connection lost, internal error, rate limit)
  are retried by polling the *same* call again; only a failed ``spawn`` spawns again, so a flaky
  network never starts a second paid run of one card.
* **Terminal** errors (the function timed out, its output expired, the call was cancelled
  elsewhere, the worker is stale) end the node at once, with Modal's error as the cause.
* **Cancel.** Every live call is registered; :func:`cancel_all` (run at interpreter exit) cancels
  what is left, so Ctrl-C or a crash never leaves a GPU billing for the rest of its timeout.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any, Protocol

from tensorrag.errors import ExecutorError, TaskCancelledError, TaskTimeoutError

__all__ = ["CallHandle", "RealHandle", "TransientModalError", "cancel_all", "dashboard_url", "track", "untrack"]


class CallHandle(Protocol):
    """A spawned remote call."""

    call_id: str

    def poll(self, timeout: float) -> dict[str, Any] | None:
        """The result payload, or None when not ready within ``timeout`` s.

        Raises:
            TransientModalError: reading failed in a way worth polling again.
            ExecutorError: the call ended without a result (timed out, expired, cancelled).
        """

    def cancel(self) -> None:
        """Stop the remote call (and its container)."""


class TransientModalError(ExecutorError):
    """A failure worth retrying (connection lost, rate limited, internal error)."""


def dashboard_url(call_id: str) -> str:
    """The Modal dashboard page of a call (Modal's ``get_dashboard_url`` without a network round trip)."""
    return f"https://modal.com/id/{call_id}"


def transient_classes(modal: Any) -> tuple[type[BaseException], ...]:
    """Modal's exceptions that a retry can cure."""
    exc = modal.exception
    return (exc.ConnectionError, exc.InternalError, exc.ResourceExhaustedError, exc.ServiceError, ConnectionError)


class RealHandle:
    """A ``modal.FunctionCall``, read as :class:`CallHandle` says."""

    def __init__(self, call: Any, modal: Any) -> None:
        self._call = call
        self._modal = modal
        self.call_id: str = str(getattr(call, "object_id", "") or "")
        self._cancelled = threading.Event()

    def poll(self, timeout: float) -> dict[str, Any] | None:
        """One ``FunctionCall.get(timeout=...)``, its outcome classified."""
        exc_mod = self._modal.exception
        where = f"(call {self.call_id}: {dashboard_url(self.call_id)})"
        try:
            result: dict[str, Any] = self._call.get(timeout=timeout)
            return result
        except exc_mod.FunctionTimeoutError as exc:  # before TimeoutError: it is one
            raise TaskTimeoutError(f"the Modal function ran past its timeout {where}: {exc}") from exc
        except exc_mod.OutputExpiredError as exc:
            raise ExecutorError(
                f"the result of the Modal call expired before it was read {where}; run the node again"
            ) from exc
        except (exc_mod.InputCancellation, exc_mod.ExecutionError) as exc:
            if "cancel" in str(exc).lower() or isinstance(exc, exc_mod.InputCancellation):
                raise TaskCancelledError(f"the Modal call was cancelled {where}: {exc}") from exc
            raise ExecutorError(f"the Modal call failed {where}: {type(exc).__name__}: {exc}") from exc
        except TimeoutError:
            return None  # builtin TimeoutError: no output yet (what FunctionCall.get raises when not ready)
        except transient_classes(self._modal) as exc:
            raise TransientModalError(f"{type(exc).__name__}: {exc}") from exc
        except exc_mod.Error as exc:  # any other Modal error is final: say which, with the call
            raise ExecutorError(f"the Modal call failed {where}: {type(exc).__name__}: {exc}") from exc

    def cancel(self) -> None:
        """``FunctionCall.cancel(terminate_containers=True)``, once: the container stops billing now."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        self._call.cancel(terminate_containers=True)


_open: dict[int, CallHandle] = {}
_open_lock = threading.Lock()


def track(handle: CallHandle) -> None:
    """Remember a live call, so that :func:`cancel_all` can stop it."""
    with _open_lock:
        _open[id(handle)] = handle


def untrack(handle: CallHandle) -> None:
    """Forget a call that ended (or was cancelled)."""
    with _open_lock:
        _open.pop(id(handle), None)


def cancel_all() -> int:
    """Cancel every call still live in this process (best effort); return how many were cancelled."""
    with _open_lock:
        handles = list(_open.values())
        _open.clear()
    for handle in handles:
        try:
            handle.cancel()
        except Exception:  # at exit nothing can be done about one that cannot be reached
            pass
    return len(handles)


atexit.register(cancel_all)
