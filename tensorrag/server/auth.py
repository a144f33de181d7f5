"""Who is asking: the ``auth`` callable (HTTP and WebSocket alike) and the explicit CORS origins."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from tensorrag.errors import ConfigError, UnsafePathError
from tensorrag.storage import safe_name

__all__ = ["Auth", "cors_origins", "resolve_user"]

#: ``auth(connection) -> user id`` (or an awaitable of it); raises :class:`~tensorrag.errors.UnauthorizedError`.
#: ``connection`` is the Starlette ``Request`` or ``WebSocket`` (both are an ``HTTPConnection``).
Auth = Callable[[HTTPConnection], Any]  # returns the user id, or an awaitable of it

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


async def resolve_user(auth: Auth, conn: HTTPConnection) -> str:
    """Call ``auth`` on ``conn`` and check the user id it returns (a safe folder name).

    A plain function runs in the thread pool (it may do blocking I/O, e.g. ask an identity service);
    a coroutine function runs on the event loop.

    Raises:
        UnauthorizedError: from ``auth``, unchanged.
        ConfigError: ``auth`` returned something that is not a safe user id (a server bug, not the client's).
    """
    if inspect.iscoroutinefunction(auth) or inspect.iscoroutinefunction(type(auth).__call__):
        result: Any = await auth(conn)  # type: ignore[misc]
    else:
        result = await run_in_threadpool(auth, conn)
        if inspect.isawaitable(result):
            result = await result
    if not isinstance(result, str):
        raise ConfigError(
            f"The server's auth callable returned {type(result).__name__}; it must return the user id (a str) "
            "or raise tensorrag.UnauthorizedError."
        )
    try:
        return safe_name(result, "user")
    except UnsafePathError as exc:
        raise ConfigError(
            f"The server's auth callable returned a user id that is not a safe folder name: {exc} "
            "Map identities to ids of letters, digits, '.', '_' and '-'."
        ) from None


def cors_origins(origins: list[str] | str | None) -> list[str]:
    """The allowed CORS origins: ``origins``, else ``TENSORRAG_CORS_ORIGINS``, else the original's ``FRONTEND_ORIGIN``.

    A comma-separated string is split. Each origin is ``scheme://host[:port]`` (no path, no trailing
    slash: browsers send exactly that), or ``*`` (then credentials are not allowed).

    Raises:
        ConfigError: an origin that a browser could never send.
    """
    where = "cors_origins"
    if origins is None:
        for name in ("TENSORRAG_CORS_ORIGINS", "FRONTEND_ORIGIN"):
            if os.environ.get(name, "").strip():
                origins, where = os.environ[name], name
                break
        else:
            return []
    items = origins.split(",") if isinstance(origins, str) else list(origins)
    out: list[str] = []
    for raw in items:
        origin = raw.strip() if isinstance(raw, str) else raw
        if origin == "":
            continue
        if not isinstance(origin, str) or (origin != "*" and not _ORIGIN.match(origin)):
            raise ConfigError(
                f"{where}: {origin!r} is not an origin; expected scheme://host[:port] such as "
                "'https://app.example.com' or 'http://localhost:3000' (no path, no trailing slash), or '*'."
            )
        out.append(origin)
    return out
