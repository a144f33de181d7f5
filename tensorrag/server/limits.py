"""Request-size limit: an ASGI middleware that refuses bodies over ``max_bytes`` with a typed 413."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "error_body"]


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON of every error response: ``{"detail": {"type", "message", ...}}``."""
    return {"detail": {"type": kind, "message": message, **extra}}


class BodyLimit:
    """Read each HTTP request body (at most ``max_bytes``) before the app sees it; refuse a larger one with 413.

    The body is buffered here, not streamed, so an oversized chunked upload is cut off as soon as it
    passes the limit (FastAPI would turn an error raised while it reads the body into a vague 400).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body within the limit and pass it on, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                shown = declared.decode(errors="replace")
                body = error_body("BadRequest", f"Content-Length must be a number of bytes; got {shown!r}.")
                await _reply(send, 400, body)
                return
            if size > self.max_bytes:
                await _reply(send, 413, self._too_large(f"{size:,} bytes"))
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                await _reply(send, 413, self._too_large(f"more than {self.max_bytes:,} bytes"))
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    def _too_large(self, got: str) -> dict[str, Any]:
        return error_body(
            "RequestTooLarge",
            f"The request body is {got}; this server accepts at most {self.max_bytes:,} bytes "
            "(create_app(max_body_bytes=...) / TENSORRAG_MAX_BODY_BYTES). Keep data in storage and send references.",
            limit=self.max_bytes,
        )


async def _reply(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
