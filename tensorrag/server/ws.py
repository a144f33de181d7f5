"""``/ws/pipeline/{pipeline_id}``: a run's events (design.md §4) in order, a replay first, and a heartbeat.

The connection is authorised by the same ``auth`` callable as HTTP, before it is accepted: a
refused one is closed with 1008 (the client sees the handshake rejected with HTTP 403). Incoming
messages are read and ignored (as the original), only to notice a disconnect at once.
"""

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from tensorrag.errors import TensorragError, UnauthorizedError
from tensorrag.executors.state import now_iso
from tensorrag.server.auth import resolve_user
from tensorrag.server.hub import Subscriber

if TYPE_CHECKING:
    from tensorrag.server.state import ServerState

__all__ = ["router"]

router = APIRouter()

#: WebSocket close codes: policy violation (refused credentials), try again later (fell behind).
CLOSE_UNAUTHORIZED, CLOSE_TOO_SLOW = 1008, 1013


@router.websocket("/ws/pipeline/{pipeline_id}")
async def pipeline_events(websocket: WebSocket, pipeline_id: str) -> None:
    """Send every event of the pipeline's latest run (replayed so far, then live), and a heartbeat when idle."""
    state: ServerState = websocket.app.state.tensorrag
    state.hub.bind(asyncio.get_running_loop())
    try:
        user = await resolve_user(state.auth, websocket)
    except (UnauthorizedError, TensorragError) as exc:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=_reason(exc))
        return
    await websocket.accept()
    sub = state.hub.subscribe(user, pipeline_id)
    reader = asyncio.create_task(_read_until_closed(websocket, sub))
    try:
        await _send(websocket, sub, state.heartbeat_s)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client left while we sent: nothing to clean but the subscription
    finally:
        state.hub.unsubscribe(user, pipeline_id, sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _send(websocket: WebSocket, sub: Subscriber, heartbeat_s: float) -> None:
    while not sub.closed:
        if sub.dropped:
            await websocket.close(code=CLOSE_TOO_SLOW, reason="fell too far behind; reconnect to get a replay")
            return
        if sub.pending:
            while sub.pending and not sub.dropped:
                await websocket.send_text(sub.pending.popleft())
            continue
        sub.wake.clear()
        try:
            await asyncio.wait_for(sub.wake.wait(), timeout=heartbeat_s)
        except TimeoutError:
            await websocket.send_text(json.dumps({"type": "heartbeat", "timestamp": now_iso()}))


async def _read_until_closed(websocket: WebSocket, sub: Subscriber) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sub.close()


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text.encode()) <= 120 else text.encode()[:117].decode(errors="ignore") + "..."  # 123-byte cap
