"""What a person sees in a terminal (110 columns) during ``make demo`` and a script's ``p.run()``.

Each test runs a real process under a pseudo-terminal, feeds every byte it writes through a small
terminal model (:class:`Screen`: carriage return, line feed, wrap at the width, erase-line and
cursor-up sequences) and asserts on the screen: the progress bar is one line that updates in place
at the bottom, card output appears once per line as ``[node_id] line`` while the run goes, the
metrics come at the end, and a failed node's error is printed after the run.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

WIDTH = 110
ROOT = Path(__file__).resolve().parents[1]
BAR = re.compile(r"\d+/\d+ \[")  # tqdm's "3/6 [00:01<00:02, ...]"


class Screen:
    """A minimal VT100 model: the transcript as rows of characters (no scrolling off the top)."""

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.continued: set[int] = set()  # rows that go on from the row above (the text wrapped)
        self.row = self.col = 0
        self._wrap = False  # xterm's pending wrap: the cursor sits on the last column
        self._esc = ""

    def feed(self, text: str) -> None:
        for ch in text:
            if self._esc:
                self._esc += ch
                if self._esc == "\x1b[" or (len(self._esc) > 2 and not ch.isalpha()):
                    continue
                self._control(self._esc)
                self._esc = ""
            elif ch == "\x1b":
                self._esc = ch
            elif ch == "\r":
                self.col, self._wrap = 0, False
            elif ch == "\n":
                self._down()
            elif ch == "\b":
                self.col, self._wrap = max(0, self.col - 1), False
            elif ch >= " ":
                if self._wrap:
                    self._down()
                    self.continued.add(self.row)
                    self.col, self._wrap = 0, False
                line = self.rows[self.row]
                line.extend(" " * (self.col + 1 - len(line)))
                line[self.col] = ch
                if self.col == self.width - 1:
                    self._wrap = True
                else:
                    self.col += 1

    def _down(self) -> None:
        self.row += 1
        self._wrap = False
        while len(self.rows) <= self.row:
            self.rows.append([])

    def _control(self, seq: str) -> None:
        body, final = seq[2:-1].lstrip("?"), seq[-1]
        n = int(body) if body.isdigit() else 0
        if final == "K":  # erase in line: 0 to the end, 1 to the start, 2 all
            line = self.rows[self.row]
            if n == 0:
                del line[self.col :]
            else:
                end = min(len(line), self.col + 1 if n == 1 else len(line))
                line[:end] = " " * end
        elif final == "A":
            self.row, self._wrap = max(0, self.row - max(1, n)), False
        elif final == "B":
            self._down()
        elif final == "C":
            self.col = min(self.width - 1, self.col + max(1, n))
        elif final == "D":
            self.col, self._wrap = max(0, self.col - max(1, n)), False
        elif final == "G":
            self.col, self._wrap = max(0, n - 1), False

    def lines(self, *, joined: bool = False) -> list[str]:
        """What is on screen, trailing spaces and trailing empty lines removed (``joined``: wrapped rows as one)."""
        out: list[str] = []
        for i, r in enumerate(self.rows):
            if joined and i in self.continued and out:
                out[-1] += "".join(r).rstrip()
            else:
                out.append("".join(r).rstrip())
        while out and not out[-1]:
            out.pop()
        return out


def run_in_terminal(argv: list[str], env: dict[str, str], *, on_screen: Callable[[list[str]], None] | None = None,
                    timeout: float = 60) -> tuple[int, Screen, list[list[str]]]:
    """Run ``argv`` under a pty of :data:`WIDTH` columns; return its exit code, the screen and each snapshot."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session with the pty as its controlling terminal
        try:
            os.chdir(env["HOME"])
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, WIDTH, 0, 0))
    screen, snapshots = Screen(), []
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, f"{argv} still running after {timeout} s:\n" + "\n".join(screen.lines())
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            screen.feed(data.decode("utf-8", "replace"))
            snapshots.append(screen.lines())
            if on_screen is not None:
                on_screen(snapshots[-1])
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), screen, snapshots


@pytest.fixture
def term_env(tmp_path: Path) -> dict[str, str]:
    isolate = ("TENSORRAG_", "STORAGE_DIR", "S3_", "DEFAULT_USER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(isolate)}
    env.update(HOME=str(tmp_path), TERM="xterm", COLUMNS=str(WIDTH), S3_ENABLED="false", PYTHONPATH=str(ROOT),
               TENSORRAG_STORAGE=str(tmp_path / "store"))
    return env


def assert_one_bar_line(snapshots: list[list[str]], *, updates: bool = True) -> None:
    """The bar is at most one line at any moment, the last one, and never left as a fragment.

    ``updates``: also require two different counts on screen (a run so short that all its redraws
    arrive in one read cannot show that).
    """
    counts = set()
    for lines in snapshots:
        bars = [i for i, line in enumerate(lines) if BAR.search(line)]
        assert len(bars) <= 1, "two bar lines:\n" + "\n".join(lines)
        if bars:
            assert bars[0] == len(lines) - 1, "the bar is not the bottom line:\n" + "\n".join(lines)
            counts.add(re.search(r"(\d+)/\d+ \[", lines[-1]).group(1))  # type: ignore[union-attr]
    assert len(counts) > 1 or not updates, f"the bar never updated in place (counts seen: {counts})"
    final = snapshots[-1]
    assert not [line for line in final if BAR.search(line) or "node/s" in line], "\n".join(final)


pytest.importorskip("tqdm")


@pytest.mark.timeout(90)
def test_make_demo_in_a_terminal(term_env: dict[str, str]) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    code, screen, snapshots = run_in_terminal([sys.executable, "-m", "tensorrag.demo"], term_env)
    lines = screen.lines(joined=True)
    assert code == 0, "\n".join(lines)
    assert_one_bar_line(snapshots)
    statuses = [line for line in lines if re.fullmatch(r"  \w+ +(completed|cached)", line)]
    assert sorted(s.split()[0] for s in statuses) == sorted(["load", "split", "define", "train", "evaluate",
                                                             "inference"])
    # Every line is one thing a person reads: no status glued to a bar or to another line.
    for line in lines:
        assert re.fullmatch(r"(Running pipeline.*|  \w+ +(completed|cached)|\[\w+\] .*|Run \S+: completed in .*|"
                            r"Metrics \(test set\):|  (MSE|RMSE|MAE|R2) +-?[\d.]+|Predictions: .*|Chart: .*|"
                            r"Pipeline file: .*|Run manifest: .*|Everything .*|)", line), f"garbled line {line!r}"
    metrics = lines.index("Metrics (test set):")
    assert metrics > lines.index(statuses[-1])
    # Each card's own line appears (prefixed by its node id) before that node's status line.
    for node in ("load", "split", "define", "train", "evaluate", "inference"):
        said = [i for i, line in enumerate(lines) if line.startswith(f"[{node}] ")]
        done = [i for i, line in enumerate(lines) if re.fullmatch(rf"  {node} +completed", line)]
        assert len(said) == 1 and done and said[0] < done[0] < metrics, (node, lines)
    assert any(re.fullmatch(r"\[split\] split 442 rows: 353 train, 89 test \(seed 42\)", line) for line in lines)
    assert {m.split()[0] for m in lines[metrics + 1 : metrics + 5]} == {"MSE", "RMSE", "MAE", "R2"}


SCRIPT = '''
import os, sys, time
import tensorrag as tr

@tr.card
def talk(n: int = 3) -> dict:
    print("tick 1")
    deadline = time.monotonic() + 30
    while not os.path.exists("go") and time.monotonic() < deadline:  # the test says go once it saw tick 1
        time.sleep(0.05)
    for i in range(2, n + 1):
        print(f"tick {{i}}")
    return {{"n": n}}

@tr.card
def explode(data: dict) -> dict:
    print("about to fail")
    raise ValueError("boom at " + str(data["n"]))

p = tr.Pipeline("talky")
p.add(talk, id="talk")
p.add(explode, id="bad")
p.connect("talk", "output", "bad", "data")
run = p.run(progress={progress}, echo={echo}{extra})
print("after the run:", run.state)
'''


def run_script(term_env: dict[str, str], tmp_path: Path, *, echo: bool, fail: bool = True,
               ) -> tuple[int, list[str], list[list[str]], list[str]]:
    script = tmp_path / "talky.py"
    extra = "" if fail else ', targets=["talk"]'
    script.write_text(textwrap.dedent(SCRIPT.format(progress=True, echo=echo, extra=extra)))
    seen_before_go: list[str] = []

    def go(lines: list[str]) -> None:
        if not seen_before_go and any("tick 1" in line for line in lines):
            seen_before_go.extend(lines)
            (tmp_path / "go").touch()

    if not echo:
        (tmp_path / "go").touch()
    code, screen, snapshots = run_in_terminal([sys.executable, str(script)], term_env, on_screen=go)
    return code, screen.lines(), snapshots, seen_before_go


@pytest.mark.timeout(60)
def test_card_output_streams_live_above_one_bar_and_the_error_comes_last(term_env, tmp_path) -> None:
    code, lines, snapshots, before_go = run_script(term_env, tmp_path, echo=True)
    assert code == 0, "\n".join(lines)
    assert_one_bar_line(snapshots)
    # "tick 1" was on screen while the card still ran (it waits for the file the test wrote on seeing it).
    assert "[talk] tick 1" in before_go and not any("tick 2" in line for line in before_go), before_go
    card_lines = [line for line in lines if line.startswith("[")]
    assert card_lines == ["[talk] tick 1", "[talk] tick 2", "[talk] tick 3", "[bad] about to fail"], "\n".join(lines)
    err = lines.index("node 'bad' failed: ValueError: boom at 3")
    assert err > lines.index("[bad] about to fail")
    assert any('raise ValueError("boom at " + str(data["n"]))' in line for line in lines[err:]), "\n".join(lines)
    assert "  (full traceback: run.error('bad')['traceback'])" in lines[err:]
    assert not any("runtime.py" in line for line in lines[err:])  # the frames that call every card: left out
    assert lines[-1] == "after the run: failed"


@pytest.mark.timeout(60)
def test_echo_false_prints_no_card_output(term_env, tmp_path) -> None:
    code, lines, snapshots, _ = run_script(term_env, tmp_path, echo=False)
    assert code == 0, "\n".join(lines)
    assert_one_bar_line(snapshots, updates=False)  # nothing waits here: the two redraws can arrive in one read
    assert lines == ["after the run: failed"]


@pytest.mark.timeout(60)
def test_a_run_that_succeeds_prints_no_error(term_env, tmp_path) -> None:
    code, lines, _, _ = run_script(term_env, tmp_path, echo=True, fail=False)
    assert code == 0, "\n".join(lines)
    assert lines == ["[talk] tick 1", "[talk] tick 2", "[talk] tick 3", "after the run: completed"]
