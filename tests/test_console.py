"""The failure report a run prints at the end (tensorrag/_console.py)."""

from __future__ import annotations

import traceback

from tensorrag._console import failure_report


def _card() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        raise ValueError("bad config") from exc


def test_the_report_shows_the_last_exception_and_its_frames_not_the_cause() -> None:
    try:
        _card()
    except ValueError as exc:
        tb = "".join(traceback.format_exception(exc))
    report = failure_report({"n1": {"type": "ValueError", "message": "bad config", "traceback": tb}})
    lines = report.splitlines()
    assert lines[0] == "node 'n1' failed: ValueError: bad config"
    assert any('raise ValueError("bad config") from exc' in line for line in lines)
    assert not any("missing" in line for line in lines)  # the cause's frame: in the full traceback only
    assert lines[-1] == "  (full traceback: run.error('n1')['traceback'])"


def test_an_error_without_traceback_is_one_line() -> None:
    err = {"type": "TaskTimeoutError", "message": "ran past its timeout of 1 s", "traceback": ""}
    assert failure_report({"slow": err}) == "node 'slow' failed: TaskTimeoutError: ran past its timeout of 1 s"
