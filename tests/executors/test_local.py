"""LocalExecutor: the conformance suite plus what only a thread pool can show."""

from __future__ import annotations

import threading
import time

import pytest

pytest.register_assert_rewrite("tests.executors.conformance")

import tensorrag as tr  # noqa: E402
from tensorrag.errors import ConfigError  # noqa: E402
from tensorrag.executors import LocalExecutor, get_executor  # noqa: E402
from tests.executors import cards as C  # noqa: E402
from tests.executors.cards import read_marks, settle  # noqa: E402
from tests.executors.conformance import ExecutorConformance  # noqa: E402


class TestLocalConformance(ExecutorConformance):
    def make_executor(self) -> LocalExecutor:
        return LocalExecutor(max_workers=4)


class TestLocalConformanceOneWorker(ExecutorConformance):
    """The same contract holds when only one card may run at a time."""

    def make_executor(self) -> LocalExecutor:
        return LocalExecutor(max_workers=1)


@pytest.fixture(autouse=True)
def _settle():
    C.CONCURRENCY.reset()
    yield
    settle()


def sleepers(n: int, seconds: float, name: str = "sleepers", mark_file: str = "") -> tr.Pipeline:
    p = tr.Pipeline(name)
    for i in range(n):
        p.add(C.t_sleep, id=f"s{i}", seconds=seconds, tag=f"s{i}", mark_file=mark_file)
    return p


def running_order(run: tr.Run) -> list[str]:
    return [e["node_id"] for e in run.events if e["type"] == "node_status" and e["status"] == "running"]


def test_cards_really_run_in_parallel(tmp_path):
    p = sleepers(8, 0.3)
    t0 = time.perf_counter()
    run = p.run(executor=LocalExecutor(max_workers=8), storage=tmp_path)
    elapsed = time.perf_counter() - t0
    assert run.ok, run.status
    assert C.CONCURRENCY.entered == 8
    assert elapsed < 1.5, f"8 x 0.3 s sleepers took {elapsed:.2f} s with 8 workers"
    assert C.CONCURRENCY.peak >= 2


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_max_workers_bounds_concurrency(tmp_path, workers):
    p = sleepers(6, 0.08)
    run = p.run(executor=LocalExecutor(max_workers=workers), storage=tmp_path)
    assert run.ok
    assert C.CONCURRENCY.entered == 6
    assert C.CONCURRENCY.peak == workers  # reached, never exceeded


def test_max_workers_by_name(tmp_path):
    run = sleepers(5, 0.08).run(executor="local", max_workers=2, storage=tmp_path)
    assert run.ok
    assert C.CONCURRENCY.peak == 2


def test_equal_rank_nodes_start_in_insertion_order(tmp_path):
    ids = ["zeta", "alpha", "mid", "beta", "omega"]  # neither sorted nor reverse-sorted
    p = tr.Pipeline("order")
    for i, nid in enumerate(ids):
        p.add(C.t_source, id=nid, n=i)
    exe = LocalExecutor(max_workers=1)
    first = p.run(executor=exe, storage=tmp_path, cache=False)
    second = p.run(executor=exe, storage=tmp_path, cache=False)
    assert running_order(first) == ids
    assert running_order(second) == ids


def test_ready_nodes_start_in_plan_order(tmp_path):
    # r1 and r2 are roots; c1 hangs off r2, c2 off r1 (c1 was added first).
    p = tr.Pipeline("plan-order")
    p.add(C.t_source, id="r1", n=1)
    p.add(C.t_source, id="r2", n=2)
    p.add(C.t_double, id="c1")
    p.add(C.t_double, id="c2", factor=3)
    p.connect("r2", "c1")
    p.connect("r1", "c2")
    run = p.run(executor=LocalExecutor(max_workers=1), storage=tmp_path)
    assert run.ok
    assert running_order(run) == ["r1", "r2", "c1", "c2"]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4"])
def test_max_workers_must_be_a_positive_integer(bad):
    with pytest.raises(ConfigError, match="max_workers"):
        LocalExecutor(max_workers=bad)


def test_max_workers_zero_through_run_is_a_config_error(tmp_path):
    p = sleepers(1, 0.0)
    with pytest.raises(ConfigError):
        p.run(executor="local", max_workers=0, storage=tmp_path)
    with pytest.raises(ConfigError):
        get_executor("local", max_workers=0)


def test_default_max_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("TENSORRAG_MAX_WORKERS", "3")
    assert LocalExecutor().max_workers == 3
    assert get_executor("local").max_workers == 3


def test_get_executor():
    exe = LocalExecutor(max_workers=2)
    assert get_executor(exe) is exe
    assert isinstance(get_executor("local", max_workers=2), LocalExecutor)
    with pytest.raises(ConfigError):
        get_executor("no-such-executor")
    with pytest.raises(ConfigError):
        get_executor(42)  # type: ignore[arg-type]


def test_executor_instance_is_usable_after_a_run(tmp_path):
    marks = tmp_path / "marks.txt"
    exe = LocalExecutor(max_workers=2)
    p = tr.Pipeline("twice")
    p.add(C.t_source, id="a", mark_file=str(marks))
    first = p.run(executor=exe, storage=tmp_path, cache=False)
    second = p.run(executor=exe, storage=tmp_path, cache=False)
    assert first.ok and second.ok
    assert read_marks(marks) == ["t_source", "t_source"]
    with exe:  # and as a context manager
        third = p.run(executor=exe, storage=tmp_path, cache=False)
    assert third.ok
    assert read_marks(marks) == ["t_source"] * 3


def test_executor_instance_is_usable_after_a_timeout(tmp_path):
    exe = LocalExecutor(max_workers=2)
    slow = tr.Pipeline("slow")
    slow.add(C.t_sleep, id="slow", resources={"timeout": 0.2}, seconds=1.0, tag="slow")
    assert slow.run(executor=exe, storage=tmp_path).status == {"slow": "failed"}
    quick = tr.Pipeline("quick")
    quick.add(C.t_source, id="a")
    assert quick.run(executor=exe, storage=tmp_path).ok


def test_card_resources_timeout_applies(tmp_path):
    p = tr.Pipeline("card-timeout")
    p.add(C.t_slow_card, id="slow")
    run = p.run(executor=LocalExecutor(max_workers=2), storage=tmp_path)
    assert run.status == {"slow": "failed"}
    assert run.error("slow")["type"] == "TaskTimeoutError"
    # a node may override its card's resources
    p2 = tr.Pipeline("card-timeout-override")
    p2.add(C.t_slow_card, id="slow", resources={"timeout": 5})
    assert p2.run(executor=LocalExecutor(max_workers=2), storage=tmp_path).ok


def test_timed_out_card_does_not_block_the_next_node(tmp_path):
    p = tr.Pipeline("blocked")
    p.add(C.t_sleep, id="slow", resources={"timeout": 0.2}, seconds=1.5, tag="slow")
    p.add(C.t_source, id="quick")
    t0 = time.perf_counter()
    run = p.run(executor=LocalExecutor(max_workers=1), storage=tmp_path)
    elapsed = time.perf_counter() - t0
    assert run.status == {"slow": "failed", "quick": "completed"}
    assert elapsed < 1.0, f"'quick' waited for the abandoned card: the run took {elapsed:.2f} s"


def test_timeout_in_one_run_does_not_cancel_another_run_on_the_same_executor(tmp_path):
    exe = LocalExecutor(max_workers=1)
    slow = tr.Pipeline("A")
    slow.add(C.t_sleep, id="slow", resources={"timeout": 0.3}, seconds=1.0, tag="slow")
    quick = tr.Pipeline("B")
    quick.add(C.t_source, id="quick")
    run_a = slow.run(executor=exe, storage=tmp_path, wait=False)
    deadline = time.monotonic() + 5
    while run_a.status["slow"] != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    run_b = quick.run(executor=exe, storage=tmp_path, wait=False)  # queued behind 'slow'
    run_a.wait(10)
    run_b.wait(10)
    assert run_a.status == {"slow": "failed"}
    assert run_b.status == {"quick": "completed"}, run_b.error("quick")


def test_an_executor_dropped_without_shutdown_leaves_no_threads(tmp_path, monkeypatch):
    import tensorrag.executors.local as local

    monkeypatch.setattr(local, "_IDLE_S", 0.2)
    before = set(threading.enumerate())
    p = tr.Pipeline("dropped")
    p.add(C.t_source, id="a", n=2)
    for _ in range(5):
        assert p.run(storage=tmp_path, executor=LocalExecutor(2), progress=False).ok  # never shut down
    deadline = time.monotonic() + 10
    while [t for t in set(threading.enumerate()) - before if t.name == "tensorrag-card"]:
        assert time.monotonic() < deadline, "idle pool threads of dropped executors never exited"
        time.sleep(0.05)
