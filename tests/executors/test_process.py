"""ProcessExecutor: the conformance suite plus what only separate processes can show."""

from __future__ import annotations

import os
import time
import uuid

import pytest

pytest.register_assert_rewrite("tests.executors.conformance")

import tensorrag as tr  # noqa: E402
from tensorrag.errors import CardDefinitionError, ConfigError  # noqa: E402
from tensorrag.executors import get_executor  # noqa: E402
from tensorrag.executors.process import ProcessExecutor, card_travel_problem  # noqa: E402
from tests.executors import cards as C  # noqa: E402
from tests.executors.conformance import ExecutorConformance  # noqa: E402


@pytest.fixture(scope="module")
def shared() -> ProcessExecutor:
    # One executor for the module: worker processes are started once (spawn costs ~0.5 s each).
    ex = ProcessExecutor(max_workers=2)
    yield ex
    ex.shutdown()


class TestProcessConformance(ExecutorConformance):
    @pytest.fixture(autouse=True)
    def _executor(self, shared):
        self._shared = shared

    def make_executor(self) -> ProcessExecutor:
        return self._shared


class TestProcessConformanceMemoryStore(ExecutorConformance):
    """Workers cannot see this process's memory:// store: inputs and outputs travel as bytes."""

    @pytest.fixture(autouse=True)
    def _executor(self, shared):
        self._shared = shared

    @pytest.fixture
    def storage(self) -> str:
        return f"memory://proc-{uuid.uuid4().hex}"

    def make_executor(self) -> ProcessExecutor:
        return self._shared


def test_by_name_and_bad_arguments():
    assert isinstance(get_executor("process", max_workers=1), ProcessExecutor)
    with pytest.raises(ConfigError, match="positive integer"):
        ProcessExecutor(max_workers=0)
    with pytest.raises(ConfigError, match="start_method"):
        ProcessExecutor(start_method="teleport")


def test_cards_that_cannot_travel_are_refused_before_the_run(tmp_path):
    @tr.card
    def local_only(x: dict) -> dict:
        return x

    p = tr.Pipeline("travel")
    p.add(C.t_source, id="a")
    p.add(local_only, id="b")
    p.connect("a", "output", "b", "x")
    with pytest.raises(CardDefinitionError, match=r"'local_only'.*defined inside a function"):
        p.run(executor=ProcessExecutor(max_workers=1), storage=tmp_path)
    assert card_travel_problem(C.t_source.card_class) is None
    assert not (tmp_path / "default").exists() or not list((tmp_path).rglob("_meta.json"))  # nothing ran


def test_a_crashing_worker_fails_only_its_node(tmp_path, shared):
    p = tr.Pipeline("crash")
    p.add(C.t_source, id="a")
    p.add(C.t_crash, id="boom")
    p.add(C.t_source, id="other", n=5)
    p.connect("a", "output", "boom", "x")
    run = p.run(executor=shared, storage=tmp_path)
    assert run.status == {"a": "completed", "boom": "failed", "other": "completed"}
    err = run.error("boom")
    assert err["type"] == "WorkerCrashedError"
    assert "died" in err["message"] and "SIGKILL" in err["message"]
    # the executor replaced the worker and keeps serving
    again = tr.Pipeline("after")
    again.add(C.t_source, id="z", n=2)
    assert again.run(executor=shared, storage=tmp_path).ok


def test_timeout_kills_the_worker(tmp_path, shared):
    p = tr.Pipeline("slow")
    p.add(C.t_sleep, id="nap", seconds=30, resources={"timeout": 0.5})
    t0 = time.monotonic()
    run = p.run(executor=shared, storage=tmp_path)
    assert time.monotonic() - t0 < 10
    assert run.status == {"nap": "failed"}
    assert run.error("nap")["type"] == "TaskTimeoutError"


def test_tasks_run_in_other_processes(tmp_path, shared):
    p = tr.Pipeline("pids")
    p.add(C.t_pid, id="a")
    run = p.run(executor=shared, storage=tmp_path, cache=False)
    assert run.ok
    assert run.output("a")["pid"] != os.getpid()


def test_live_logs_arrive_before_the_node_finishes(tmp_path, shared):
    p = tr.Pipeline("live")
    p.add(C.t_log_then_sleep, id="a")
    seen: list[tuple[str, str]] = []
    p.run(executor=shared, storage=tmp_path, on_event=lambda e: seen.append((e["type"], e.get("status", ""))))
    kinds = [k for k, s in seen if k == "log" or s == "completed"]
    assert kinds.index("log") < kinds.index("node_status")


def test_notebook_cards_travel_as_source(tmp_path, shared, monkeypatch):
    """A card defined in a Jupyter cell (``__main__`` without a file) ships the notebook's imports + its code."""
    import linecache
    import sys
    import types

    cells = [
        "import pandas as pd\nimport tensorrag as tr\n",
        "@tr.card(category='data')\ndef nb_scale(df: pd.DataFrame, k: int = 2) -> pd.DataFrame:\n    return df * k\n",
    ]
    kernel_main = types.ModuleType("__main__")  # what a kernel's __main__ looks like: no __file__
    kernel_main.In = ["", *cells]
    monkeypatch.setitem(sys.modules, "__main__", kernel_main)
    for i, cell in enumerate(cells, 1):
        name = f"<ipython-input-{i}-test>"
        linecache.cache[name] = (len(cell), None, cell.splitlines(True), name)  # as IPython registers cells
        exec(compile(cell, name, "exec"), kernel_main.__dict__)
    p = tr.Pipeline("notebook")
    p.add(C.t_frame, id="f", rows=3)
    p.add(kernel_main.nb_scale, id="scale", k=3)
    p.connect("f", "output", "scale", "df")
    assert card_travel_problem(kernel_main.nb_scale.card_class) is None
    run = p.run(executor=shared, storage=tmp_path)
    assert run.ok, run.error("scale")
    assert run.output("scale")["a"].tolist() == [0, 3, 6]
