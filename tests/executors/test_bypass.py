"""Runs with disabled nodes: they and their descendants are skipped with a reason, the rest runs."""

from __future__ import annotations

import pytest

import tensorrag as tr
from tensorrag.errors import PipelineValidationError
from tensorrag.executors import LocalExecutor
from tests.executors import cards as C
from tests.executors.cards import read_marks, settle


@pytest.fixture(autouse=True)
def _settle():
    yield
    settle()


def chain(marks) -> tr.Pipeline:
    """a -> b -> c, and a -> d; every card marks its executions."""
    p = tr.Pipeline("bypass-run")
    p.add(C.t_source, id="a", mark_file=str(marks))
    p.add(C.t_double, id="b", mark_file=str(marks), tag="b")
    p.add(C.t_double, id="c", mark_file=str(marks), tag="c")
    p.add(C.t_double, id="d", mark_file=str(marks), tag="d")
    p.connect("a", "b")
    p.connect("b", "c")
    p.connect("a", "d")
    return p


def messages(run: tr.Run) -> dict[str, str]:
    return {ev["node_id"]: ev["message"] for ev in run.events
            if ev["type"] == "node_status" and ev["status"] == "skipped"}


def test_a_disabled_node_and_its_descendants_are_skipped_and_the_run_completes(tmp_path) -> None:
    marks = tmp_path / "marks.txt"
    p = chain(marks)
    p.disable("b")
    run = p.run(storage=tmp_path / "store", executor=LocalExecutor(max_workers=2))
    assert run.status == {"a": "completed", "b": "skipped", "c": "skipped", "d": "completed"}
    assert messages(run) == {"b": "disabled", "c": "upstream node 'b' is disabled"}
    assert run.state == "completed"  # skipping by choice is not a failure
    assert sorted(read_marks(marks)) == ["t_double_d", "t_source"]  # b and c never ran
    p.enable("b")
    again = p.run(storage=tmp_path / "store", executor=LocalExecutor(max_workers=2))
    assert again.status == {"a": "cached", "b": "completed", "c": "completed", "d": "cached"}


def test_a_disabled_node_with_a_broken_config_does_not_block_the_run(tmp_path) -> None:
    p = tr.Pipeline("bypass-broken")
    p.add(C.t_source, id="a")
    p.add(C.t_double, id="b")
    p.add(C.t_double, id="c")
    p.connect("a", "b")
    # c's required input is missing: the run refuses, until c is switched off
    with pytest.raises(PipelineValidationError, match="c"):
        p.run(storage=tmp_path)
    p.disable("c")
    run = p.run(storage=tmp_path, executor=LocalExecutor(max_workers=2))
    assert run.status == {"a": "completed", "b": "completed", "c": "skipped"}


def test_run_to_a_node_below_a_disabled_one_skips_it(tmp_path) -> None:
    marks = tmp_path / "marks.txt"
    p = chain(marks)
    p.disable("a")
    run = p.run(storage=tmp_path / "store", targets=["c"], executor=LocalExecutor(max_workers=2))
    assert run.status == {"a": "skipped", "b": "skipped", "c": "skipped"}
    assert messages(run)["c"] == "upstream node 'a' is disabled"
    assert not marks.exists()


def test_resume_keeps_disabled_nodes_skipped_until_enabled(tmp_path) -> None:
    flag = tmp_path / "fail.flag"
    flag.write_text("fail")
    p = tr.Pipeline("bypass-resume")
    p.add(C.t_source, id="a")
    p.add(C.t_flag_fail, id="f", flag=str(flag))
    p.add(C.t_double, id="off")
    p.connect("a", "f")
    p.connect("a", "off")
    p.disable("off")
    run = p.run(storage=tmp_path / "store", executor=LocalExecutor(max_workers=2))
    assert run.status == {"a": "completed", "f": "failed", "off": "skipped"} and run.state == "failed"
    flag.unlink()
    resumed = run.resume()
    assert resumed.status == {"a": "cached", "f": "completed", "off": "skipped"} and resumed.ok
