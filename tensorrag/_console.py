"""What a run prints where a person watches it: the progress bar, card output, and failures.

One writer for the terminal. While the tqdm bar is shown, ``sys.stdout`` and ``sys.stderr`` are
wrapped (:class:`_AboveBar`) so every complete line from any code that is not a card (``on_event``
listeners, the echo of card output, the user's own prints during ``wait=False``) is written
*above* the bar: clear the bar, write the line, redraw the bar. The bar so stays one line that
updates in place. Cards' own output never reaches these streams directly: it is captured per
node (executors/capture.py) and comes back as ``log`` events, which :class:`RunConsole` echoes
as ``[node_id] line`` on ``sys.stdout`` (the notebook cell's stream when ``p.run()`` blocks in a
cell). At the end of a run it prints each failed node's error to ``sys.stderr``.
"""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from tensorrag.executors.engine import TERMINAL

__all__ = ["RunConsole", "failure_report"]

#: Traceback lines shown per failed node at the end of a run (``run.error(node)`` has them all).
_TB_LINES = 6
#: Where the frames that call a card live: left out of the failure report (they are the same every time).
_RUNNER = (str(Path(__file__).parent / "executors"), str(Path(__file__).parent / "cards" / "decorator.py"))


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


class _AboveBar(io.TextIOBase):
    """A stream that writes complete lines above the bar (partial lines wait for their newline)."""

    def __init__(self, stream: TextIO, console: RunConsole) -> None:
        self._stream, self._console = stream, console
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._console.above("".join(f"{line}\n" for line in lines), self._stream)
        return len(text)

    def drain(self) -> None:
        """Write a partial line still waiting for its newline (the bar is gone by then)."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._stream.write(rest)
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


class RunConsole:
    """An engine listener owning a run's terminal output (see the module docstring).

    Args:
        total: nodes in the run (the bar's length).
        progress: show a tqdm bar.
        echo: print card output live as ``[node_id] line``, and failed nodes' errors at the end.
    """

    def __init__(self, total: int, *, progress: bool, echo: bool) -> None:
        self.progress, self.echo = progress, echo
        self._total = total
        self._bar: Any = None
        self._wrapped: tuple[TextIO, TextIO, _AboveBar, _AboveBar] | None = None

    @property
    def enabled(self) -> bool:
        """Whether the console prints anything (else it need not listen)."""
        return self.progress or self.echo

    def start(self) -> None:
        """Show the bar and route terminal writes above it (call before the engine runs)."""
        if not self.progress:
            return
        out, err = sys.stdout, sys.stderr
        if _in_notebook():  # a widget bar: cell output does not fight with it
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self._total, unit="node", leave=False)
            return
        from tqdm import tqdm as std_tqdm

        # miniters=1: every node redraws, and tqdm's monitor thread never redraws behind our lock
        self._bar = std_tqdm(total=self._total, unit="node", leave=False, file=err, miniters=1, mininterval=0)
        above_out, above_err = _AboveBar(out, self), _AboveBar(err, self)
        self._wrapped = (out, err, above_out, above_err)
        sys.stdout, sys.stderr = above_out, above_err  # type: ignore[assignment]

    def above(self, text: str, stream: TextIO) -> None:
        """Write ``text`` (whole lines) to ``stream`` above the bar."""
        bar = self._bar
        if bar is None:
            stream.write(text)
            stream.flush()
            return
        with bar.get_lock():
            bar.clear()
            stream.write(text)
            stream.flush()
            bar.refresh()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "log" and self.echo:
            print(f"[{event['node_id']}] {event['text']}", flush=True)
        elif kind == "node_status" and event["status"] in TERMINAL:
            if self._bar is not None:
                self._bar.set_postfix_str(f"{event['node_id']}: {event['status']}", refresh=False)
                self._bar.update(1)  # one redraw, with this node's status
        elif kind == "pipeline_completion":
            self._close_bar()

    def _close_bar(self) -> None:
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.close()

    def stop(self) -> None:
        """Remove the bar and the stream wrappers (idempotent; after the engine restored its own)."""
        self._close_bar()
        if self._wrapped is not None:
            out, err, above_out, above_err = self._wrapped
            self._wrapped = None
            # Restore only what we installed; someone may have replaced it since.
            if sys.stdout is above_out:
                sys.stdout = out
            if sys.stderr is above_err:
                sys.stderr = err
            above_out.drain()
            above_err.drain()

    def report(self, errors: dict[str, dict[str, str]]) -> None:
        """Print each failed node's error to ``sys.stderr`` (when echo is on)."""
        if self.echo and errors:
            print(failure_report(errors), file=sys.stderr, flush=True)


def failure_report(errors: dict[str, dict[str, str]]) -> str:
    """A readable block per failed node: ``node 'id' failed: Type: message`` and the card's last frames."""
    blocks = []
    for nid, err in errors.items():
        lines = [f"node {nid!r} failed: {err.get('type')}: {err.get('message')}"]
        frames = _card_frames(err.get("traceback") or "")
        if frames:
            lines += [f"  {line}" for line in frames[-_TB_LINES:]]
            lines.append(f"  (full traceback: run.error({nid!r})['traceback'])")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _card_frames(traceback: str) -> list[str]:
    """The traceback's frame lines from the first one outside tensorrag (the card's), markers left out."""
    frames: list[list[str]] = []
    for line in traceback.splitlines():
        if line.startswith("  File "):
            frames.append([line])
        elif frames and line.startswith("    ") and line.strip(" ^~"):
            frames[-1].append(line)
        elif frames and not line.startswith(" "):  # the exception line: a chained one starts over
            frames = [] if line.startswith(("During handling", "The above exception")) else frames
    first = next((i for i, f in enumerate(frames) if not any(r in f[0] for r in _RUNNER)), len(frames) - 1)
    return [line for frame in frames[max(first, 0) :] for line in frame]
