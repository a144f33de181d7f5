"""Per-thread output capture: cards' prints and logs go to their node, nothing else does."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

import tensorrag as tr
from tensorrag.executors import LocalExecutor
from tensorrag.executors.capture import LineSink, capture_output
from tests.executors import cards as C
from tests.executors.cards import settle


@pytest.fixture(autouse=True)
def _quiet():
    settle()  # no card of an earlier test may still hold a capture
    yield
    settle()


def test_two_threads_capturing_at_once_do_not_mix():
    barrier = threading.Barrier(2)
    sinks: dict[str, LineSink] = {}
    streamed: dict[str, list[str]] = {"a": [], "b": []}

    def work(tag: str) -> None:
        with capture_output(streamed[tag].append) as sink:
            barrier.wait()
            for i in range(200):
                print(f"{tag}-{i}")
                if i % 50 == 0:
                    logging.getLogger("capture-test").warning("%s-log-%d", tag, i)
                    time.sleep(0.001)
        sinks[tag] = sink

    threads = [threading.Thread(target=work, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for tag, other in (("a", "b"), ("b", "a")):
        text = sinks[tag].getvalue()
        assert f"{other}-" not in text
        prints = [line for line in text.splitlines() if not line.startswith("WARNING")]
        assert prints == [f"{tag}-{i}" for i in range(200)]
        assert sum("log" in line for line in text.splitlines()) == 4
        assert [line for line in streamed[tag] if not line.startswith("WARNING")] == prints


def test_stdout_and_stderr_are_restored():
    before = (sys.stdout, sys.stderr)
    root_handlers = list(logging.getLogger().handlers)
    with capture_output() as sink:
        assert sys.stdout is not before[0]
        print("captured")
    assert (sys.stdout, sys.stderr) == before
    assert logging.getLogger().handlers == root_handlers
    assert sink.getvalue() == "captured\n"


def test_stdout_is_restored_after_a_card_fails(tmp_path):
    before = (sys.stdout, sys.stderr)
    p = tr.Pipeline("restore")
    p.add(C.t_fail_root, id="bad")
    p.add(C.t_talk, id="talk")
    p.run(storage=tmp_path)
    assert (sys.stdout, sys.stderr) == before


def test_stdout_restored_when_the_block_raises():
    before = sys.stdout
    with pytest.raises(ZeroDivisionError), capture_output():
        1 / 0  # noqa: B018
    assert sys.stdout is before


def test_line_sink_streams_complete_lines_and_flushes_the_rest():
    lines: list[str] = []
    sink = LineSink(lines.append)
    sink.write("one\ntw")
    assert lines == ["one"]
    sink.write("o\nthree")
    assert lines == ["one", "two"]
    sink.flush()
    assert lines == ["one", "two", "three"]
    assert sink.getvalue() == "one\ntwo\nthree"


def test_print_from_another_thread_during_a_run_reaches_the_real_stdout(tmp_path, capsys):
    p = tr.Pipeline("outside")
    p.add(C.t_wait_go, id="card", text="inside the card")
    run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=1))
    deadline = time.monotonic() + 5
    while "inside the card" not in run.logs("card") and not [
        e for e in run.events if e["type"] == "log" and e["text"] == "inside the card"
    ]:
        assert time.monotonic() < deadline, "the card never printed"
        time.sleep(0.01)
    print("printed by the test thread")  # the card is still running and capturing
    C.GO.set()
    run.wait(10)
    assert run.ok
    out = capsys.readouterr().out
    assert "printed by the test thread" in out
    assert "[card] inside the card" in out  # echoed by the run (echo=True), with its node id
    assert "inside the card" not in out.replace("[card] inside the card", "")  # never the raw write
    assert "printed by the test thread" not in run.logs("card")
    assert "inside the card" in run.logs("card")


def test_logging_from_another_thread_is_not_captured(tmp_path):
    got: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            got.append(record.getMessage())

    handler = Collect()
    logger = logging.getLogger("outside-logger")
    logger.addHandler(handler)
    try:
        p = tr.Pipeline("outside-log")
        p.add(C.t_wait_go, id="card")
        run = p.run(storage=tmp_path, wait=False, executor=LocalExecutor(max_workers=1))
        deadline = time.monotonic() + 5
        while run.status["card"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        logger.warning("from the main thread")
        C.GO.set()
        run.wait(10)
    finally:
        logger.removeHandler(handler)
    assert got == ["from the main thread"]
    assert "from the main thread" not in run.logs("card")


def test_nested_capture_in_one_thread_restores_the_outer_sink():
    with capture_output() as outer:
        print("outer 1")
        with capture_output() as inner:
            print("inner")
        print("outer 2")
    assert inner.getvalue() == "inner\n"
    assert outer.getvalue() == "outer 1\nouter 2\n"


def test_a_capture_opened_after_stdout_was_replaced_mid_capture_still_captures():
    # An abandoned card still holds a capture while pytest, redirect_stdout or a notebook swaps
    # sys.stdout; the next card's prints must still reach its own node, not the new stream.
    import contextlib
    import io

    holding, release = threading.Event(), threading.Event()
    sinks: list[LineSink] = []

    def abandoned() -> None:
        with capture_output() as sink:
            holding.set()
            release.wait(10)
        sinks.append(sink)

    def card() -> None:
        with capture_output() as sink:
            print("the next card")
        sinks.append(sink)

    before = sys.stdout
    held = threading.Thread(target=abandoned)
    held.start()
    assert holding.wait(10)
    outer = io.StringIO()
    with contextlib.redirect_stdout(outer):
        t = threading.Thread(target=card)
        t.start()
        t.join()
        print("not a card: the swapped-in stream")
    release.set()
    held.join()
    assert sinks[0].getvalue() == "the next card\n"
    assert outer.getvalue() == "not a card: the swapped-in stream\n"
    assert sinks[1].getvalue() == ""
    assert sys.stdout is before
