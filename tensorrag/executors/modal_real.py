"""The real transport: Modal's client, a deployed app or an ephemeral one (``app.run()``).

:class:`RealModalTransport` checks credentials (as Modal's client finds them: ``MODAL_TOKEN_ID`` /
``MODAL_TOKEN_SECRET`` or the file at ``MODAL_CONFIG_PATH``, default ``~/.modal.toml``) and the
deployed app in seconds, spawns calls with per-call options (secrets and the Hugging Face volume
by name, made into Modal objects here), and can start an app for one run and stop it again.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import Any

from tensorrag.errors import ExecutorError
from tensorrag.executors.modal_calls import CallHandle, RealHandle, TransientModalError, transient_classes
from tensorrag.executors.modal_options import has_token, modal_config_path

__all__ = ["AppNotDeployedError", "RealModalTransport", "import_modal"]

CPU_FUNCTION = "run_task"
_CHECK_TIMEOUT_S = 10.0


class AppNotDeployedError(ExecutorError):
    """The credentials work but the app is not deployed (``ephemeral=None`` then starts one for the run)."""


def import_modal() -> Any:
    """The ``modal`` package, or an ExecutorError saying how to install it."""
    try:
        import modal
    except ImportError as exc:
        raise ExecutorError("The Modal executor needs the modal package: pip install 'tensorrag[modal]'") from exc
    return modal


class RealModalTransport:
    """Calls Modal: ``Function.from_name(app, fn)`` (deployed) or the functions of an ephemeral app."""

    def __init__(self) -> None:
        self._ephemeral: tuple[Any, dict[str, Any]] | None = None  # (app.run() context, functions by name)
        self._stack: contextlib.ExitStack | None = None
        self._lock = threading.Lock()

    def check_token(self) -> None:
        """Fail at once when Modal's client would find no credentials."""
        if not has_token():
            raise ExecutorError(
                f"Modal credentials are missing (no MODAL_TOKEN_ID/MODAL_TOKEN_SECRET, no {modal_config_path()}): "
                "run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), then run again; "
                "without an account use executor='local' or 'process'."
            )

    def check(self, app_name: str) -> None:
        """Fail in seconds, saying what is missing: the token, the network, or the deployed app.

        Raises:
            ExecutorError: no credentials, rejected credentials, Modal unreachable.
            AppNotDeployedError: the app (or its ``run_task``) is not deployed.
        """
        modal = import_modal()
        self.check_token()
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
            raise AppNotDeployedError(
                f"The Modal app {app_name!r} is not deployed (or has no {CPU_FUNCTION!r} function): run "
                f"`tensorrag modal deploy --app {app_name}`, or use ModalExecutor(ephemeral=True)."
            ) from exc
        except modal.exception.AuthError as exc:
            raise ExecutorError(f"Modal rejected the credentials: {exc}. Run `modal token new`.") from exc
        except (modal.exception.ConnectionError, OSError) as exc:
            raise ExecutorError(f"Cannot reach Modal: {exc}. Check the network, or run with executor='local'.") from exc
        except modal.exception.Error as exc:
            raise ExecutorError(f"Looking up the Modal app {app_name!r} failed: {type(exc).__name__}: {exc}") from exc

    def start_ephemeral(self, app_name: str, spec: dict[str, Any]) -> None:
        """Build the app from this machine's files and start it (``app.run()``) until :meth:`stop_ephemeral`."""
        with self._lock:
            if self._ephemeral is not None:
                return
            modal = import_modal()
            from tensorrag.executors.modal_app import make_app

            app, functions = make_app(app_name, **spec)
            stack = contextlib.ExitStack()
            try:
                stack.enter_context(app.run())
            except modal.exception.Error as exc:
                stack.close()
                raise ExecutorError(
                    f"Starting the ephemeral Modal app {app_name!r} failed: {type(exc).__name__}: {exc}. "
                    "Check `modal token new`, and that the modules it adds import here."
                ) from exc
            self._stack, self._ephemeral = stack, (app, functions)
            atexit.register(self.stop_ephemeral)

    def stop_ephemeral(self) -> None:
        """Stop the ephemeral app, if one runs (its containers stop; idempotent)."""
        with self._lock:
            stack, self._stack, self._ephemeral = self._stack, None, None
        if stack is not None:
            try:
                stack.close()
            except Exception:  # the app is gone either way once this client disconnects
                pass

    def spawn(self, app_name: str, function: str, payload: dict[str, Any], options: dict[str, Any],
              expect: dict[str, Any] | None = None) -> CallHandle:
        """Spawn one call with per-call options."""
        modal = import_modal()
        options = dict(options)
        secrets = [modal.Secret.from_name(s) for s in options.pop("secrets", [])]
        volume = options.pop("hf_volume", None)
        if secrets:
            options["secrets"] = secrets
        if volume:
            from tensorrag.executors.modal_images import HF_HOME

            options["volumes"] = {HF_HOME: modal.Volume.from_name(volume, create_if_missing=True)}
        try:
            running = self._ephemeral
            fn = running[1][function] if running is not None else modal.Function.from_name(app_name, function)
            if options:
                fn = fn.with_options(**options)
            return RealHandle(fn.spawn(payload, expect), modal)
        except transient_classes(modal) as exc:
            raise TransientModalError(f"{type(exc).__name__}: {exc}") from exc
        except modal.exception.Error as exc:
            raise ExecutorError(f"Modal refused the call of {function!r}: {type(exc).__name__}: {exc}") from exc
