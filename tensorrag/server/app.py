"""``create_app``: the FastAPI app (the original's REST API under ``/api``, ``/api/v2``, the WebSocket)."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tensorrag._version import __version__
from tensorrag.errors import ConfigError, TensorragError
from tensorrag.server import routes_custom, routes_pipeline, routes_v2, routes_workspace, web, ws
from tensorrag.server.auth import Auth, cors_origins
from tensorrag.server.limits import BodyLimit
from tensorrag.server.responses import handle_error, handle_unexpected
from tensorrag.server.state import ServerState, default_user
from tensorrag.storage import ArtifactStore, open_store
from tensorrag.workspace import Workspace

if TYPE_CHECKING:
    from tensorrag.executors import Executor

__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_MAX_BODY_BYTES", "create_app"]

#: Seconds of silence after which a WebSocket gets ``{"type": "heartbeat"}``.
DEFAULT_HEARTBEAT_S = 15.0
#: Largest request body accepted (``TENSORRAG_MAX_BODY_BYTES``): card files and graphs, not data.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


def create_app(
    workspace: Workspace | ArtifactStore | str | os.PathLike[str] | None = None,
    *,
    auth: Auth | None = None,
    cors_origins: list[str] | str | None = None,
    executor: str | Executor | None = None,
    max_body_bytes: int | None = None,
    heartbeat_s: float = DEFAULT_HEARTBEAT_S,
    default_project: str = "default",
) -> FastAPI:
    """The tensorrag server as a FastAPI app, to run (``tensorrag serve``) or mount in another service.

    Args:
        workspace: the storage root: a :class:`~tensorrag.Workspace` (its store; its user is the
            default user), a store, a path or fsspec URL, or None for the configured store.
        auth: ``auth(request_or_websocket) -> user id`` (sync or async), raising
            :class:`~tensorrag.errors.UnauthorizedError` to refuse. Each user sees only
            ``{root}/{user}/workspace/``. Default: one user, ``TENSORRAG_USER`` / ``DEFAULT_USER_ID``.
        cors_origins: origins allowed to call from a browser (a list or comma-separated string);
            default ``TENSORRAG_CORS_ORIGINS``, else ``FRONTEND_ORIGIN``, else none. Credentials are
            allowed only with explicit origins, never with ``*``.
        executor: an executor name or instance for every run (an instance is shared and left
            running); default: ``TENSORRAG_EXECUTOR``, else local threads per run.
        max_body_bytes: request bodies over this are refused with 413 (``TENSORRAG_MAX_BODY_BYTES``,
            default 16 MiB).
        heartbeat_s: seconds of WebSocket silence before a ``heartbeat`` message.
        default_project: where runs of ``/api/pipeline/execute`` go when the pipeline id names no
            project and the user has activated none.

    Raises:
        ConfigError: a bad origin, limit or setting.
        StorageError: the storage root cannot be opened.
    """
    if isinstance(workspace, Workspace):
        root, fallback_user = workspace.store, workspace.user
    else:
        root, fallback_user = open_store(workspace), None
    limit = max_body_bytes
    if limit is None:
        limit = _env_int("TENSORRAG_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ConfigError(f"max_body_bytes must be a positive integer; got {limit!r}.")
    if not (isinstance(heartbeat_s, (int, float)) and heartbeat_s > 0):
        raise ConfigError(f"heartbeat_s must be a positive number of seconds; got {heartbeat_s!r}.")

    def single_user(_conn: Any) -> str:
        return fallback_user or default_user()

    app = FastAPI(
        title="tensorrag", version=__version__,
        description="The original TensorRag REST API (/api), tensorrag's additions (/api/v2) and run events over "
                    "WebSocket (/ws/pipeline/{pipeline_id}).",
    )
    app.state.tensorrag = ServerState(
        root, auth or single_user, executor, heartbeat_s=float(heartbeat_s), default_project=default_project
    )
    app.add_exception_handler(TensorragError, handle_error)
    app.add_exception_handler(Exception, handle_unexpected)
    for module in (routes_pipeline, routes_custom, routes_workspace, routes_v2, ws):
        app.include_router(module.router)
    app.include_router(web.api)
    app.include_router(web.page)  # GET / (the web canvas) and its bundle
    origins = _cors(cors_origins)
    if origins:
        wildcard = "*" in origins
        app.add_middleware(
            CORSMiddleware, allow_origins=["*"] if wildcard else origins, allow_credentials=not wildcard,
            allow_methods=["*"], allow_headers=["*"],
        )
    app.add_middleware(BodyLimit, max_bytes=limit)
    return app


def _cors(origins: list[str] | str | None) -> list[str]:
    out = cors_origins(origins)
    if "*" in out:
        warnings.warn(
            "CORS origin '*': any web page may call this server, so credentials (cookies, auth headers) are not "
            "allowed cross-origin. List the origins instead to allow them.", RuntimeWarning, stacklevel=3,
        )
    return out


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer (bytes); got {raw!r}.") from None
