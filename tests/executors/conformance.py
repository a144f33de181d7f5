"""The executor conformance suite (in the style of fsspec's ``tests/abstract``).

Every executor must pass it. Subclass :class:`ExecutorConformance` in a ``test_*.py`` module and
implement :meth:`ExecutorConformance.make_executor`::

    class TestLocalConformance(ExecutorConformance):
        def make_executor(self):
            return LocalExecutor(max_workers=4)

The tests run real pipelines of the cards in :mod:`tests.executors.cards` (importable by
module reference, so out-of-process workers can load them) over a local-disk store under
``tmp_path`` (override the ``storage`` fixture for an executor that needs another store).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

import tensorrag as tr
from tensorrag.executors import Executor, run_wire
from tensorrag.executors.runtime import card_ref
from tensorrag.executors.worker import dumps, loads
from tensorrag.spec import Task, TaskResult, check_wire
from tensorrag.storage import open_store
from tensorrag.storage.codecs import sha256
from tests.executors import cards as C
from tests.executors.cards import read_marks, settle

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["ExecutorConformance", "RecordingExecutor", "node_statuses"]


class RecordingExecutor(Executor):
    """Wraps an executor and checks the wire form of every task and result that passes through."""

    name = "recording"

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.max_workers = inner.max_workers
        self.in_process = inner.in_process
        self.tasks: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []

    @property
    def streams_logs(self) -> bool:  # type: ignore[override]
        return bool(self.inner.streams_logs)

    def submit(self, task: Task, events: Any = None) -> Future[TaskResult]:
        try:
            wire = task.to_wire()  # raises SpecError for anything that cannot travel
            check_wire(wire)  # bytes, str, numbers, lists and dicts only
            back = Task.from_wire(loads(dumps(wire)))  # survives the pipe (an unpickler that refuses classes)
            if back != task:
                self.problems.append(f"{task.node_id}: task does not round-trip: {back!r} != {task!r}")
            self.tasks.append(wire)
        except Exception as exc:  # recorded, asserted by the test
            self.problems.append(f"{task.node_id}: {type(exc).__name__}: {exc}")
        fut = self.inner.submit(task, events)

        def check(f: Future[TaskResult]) -> None:
            try:
                payload = f.result().to_wire()
                self.results[task.node_id] = payload
                TaskResult.from_wire(payload)
            except Exception as exc:
                self.problems.append(f"{task.node_id} result: {type(exc).__name__}: {exc}")

        fut.add_done_callback(check)
        return fut

    def cancel(self, future: Future[TaskResult]) -> None:
        self.inner.cancel(future)

    def preflight(self, cards: list[Any]) -> None:
        self.inner.preflight(cards)

    def uri_mode(self, task: Task, store: Any) -> bool:
        return self.inner.uri_mode(task, store)

    def streams_logs_for(self, task: Task) -> bool:
        return self.inner.streams_logs_for(task)

    def start(self) -> None:
        self.inner.start()

    def shutdown(self, wait: bool = True) -> None:
        self.inner.shutdown(wait)


def node_statuses(run: tr.Run) -> dict[str, list[str]]:
    """Node id -> the statuses its ``node_status`` events went through, in order."""
    out: dict[str, list[str]] = {}
    for ev in run.events:
        if ev["type"] == "node_status":
            out.setdefault(ev["node_id"], []).append(ev["status"])
    return out


class ExecutorConformance:
    """Behaviour every executor must have. Subclasses implement :meth:`make_executor`."""

    def make_executor(self) -> Executor:
        raise NotImplementedError("subclasses return a fresh executor instance")

    @pytest.fixture
    def storage(self, tmp_path) -> str:
        return str(tmp_path / "store")

    @pytest.fixture
    def marks(self, tmp_path):
        return tmp_path / "marks.txt"

    @pytest.fixture(autouse=True)
    def _settle(self):
        yield
        settle()

    def _run(self, p: tr.Pipeline, storage: str, **kwargs: Any) -> tr.Run:
        kwargs.setdefault("executor", self.make_executor())
        return p.run(storage=storage, **kwargs)

    # ------------------------------------------------------------------ happy paths

    def test_chain_completes_with_correct_values(self, storage, marks):
        p = tr.Pipeline("chain")
        p.add(C.t_source, id="a", n=4, mark_file=str(marks))
        p.add(C.t_double, id="b", factor=3, mark_file=str(marks), tag="b")
        p.add(C.t_double, id="c", factor=2, mark_file=str(marks), tag="c")
        p.connect("a", "b")
        p.connect("b", "c")
        run = self._run(p, storage)
        assert run.ok, run.status
        assert run.state == "completed"
        assert run.status == {"a": "completed", "b": "completed", "c": "completed"}
        assert run.output("a") == {"values": [0, 1, 2, 3]}
        assert run.output("b", "output") == {"values": [0, 3, 6, 9]}
        assert run.output("c") == {"values": [0, 6, 12, 18]}
        assert sorted(read_marks(marks)) == ["t_double_b", "t_double_c", "t_source"]

    def test_diamond(self, storage, marks):
        p = tr.Pipeline("diamond")
        p.add(C.t_source, id="top", n=3)
        p.add(C.t_double, id="left", factor=2)
        p.add(C.t_double, id="right", factor=3)
        p.add(C.t_add, id="bottom", mark_file=str(marks))
        p.connect("top", "left")
        p.connect("top", "right")
        p.connect("left", "output", "bottom", "a")
        p.connect("right", "output", "bottom", "b")
        run = self._run(p, storage)
        assert run.ok, run.status
        assert run.output("bottom") == {"values": [0, 5, 10]}
        assert read_marks(marks) == ["t_add"]  # the join ran once, after both parents

    def test_original_style_card(self, storage):
        p = tr.Pipeline("original")
        p.add(C.ScaleCard, id="scale", factor=3)
        run = self._run(p, storage)
        assert run.ok, run.error("scale")
        pd.testing.assert_frame_equal(run.output("scale", "scaled"), pd.DataFrame({"v": [3.0, 6.0, 9.0]}))
        assert run.preview("scale") == {"rows": [{"v": 3.0}, {"v": 6.0}, {"v": 9.0}], "total": 18.0}

    # ------------------------------------------------------------------ failures

    def test_failure_skips_descendants_and_keeps_independent_branches(self, storage):
        p = tr.Pipeline("failing")
        p.add(C.t_source, id="src", n=2)
        p.add(C.t_fail, id="bad", message="kaboom 42")
        p.add(C.t_double, id="after_bad")
        p.add(C.t_double, id="after_after_bad")
        p.add(C.t_double, id="fine")
        p.connect("src", "bad")
        p.connect("bad", "after_bad")
        p.connect("after_bad", "after_after_bad")
        p.connect("src", "fine")
        run = self._run(p, storage)

        assert run.status == {
            "src": "completed",
            "bad": "failed",
            "after_bad": "skipped",
            "after_after_bad": "skipped",
            "fine": "completed",
        }
        assert run.state == "failed"
        assert not run.ok
        seq = node_statuses(run)
        assert seq["bad"] == ["pending", "running", "failed"]
        assert seq["after_bad"] == seq["after_after_bad"] == ["pending", "skipped"]
        assert seq["fine"] == ["pending", "running", "completed"]
        err = run.error("bad")
        assert err is not None
        assert err["type"] == "ValueError"
        assert err["message"] == "kaboom 42"
        assert "Traceback" in err["traceback"]
        assert "raise ValueError(message)" in err["traceback"]  # points into the card's code
        assert run.error("fine") is None
        assert run.output("fine") == {"values": [0, 2]}
        last = run.events[-1]
        assert last["type"] == "pipeline_completion"
        assert last["status"] == "failed"
        assert isinstance(last["execution_time"], float)
        # the failure is kept in the manifest written to the store
        saved = run.store.read_run(run.run_id)
        assert saved["status"] == "failed"
        assert saved["nodes"]["bad"]["error"]["type"] == "ValueError"
        assert saved["nodes"]["after_bad"]["status"] == "skipped"

    def test_fail_fast_stops_starting_new_nodes(self, storage, marks):
        p = tr.Pipeline("failfast")
        p.add(C.t_fail_root, id="bad")
        p.add(C.t_sleep, id="slow", seconds=0.3, tag="slow")
        p.add(C.t_double, id="later", mark_file=str(marks), tag="later")
        p.connect("slow", "later")
        run = self._run(p, storage, fail_fast=True)
        assert run.status["bad"] == "failed"
        assert run.status["later"] == "skipped"
        assert run.status["slow"] in ("completed", "skipped")  # may have started alongside 'bad'
        assert read_marks(marks) == []  # 'later' never started
        assert run.state == "failed"
        assert run.events[-1]["type"] == "pipeline_completion"

    def test_without_fail_fast_the_independent_branch_runs(self, storage, marks):
        p = tr.Pipeline("nofailfast")
        p.add(C.t_fail_root, id="bad")
        p.add(C.t_sleep, id="slow", seconds=0.05, tag="slow")
        p.add(C.t_double, id="later", mark_file=str(marks), tag="later")
        p.connect("slow", "later")
        run = self._run(p, storage)
        assert run.status == {"bad": "failed", "slow": "completed", "later": "completed"}
        assert read_marks(marks) == ["t_double_later"]

    def test_missing_declared_output(self, storage):
        p = tr.Pipeline("missing")
        p.add(C.MissingOutputCard, id="miss")
        run = self._run(p, storage)
        assert run.status == {"miss": "failed"}
        err = run.error("miss")
        assert err["type"] == "MissingOutputError"
        assert "'b'" in err["message"]

    def test_execute_returning_a_non_dict_fails_the_node(self, storage):
        p = tr.Pipeline("notadict")
        p.add(C.NotADictCard, id="bad")
        run = self._run(p, storage)
        assert run.status == {"bad": "failed"}
        assert run.error("bad")["type"] == "CardExecutionError"
        assert "must return a dict" in run.error("bad")["message"]

    def test_sys_exit_fails_only_the_node(self, storage):
        p = tr.Pipeline("exiting")
        p.add(C.t_exit, id="exit", code=3)
        p.add(C.t_source, id="other")
        run = self._run(p, storage)
        assert run.status == {"exit": "failed", "other": "completed"}
        assert run.error("exit")["type"] == "SystemExit"
        assert run.error("exit")["message"] == "3"

    def test_timeout_fails_the_node_and_the_run_still_ends(self, storage):
        p = tr.Pipeline("timeout")
        p.add(C.t_sleep, id="slow", resources={"timeout": 0.3}, seconds=2.0, tag="slow")
        p.add(C.t_source, id="quick")
        t0 = time.perf_counter()
        run = self._run(p, storage)
        elapsed = time.perf_counter() - t0
        assert run.status == {"slow": "failed", "quick": "completed"}
        err = run.error("slow")
        assert err["type"] == "TaskTimeoutError"
        assert "0.3" in err["message"]
        assert run.state == "failed"
        assert run.done
        assert run.events[-1]["type"] == "pipeline_completion"
        assert elapsed < 1.9, f"the run waited for the timed-out card ({elapsed:.2f} s)"

    # ------------------------------------------------------------------ logs, progress

    def test_print_and_logging_reach_logs_and_log_events(self, storage):
        p = tr.Pipeline("talking")
        p.add(C.t_talk, id="talk", text="hello from card")
        p.add(C.t_source, id="quiet")
        run = self._run(p, storage)
        assert run.ok, run.error("talk")
        logs = run.logs("talk")
        assert "hello from card\n" in logs
        assert "hello from card (stderr)" in logs
        assert "careful: hello from card" in logs
        assert "WARNING" in logs
        texts = [e["text"] for e in run.events if e["type"] == "log" and e["node_id"] == "talk"]
        assert "hello from card" in texts
        assert "hello from card (stderr)" in texts
        assert any("careful: hello from card" in t for t in texts)
        assert "no newline at the end" in texts  # a trailing partial line is flushed
        assert not [e for e in run.events if e["type"] == "log" and e["node_id"] == "quiet"]
        assert run.logs("quiet") == ""

    def test_report_progress_gives_progress_events(self, storage):
        p = tr.Pipeline("progress")
        p.add(C.t_progress, id="prog", steps=4)
        p.add(C.ProgressCard, id="orig")
        run = self._run(p, storage)
        assert run.ok
        prog = [(e["current"], e["total"]) for e in run.events if e["type"] == "progress" and e["node_id"] == "prog"]
        assert prog == [(1, 4), (2, 4), (3, 4), (4, 4)]
        orig = [(e["current"], e["total"]) for e in run.events if e["type"] == "progress" and e["node_id"] == "orig"]
        assert orig == [(1, 2), (2, 2)]  # storage.progress() in an original-style card
        # progress events come between the node's running and completed events
        kinds = [
            e.get("status", e["type"])
            for e in run.events
            if e.get("node_id") == "prog" and e["type"] in ("node_status", "progress")
        ]
        assert kinds == ["pending", "running", "progress", "progress", "progress", "progress", "completed"]

    # ------------------------------------------------------------------ outputs

    def test_outputs_round_trip_every_artifact_type(self, storage):
        p = tr.Pipeline("types")
        p.add(C.t_types, id="types", rows=3)
        p.add(C.t_use_types, id="use")
        p.connect("types", "frame", "use", "frame")
        p.connect("types", "model", "use", "model")
        p.connect("types", "blob", "use", "blob")
        run = self._run(p, storage)
        assert run.ok, {n: run.error(n) for n in run.status}

        frame = run.output("types", "frame")
        pd.testing.assert_frame_equal(frame, pd.DataFrame({"x": [0, 1, 2], "name": ["r0", "r1", "r2"]}))
        assert run.output("types", "doc") == {"nested": {"a": [1, 2.5, None]}, "s": "é"}
        assert run.output("types", "blob") == b"\x00\x01binary\xff"
        model = run.output("types", "model")
        assert isinstance(model, C.Box)
        assert model == C.Box([1.0, 2.0], name="boxy")
        assert run.output("use") == {"rows": 3, "model_class": "Box", "prediction": 6.0, "blob_len": 9}

        refs = run.outputs("types")
        assert set(refs) == {"frame", "doc", "blob", "model"}
        assert {port: ref["type"] for port, ref in refs.items()} == {
            "frame": "dataframe",
            "doc": "json",
            "blob": "bytes",
            "model": "model",
        }
        for ref in refs.values():
            assert ref["sha256"] == sha256(run.store.get_bytes(ref))

    def test_extras_are_kept(self, storage):
        p = tr.Pipeline("extras")
        p.add(C.t_types, id="types")
        run = self._run(p, storage)
        assert run.ok
        assert "chart" not in run.outputs("types")  # not a port ...
        extras = run.manifest()["nodes"]["types"]["extras"]
        assert set(extras) == {"chart"}  # ... but kept as an extra artifact
        assert run.output("types", "chart") == b"\x89PNG fake chart"
        assert extras["chart"]["sha256"] == sha256(b"\x89PNG fake chart")

    def test_preview_present(self, storage):
        p = tr.Pipeline("previews")
        p.add(C.t_types, id="types")
        p.add(C.t_source, id="src", n=2)
        run = self._run(p, storage)
        table = run.preview("types")  # first declared output (a DataFrame) as a table
        assert table["shape"] == {"rows": 3, "cols": 2}
        assert [c["name"] for c in table["columns"]] == ["x", "name"]
        assert table["rows"][0] == {"x": 0, "name": "r0"}
        assert run.preview("src")["values"] == [0, 1]  # a json output in the metrics view
        json.dumps(run.preview("types"), allow_nan=False)

    # ------------------------------------------------------------------ wire format

    def test_every_executed_task_and_result_is_valid_on_the_wire(self, storage):
        p = tr.Pipeline("wire")
        p.add(C.t_source, id="a", n=2)
        p.add(C.t_double, id="b")
        p.add(C.t_types, id="types")
        p.add(C.t_fail, id="bad")
        p.connect("a", "b")
        p.connect("a", "bad")
        rec = RecordingExecutor(self.make_executor())
        run = p.run(executor=rec, storage=storage)
        deadline = time.monotonic() + 5
        while len(rec.results) < 4 and time.monotonic() < deadline:  # done callbacks may lag a little
            time.sleep(0.01)
        assert rec.problems == []
        assert sorted(t["node_id"] for t in rec.tasks) == ["a", "b", "bad", "types"]
        by_node = {t["node_id"]: t for t in rec.tasks}
        assert by_node["b"]["card"]["card_type"] == "t_double"
        assert by_node["b"]["inputs"]["data"]["type"] == "json"
        fed = by_node["b"]["inputs"]["data"]
        produced = run.outputs("a")["output"]
        if "uri" in fed:  # the worker reads the store itself
            assert fed["uri"] == produced["uri"]
        else:  # payload mode: the artifact's bytes travel in the task
            assert sha256(fed["data"]) == produced["sha256"]
        assert by_node["b"]["run_id"] == run.run_id
        assert by_node["b"]["config"]["factor"] == 2  # defaults are filled before the task is built
        assert "error" in rec.results["bad"]
        assert "error" not in rec.results["b"]

    def test_run_wire_over_a_file_store(self, tmp_path):
        store = open_store(tmp_path / "wire-store").project("wired")
        task = Task(
            run_id="r1",
            node_id="src",
            card=card_ref(C.t_source.card_class),
            config={"n": 4},
            inputs={},
            key="key-src",
            pipeline_id="wired",
            storage=store.to_wire(),
        )
        payload = json.loads(json.dumps(task.to_wire()))  # it really is plain JSON
        out = run_wire(payload)
        check_wire(out)
        result = TaskResult.from_wire(out)
        assert result.ok, result.error
        ref = result.outputs["output"]
        assert ref["uri"].startswith(store.url + "/artifacts/key-src/")
        assert ref["sha256"] == sha256(store.read_bytes(ref["uri"]))
        assert store.get(ref) == {"values": [0, 1, 2, 3]}

        downstream = Task(
            run_id="r1",
            node_id="dbl",
            card=card_ref(C.t_double.card_class),
            config={"factor": 10},
            inputs={"data": {"type": "json", "uri": ref["uri"]}},
            key="key-dbl",
            storage=store.to_wire(),
        )
        result2 = TaskResult.from_wire(run_wire(json.loads(json.dumps(downstream.to_wire()))))
        assert result2.ok, result2.error
        ref2 = result2.outputs["output"]
        assert ref2["sha256"] == sha256(store.read_bytes(ref2["uri"]))
        assert store.get(ref2) == {"values": [0, 10, 20, 30]}

    def test_run_wire_payload_mode_and_errors(self):
        task = Task(
            run_id="r1",
            node_id="types",
            card=card_ref(C.t_types.card_class),
            config={},
            inputs={},
            key="key-types",
        )
        out = run_wire(task.to_wire())
        result = TaskResult.from_wire(out)
        assert result.ok, result.error
        for port, art in {**result.outputs, **result.extras}.items():
            assert isinstance(art["data"], bytes), port
            assert art["sha256"] == sha256(art["data"]), port
        assert result.outputs["blob"]["data"] == b"\x00\x01binary\xff"

        failing = Task(
            run_id="r1",
            node_id="boom",
            card=card_ref(C.t_fail_root.card_class),
            config={"message": "remote boom"},
            inputs={},
            key="key-boom",
        )
        bad = TaskResult.from_wire(run_wire(failing.to_wire()))
        assert bad.error["type"] == "RuntimeError"
        assert bad.error["message"] == "remote boom"
        assert "Traceback" in bad.error["traceback"]
