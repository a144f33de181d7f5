"""A card's output is capped per node in the run and in its results, and the cut is marked (issue 8 §5)."""

from __future__ import annotations

import json

import pytest

import tensorrag as tr
from tensorrag.executors import LocalExecutor
from tensorrag.executors.capture import LineSink
from tensorrag.executors.process import ProcessExecutor
from tests.executors import cards as C


def _run(tmp_path, lines: int, executor) -> tr.Run:
    p = tr.Pipeline("chatty")
    p.add(C.t_chatty, id="chatty", lines=lines)
    return p.run(executor=executor, storage=tmp_path, cache=False, progress=False)


def _manifest_bytes(tmp_path, run: tr.Run) -> int:
    (path,) = list(tmp_path.rglob(f"runs/{run.run_id}.json"))
    return path.stat().st_size


@pytest.mark.parametrize("make", [lambda: LocalExecutor(max_workers=2), lambda: ProcessExecutor(max_workers=1)])
def test_200k_printed_lines_make_a_small_manifest_marked_truncated(tmp_path, make):
    executor = make()
    try:
        run = _run(tmp_path, 200_000, executor)
    finally:
        executor.shutdown()
    assert run.ok, run.error("chatty")
    size = _manifest_bytes(tmp_path, run)
    assert size < 1_000_000, f"manifest is {size:,} bytes"  # 29 MB before the cap
    logs = [e for e in run.events if e["type"] == "log" and e["node_id"] == "chatty"]
    assert len(logs) == 5001  # TENSORRAG_MAX_LOG_LINES kept, then one event that says what was not
    assert logs[0]["text"] == "line 0" and logs[4999]["text"] == "line 4999"
    assert logs[-1]["truncated"] == 195_000
    assert "195,000 more lines not kept" in logs[-1]["text"] and "TENSORRAG_MAX_LOG_LINES" in logs[-1]["text"]
    status = [e for e in run.events if e["type"] == "node_status" and e["node_id"] == "chatty"]
    assert run.events.index(logs[-1]) < run.events.index(status[-1])  # the marker comes before the end
    node = run.manifest()["nodes"]["chatty"]
    assert node["logs_truncated"] is True
    text = run.logs("chatty")
    assert len(text) < 100_500
    assert text.startswith("line 0\n") and text.endswith("line 199999\n")  # first and last part
    assert "lines (" in text and "not kept here" in text and "TENSORRAG_MAX_LOG_CHARS" in text


def test_limits_are_settings_and_a_quiet_card_is_not_marked(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORRAG_MAX_LOG_LINES", "10")
    run = _run(tmp_path, 25, LocalExecutor(max_workers=2))
    logs = [e["text"] for e in run.events if e["type"] == "log"]
    assert logs[:10] == [f"line {i}" for i in range(10)]
    assert logs[10].startswith("… 15 more lines not kept (limit 10 lines")
    assert len(logs) == 11
    quiet = _run(tmp_path / "quiet", 3, LocalExecutor(max_workers=2))
    assert [e["text"] for e in quiet.events if e["type"] == "log"] == ["line 0", "line 1", "line 2"]
    assert quiet.manifest()["nodes"]["chatty"]["logs_truncated"] is False
    assert quiet.logs("chatty") == "line 0\nline 1\nline 2\n"


def test_the_cache_entry_keeps_the_capped_text(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORRAG_MAX_LOG_CHARS", "1000")
    p = tr.Pipeline("chatty")
    p.add(C.t_chatty, id="chatty", lines=5000)
    first = p.run(executor=LocalExecutor(max_workers=2), storage=tmp_path, progress=False)
    (meta,) = [m for m in tmp_path.rglob("_meta.json")]
    entry = json.loads(meta.read_text())
    assert len(entry["logs"]) < 1200 and "not kept here" in entry["logs"]
    again = p.run(executor=LocalExecutor(max_workers=2), storage=tmp_path, progress=False)
    assert again.status["chatty"] == "cached"
    assert again.logs("chatty") == first.logs("chatty")


class TestLineSink:
    def test_keeps_everything_without_a_limit(self):
        sink = LineSink()
        for i in range(1000):
            sink.write(f"{i}\n")
        assert sink.getvalue() == "".join(f"{i}\n" for i in range(1000))
        assert not sink.truncated

    def test_keeps_head_and_tail_within_the_limit_and_streams_every_line(self):
        seen: list[str] = []
        sink = LineSink(seen.append, max_chars=100)
        for i in range(1000):
            sink.write(f"line {i}\n")
        sink.flush()
        assert len(seen) == 1000  # live listeners of the sink see everything; the engine caps the run's copy
        text = sink.getvalue()
        assert sink.truncated
        head, _, rest = text.partition("\n… ")
        assert len(head) + len(rest.partition(" …\n")[2]) == 100
        assert text.startswith("line 0\n") and text.endswith("line 999\n")

    def test_one_huge_write_is_cut_too(self):
        sink = LineSink(max_chars=10)
        sink.write("x" * 1_000_000)
        assert sink.truncated
        assert sink.getvalue().count("x") == 10
