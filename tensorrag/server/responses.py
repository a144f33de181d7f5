"""Typed error responses: every error tensorrag raises becomes a 4xx/5xx JSON body, never a traceback.

The body is always ``{"detail": {"type": <error class>, "message": <the library's message>, ...}}``
(``detail`` as in FastAPI, so clients of the original keep reading it). Validation errors add the
original's ``errors`` (a list of strings) and tensorrag's ``problems`` (``node_id``, ``field``,
``message``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from tensorrag.errors import (
    ArgumentError,
    ArtifactNotFoundError,
    CardConfigError,
    CardError,
    CardFileTooLargeError,
    ConfigError,
    ExecutorError,
    NodeFailedError,
    PipelineError,
    PipelineValidationError,
    RegistryError,
    RunError,
    SpecError,
    StorageError,
    StorageFullError,
    TensorragError,
    UnauthorizedError,
    UnknownCardTypeError,
    UnknownNodeError,
    UnsafePathError,
)
from tensorrag.server.limits import error_body

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["ERROR_RESPONSES", "ErrorBody", "fail", "handle_error", "handle_unexpected", "problem_lines", "status_of"]

log = logging.getLogger("tensorrag.server")


class ErrorDetail(BaseModel):
    """What went wrong: the library's error class and message; validation errors add ``errors``/``problems``."""

    model_config = ConfigDict(extra="allow")
    type: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: ``{"detail": {"type", "message", ...}}``."""

    detail: ErrorDetail


#: The error answers every API route may give, in the OpenAPI schema (clients and schemathesis read them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input: the library's typed error (node, field, expected vs got)"},
    401: {"model": ErrorBody, "description": "No or wrong credentials"},
    404: {"model": ErrorBody, "description": "No such project, run, node or artifact (with did-you-mean)"},
    409: {"model": ErrorBody, "description": "The run or project is in a state that does not allow this"},
    413: {"model": ErrorBody, "description": "The body or upload is over the size limit"},
    503: {"model": ErrorBody, "description": "Storage or executor unavailable: retry later"},
}

#: The first matching class decides the status (subclasses before their bases).
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (UnauthorizedError, 401),
    (UnsafePathError, 400),
    (CardFileTooLargeError, 413),
    (ArtifactNotFoundError, 404),
    (UnknownNodeError, 404),
    (UnknownCardTypeError, 404),
    (StorageFullError, 507),
    (StorageError, 503),  # unreachable or refused storage: the server's problem, retry later
    (NodeFailedError, 400),  # the original: "has not completed successfully"
    (RunError, 404),
    (ConfigError, 500),  # a server setting, not the client's input
    (ArgumentError, 400),
    (SpecError, 400),
    (CardError, 400),
    (PipelineError, 400),
    (RegistryError, 400),
    (ExecutorError, 503),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status for a tensorrag error (500 for anything unknown)."""
    return next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)


def problem_lines(problems: list[dict[str, Any]]) -> list[str]:
    """The original's ``errors`` strings for tensorrag's problems: ``[node.field] message``."""
    lines = []
    for p in problems:
        where = p.get("node_id") or "pipeline"
        if p.get("field"):
            where += f".{p['field']}"
        lines.append(f"[{where}] {p['message']}")
    return lines


def body_of(exc: TensorragError) -> dict[str, Any]:
    """The response body for ``exc``: ``errors``/``problems`` for validation errors, ``node_id`` for card errors."""
    extra: dict[str, Any] = {}
    if isinstance(exc, (PipelineValidationError, CardConfigError)):
        extra["problems"] = exc.problems
        extra["errors"] = problem_lines(exc.problems)
    elif isinstance(exc, (SpecError, PipelineError, CardError)):
        extra["errors"] = [str(exc)]
    if isinstance(exc, CardError) and exc.node_id:
        extra["node_id"] = exc.node_id
    return error_body(type(exc).__name__, str(exc), **extra)


def fail(status: int, kind: str, message: str, **extra: Any) -> NoReturn:
    """Raise an HTTP error with the typed body."""
    raise HTTPException(status, detail=error_body(kind, message, **extra)["detail"])


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`~tensorrag.errors.TensorragError`."""
    assert isinstance(exc, TensorragError)
    status = status_of(exc)
    if status >= 500:
        log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body_of(exc), status_code=status, headers=headers)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: a bug is logged with its traceback here, and the client gets a typed 500 without one."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    message = (
        f"The server failed on {request.method} {request.url.path} ({type(exc).__name__}); "
        "the traceback is in the server log. Please report it."
    )
    return JSONResponse(error_body("InternalServerError", message), status_code=500)
