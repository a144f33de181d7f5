"""Per-thread capture of ``print``, ``sys.stderr`` and ``logging`` output of running cards.

Cards run in pool threads of one process, so ``sys.stdout`` is shared. While any capture is
active, ``sys.stdout``/``sys.stderr`` are replaced by a router that sends each write to the sink
registered for the writing thread (or to the real stream for threads that run no card), and a
root logging handler does the same for log records. The router is removed when the last capture
ends, so nothing is left patched after a run.

A sink keeps at most ``max_chars`` characters (``TENSORRAG_MAX_LOG_CHARS`` in ``run_task``): the
first half and the last half of the output, with one line in between that says how much was not
kept, so a card that prints millions of lines cannot fill memory, results or cache entries.
Live streaming (``on_line``) still sees every line; the engine caps what a run keeps of those.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["LineSink", "capture_output", "close_capture", "open_capture", "routing", "uncaptured"]

_sinks: dict[int, list[LineSink]] = {}  # per thread: a stack, so nested captures restore the outer one
_lock = threading.Lock()
_active = 0
_handler: logging.Handler | None = None


class LineSink:
    """Collects a task's output; calls ``on_line`` for every complete line (live streaming).

    Args:
        on_line: called with each complete line, as it is written.
        max_chars: keep at most this many characters (first and last halves); None keeps all.
    """

    def __init__(self, on_line: Callable[[str], None] | None = None, max_chars: int | None = None) -> None:
        self._buf: io.StringIO | None = None  # the head, made on the first write (most cards print nothing)
        self._room = max_chars // 2 if max_chars is not None else None  # left in the head
        self._tail: deque[str] | None = None
        self._tail_len = 0
        self._tail_max = max_chars - max_chars // 2 if max_chars is not None else 0
        self._max_chars = max_chars
        self._cut_chars = 0
        self._cut_lines = 0
        self._partial = ""
        self._on_line = on_line

    @property
    def truncated(self) -> bool:
        """Some of the output was not kept (see :meth:`getvalue`)."""
        return self._cut_chars > 0

    def write(self, text: str) -> None:
        """Record ``text``; complete lines are streamed at once."""
        self._keep(text)
        if self._on_line is None:
            return
        chunk = self._partial + text
        *lines, self._partial = chunk.split("\n")
        for line in lines:
            self._on_line(line)

    def flush(self) -> None:
        """Stream a trailing partial line."""
        if self._partial and self._on_line is not None:
            self._on_line(self._partial)
        self._partial = ""

    def getvalue(self) -> str:
        """Everything written so far, or its first and last parts around a line saying what was cut."""
        head = self._buf.getvalue() if self._buf is not None else ""
        if not self._cut_chars and not self._tail:
            return head
        cut = ""
        if self._cut_chars:
            cut = (
                f"\n… {self._cut_lines:,} lines ({self._cut_chars:,} characters) not kept here "
                f"(limit {self._max_chars:,} characters per node, TENSORRAG_MAX_LOG_CHARS) …\n"
            )
        return head + cut + "".join(self._tail or ())

    def _keep(self, text: str) -> None:
        if self._buf is None:
            self._buf, self._tail = io.StringIO(), deque()
        if self._room is None:
            self._buf.write(text)
            return
        if self._room > 0:
            head, text = text[: self._room], text[self._room :]
            self._buf.write(head)
            self._room -= len(head)
            if not text:
                return
        assert self._tail is not None
        self._tail.append(text)
        self._tail_len += len(text)
        while self._tail_len > self._tail_max:  # drop the oldest part of the tail
            first = self._tail[0]
            excess = self._tail_len - self._tail_max
            dropped = first if len(first) <= excess else first[:excess]
            if dropped is first:
                self._tail.popleft()
            else:
                self._tail[0] = first[excess:]
            self._tail_len -= len(dropped)
            self._cut_chars += len(dropped)
            self._cut_lines += dropped.count("\n")


class _Router(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    @property
    def fallback(self) -> TextIO:
        """The stream this router writes to for threads that run no card."""
        return self._fallback

    def write(self, text: str) -> int:
        stack = _sinks.get(threading.get_ident())
        if not stack:
            return self._fallback.write(text)
        stack[-1].write(text)
        return len(text)

    def flush(self) -> None:
        self._fallback.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._fallback, "encoding", "utf-8")

    def fileno(self) -> int:
        return self._fallback.fileno()


class _RoutingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        stack = _sinks.get(record.thread or 0)
        if stack:
            stack[-1].write(self.format(record) + "\n")


def _retain() -> None:
    global _active, _handler
    # Checked on every capture, not only the first: something may have replaced sys.stdout while a
    # capture was open (redirect_stdout, pytest, a notebook), and a card's prints would bypass us.
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr)  # type: ignore[assignment]
    if _handler is None:
        _handler = _RoutingHandler()
        _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(_handler)
    _active += 1


def _release() -> None:
    global _active, _handler
    _active -= 1
    if _active == 0:
        # Unwrap only a router on top; whatever someone installed over it since stays.
        if isinstance(sys.stdout, _Router):
            sys.stdout = sys.stdout.fallback
        if isinstance(sys.stderr, _Router):
            sys.stderr = sys.stderr.fallback
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
        _handler = None


@contextmanager
def uncaptured() -> Iterator[None]:
    """Let this thread write to the real streams for a block, inside a capture (a listener echoing a card's line)."""
    tid = threading.get_ident()
    stack = _sinks.pop(tid, None)  # only this thread changes its own entry
    try:
        yield
    finally:
        if stack is not None:
            _sinks[tid] = stack


@contextmanager
def routing() -> Iterator[None]:
    """Keep the router installed for a block (a whole run), so per-task captures stay cheap."""
    with _lock:
        _retain()
    try:
        yield
    finally:
        with _lock:
            _release()


@contextmanager
def capture_output(on_line: Callable[[str], None] | None = None, max_chars: int | None = None) -> Iterator[LineSink]:
    """Capture this thread's stdout/stderr/logging into a :class:`LineSink` for the block."""
    sink = open_capture(on_line, max_chars)
    try:
        yield sink
    finally:
        close_capture(sink)


def open_capture(on_line: Callable[[str], None] | None = None, max_chars: int | None = None) -> LineSink:
    """Start capturing this thread's output into a new sink; end with :func:`close_capture` (in a ``finally``).

    :func:`capture_output` without the context manager, for the per-task hot path.
    """
    sink = LineSink(on_line, max_chars)
    tid = threading.get_ident()
    with _lock:
        _retain()
        _sinks.setdefault(tid, []).append(sink)
    return sink


def close_capture(sink: LineSink) -> None:
    """End the capture :func:`open_capture` started on this thread."""
    sink.flush()
    tid = threading.get_ident()
    with _lock:
        stack = _sinks.get(tid, [])
        if sink in stack:
            stack.remove(sink)
        if not stack:
            _sinks.pop(tid, None)
        _release()
