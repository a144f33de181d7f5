"""Live runs and their event channels: who is running what, and every WebSocket subscriber's feed.

Runs execute in their own threads (``run_pipeline(wait=False)``); their listener only hands each
event to the event loop with ``loop.call_soon_threadsafe`` (FIFO, so order is kept) and returns:
it never blocks the worker. On the loop a :class:`Channel` per ``(user, pipeline_id)`` keeps the
events of the latest run (the replay for a late subscriber) and appends each one to every
subscriber's own buffer. Subscribing copies the replay and registers the subscriber in one loop
step, so a subscriber gets every event exactly once and in order. A subscriber that falls more than
:data:`MAX_PENDING` events behind is dropped (its socket is closed and it can reconnect for a
replay); a disconnected one costs nothing more.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensorrag.run import Run

__all__ = ["MAX_PENDING", "Channel", "LiveRun", "RunHub", "Subscriber"]

log = logging.getLogger("tensorrag.server")

#: Events a subscriber may have unsent before it is dropped (bounds the memory of a stalled client).
MAX_PENDING = 50_000

Listener = Callable[[dict[str, Any]], None]
Key = tuple[str, str]


class Subscriber:
    """One WebSocket's feed: event texts not yet sent, and a wake-up for its sender."""

    def __init__(self) -> None:
        self.pending: deque[str] = deque()
        self.wake = asyncio.Event()
        self.dropped = False
        self.closed = False

    def push(self, text: str) -> None:
        """Queue one event's text (or drop this subscriber when it is too far behind)."""
        if self.dropped:
            return
        if len(self.pending) >= MAX_PENDING:
            self.dropped = True
            self.pending.clear()
        else:
            self.pending.append(text)
        self.wake.set()

    def close(self) -> None:
        """The socket closed: wake the sender so it stops."""
        self.closed = True
        self.wake.set()


@dataclass
class Channel:
    """The events of one ``(user, pipeline_id)``: a replay of the latest run and the live subscribers."""

    seq: int = -1  # the run whose events are kept for replay (the newest one started)
    replay: list[str] = field(default_factory=list)
    subscribers: set[Subscriber] = field(default_factory=set)

    def deliver(self, seq: int, text: str) -> None:
        """Keep ``text`` for replay when it belongs to the newest run, and send it to every subscriber."""
        if seq > self.seq:  # a new run on this channel: the replay starts again
            self.seq, self.replay = seq, []
        if seq == self.seq:
            self.replay.append(text)
        for sub in self.subscribers:  # an older run's late events still go out live (they carry its run_id)
            sub.push(text)


@dataclass
class LiveRun:
    """A run started through the server."""

    run: Run
    user: str
    project: str
    pipeline_id: str


class RunHub:
    """Every run started through one app, by user, and the event channels (see the module docstring).

    Args:
        max_runs: finished runs kept in memory for ``status``/``output`` (older ones, and runs of
            other processes, are read from their manifests: :mod:`tensorrag.server.stored`).
    """

    def __init__(self, max_runs: int = 1000) -> None:
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._latest: dict[Key, LiveRun] = {}
        self._runs: OrderedDict[Key, LiveRun] = OrderedDict()  # (user, run_id), oldest first
        self._channels: dict[Key, Channel] = {}  # touched on the loop only
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the app's event loop (called from every request; mounted apps get no lifespan)."""
        if self._loop is not loop:
            self._loop = loop

    # ------------------------------------------------------------------ runs (any thread)

    def start(self, user: str, project: str, pipeline_id: str, begin: Callable[[Listener], Run]) -> Run:
        """Start a run with ``begin(listener)`` and publish its events on ``(user, pipeline_id)``."""
        seq, key, loop = next(self._seq), (user, pipeline_id), self._loop

        def listener(event: dict[str, Any]) -> None:
            if loop is None:
                return
            try:
                loop.call_soon_threadsafe(self._deliver, key, seq, event)
            except RuntimeError:  # the loop closed (server shutdown): the run goes on, unobserved
                pass

        run = begin(listener)
        live = LiveRun(run, user, project, pipeline_id)
        with self._lock:
            self._latest[key] = live
            self._runs[(user, run.run_id)] = live
            self._evict()
        return run

    def _evict(self) -> None:
        while len(self._runs) > self.max_runs:
            for rkey, live in self._runs.items():
                if live.run.done:
                    del self._runs[rkey]
                    if self._latest.get((live.user, live.pipeline_id)) is live:
                        del self._latest[(live.user, live.pipeline_id)]
                    break
            else:
                return  # all running: keep them

    def latest(self, user: str, pipeline_id: str) -> LiveRun | None:
        """The run started last on ``pipeline_id`` by ``user``."""
        with self._lock:
            return self._latest.get((user, pipeline_id))

    def get(self, user: str, run_id: str) -> LiveRun | None:
        """A run of ``user`` by id (None when not started here or evicted)."""
        with self._lock:
            return self._runs.get((user, run_id))

    def forget_project(self, user: str, project: str) -> None:
        """Drop the runs of a deleted project (their artifacts are gone)."""
        with self._lock:
            for rkey in [k for k, v in self._runs.items() if v.user == user and v.project == project]:
                live = self._runs.pop(rkey)
                if self._latest.get((user, live.pipeline_id)) is live:
                    del self._latest[(user, live.pipeline_id)]

    # ------------------------------------------------------------------ channels (the loop only)

    def _deliver(self, key: Key, seq: int, event: dict[str, Any]) -> None:
        try:
            text = json.dumps(event, default=str)
        except (TypeError, ValueError):  # pragma: no cover - events are plain JSON by contract
            log.warning("event not sent: not JSON: %r", event)
            return
        self._channels.setdefault(key, Channel()).deliver(seq, text)

    def subscribe(self, user: str, pipeline_id: str) -> Subscriber:
        """A subscriber already holding the replay of the latest run (call on the loop)."""
        channel = self._channels.setdefault((user, pipeline_id), Channel())
        sub = Subscriber()
        sub.pending.extend(channel.replay)
        if sub.pending:
            sub.wake.set()
        channel.subscribers.add(sub)
        return sub

    def subscribers(self, user: str, pipeline_id: str) -> int:
        """How many WebSockets follow ``(user, pipeline_id)`` now (call on the loop)."""
        channel = self._channels.get((user, pipeline_id))
        return len(channel.subscribers) if channel is not None else 0

    def unsubscribe(self, user: str, pipeline_id: str, sub: Subscriber) -> None:
        """Forget ``sub`` (call on the loop)."""
        channel = self._channels.get((user, pipeline_id))
        if channel is not None:
            channel.subscribers.discard(sub)
            if not channel.subscribers and not channel.replay:
                del self._channels[(user, pipeline_id)]
