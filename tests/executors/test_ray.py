"""RayExecutor on a real local Ray (ray.init(num_cpus=2)): the conformance suite plus what a cluster shows."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

pytest.importorskip("ray")
pytest.register_assert_rewrite("tests.executors.conformance")

import tensorrag as tr  # noqa: E402
from tensorrag.errors import ConfigError, WorkerLostError  # noqa: E402
from tensorrag.executors.ray import RayExecutor, ray_options  # noqa: E402
from tests.executors import cards as C  # noqa: E402
from tests.executors import remote_cards as R  # noqa: E402
from tests.executors.conformance import ExecutorConformance, RecordingExecutor  # noqa: E402


@pytest.fixture(scope="module")
def shared():
    # One local Ray for the module (it takes seconds to start); a dead worker's task is not retried.
    ex = RayExecutor(num_cpus=2, max_retries=0)
    ex.start()
    # Warm both workers (their first task imports tensorrag and the cards): later tests time their cards, not that.
    warm = tr.Pipeline("ray-warm")
    warm.add(C.t_source, id="one")
    warm.add(C.t_source, id="two", n=2)
    assert warm.run(executor=ex, storage=f"memory://ray-warm-{uuid.uuid4().hex}").ok
    yield ex
    ex.shutdown()
    import ray

    assert not ray.is_initialized()  # the Ray it started is shut down


class TestRayConformance(ExecutorConformance):
    @pytest.fixture(autouse=True)
    def _executor(self, shared):
        self._shared = shared

    def make_executor(self) -> RayExecutor:
        return self._shared


def _chain() -> tr.Pipeline:
    p = tr.Pipeline("ray-chain")
    p.add(C.t_source, id="a", n=4)
    p.add(C.t_double, id="b", factor=3)
    p.connect("a", "b")
    return p


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_payload_mode_over_a_memory_store(shared):
    rec = RecordingExecutor(shared)
    run = _chain().run(executor=rec, storage=f"memory://ray-{uuid.uuid4().hex}")
    assert run.ok, run.status
    assert run.output("b") == {"values": [0, 3, 6, 9]}
    by_node = {t["node_id"]: t for t in rec.tasks}
    assert "data" in by_node["b"]["inputs"]["data"] and "storage" not in by_node["b"]
    assert all("data" in ref for payload in rec.results.values() for ref in payload["outputs"].values())


def test_uri_mode_over_s3(s3_server, aws_env, shared):
    url = f"s3://{s3_server['bucket']}/ray-{uuid.uuid4().hex}"
    rec = RecordingExecutor(shared)
    run = _chain().run(executor=rec, storage=url, storage_options=s3_server["options"])
    assert run.ok, {n: run.error(n) for n in run.status}
    fed = {t["node_id"]: t for t in rec.tasks}["b"]["inputs"]["data"]
    assert fed["uri"].startswith(url) and "data" not in fed  # the worker read the bucket itself
    for payload in rec.results.values():
        assert all("uri" in ref and "data" not in ref for ref in payload["outputs"].values())


def test_grid_sweep_over_the_regression_pipeline(tmp_path, shared):
    from tests.executors.sweep_check import check_grid_sweep

    check_grid_sweep(shared, tmp_path)


def test_resources_map_to_ray_options(tmp_path, shared):
    assert ray_options({"gpu": "A100:2", "memory": 1024, "cpu": 2, "timeout": 5}, "n") == {
        "num_cpus": 2, "num_gpus": 2.0, "memory": 2**30}
    assert ray_options({}, "n") == {"num_cpus": 1}
    with pytest.raises(ConfigError, match=r"node 'n' resources\['cpu'\]"):
        ray_options({"cpu": "many"}, "n")
    p = tr.Pipeline("ray-res")
    p.add(R.t_where, id="small", resources={"cpu": 2, "memory": 256})
    assert p.run(executor=shared, storage=tmp_path / "store").ok  # fits the 2-CPU cluster
    p.add(R.t_where, id="gpu", tag="g", resources={"gpu": "T4"})
    with pytest.raises(ConfigError, match=r"'t_where' needs num_gpus=1, but the whole Ray cluster has GPU=0"):
        p.run(executor=shared, storage=tmp_path / "store")  # refused before anything runs (Ray would wait forever)


def test_found_through_the_entry_point(tmp_path, monkeypatch):
    from importlib.metadata import entry_points

    from tensorrag.registry import Registry
    from tests.executors.plugin_metadata import pyproject_executors, write_dist_info

    assert pyproject_executors()["ray"] == "tensorrag.executors.ray:RayExecutor"
    monkeypatch.syspath_prepend(str(write_dist_info(tmp_path)))
    assert {ep.name: ep.value for ep in entry_points(group="tensorrag.executors")}["ray"] == (
        "tensorrag.executors.ray:RayExecutor")
    assert Registry("executor", entry_point_group="tensorrag.executors").get("ray") is RayExecutor


def test_bad_arguments():
    with pytest.raises(ConfigError, match="address"):
        RayExecutor(address=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_cpus"):
        RayExecutor(num_cpus=0)
    with pytest.raises(ConfigError, match="max_retries"):
        RayExecutor(max_retries=-1)


def test_timeout_kills_the_ray_worker(tmp_path, shared):
    pid_file = str(tmp_path / "pid")
    p = tr.Pipeline("ray-timeout")
    p.add(R.t_pid_sleep, id="nap", seconds=60, pid_file=pid_file, resources={"timeout": 5})
    run = p.run(executor=shared, storage=tmp_path / "store")
    assert run.status == {"nap": "failed"}
    assert run.error("nap")["type"] == "TaskTimeoutError"
    if os.path.exists(pid_file):  # the card had started (a cold worker may take longer than the timeout)
        worker_pid = int(R.wait_for_file(pid_file))
        R.wait_until(lambda: not _alive(worker_pid), 30)  # the deadline's cancel killed it


# Last: each of these kills a Ray worker, and a fresh one starts cold (imports) for the next task.
def test_worker_killed_mid_task_fails_the_node_with_the_cause(tmp_path, shared):
    pid_file = str(tmp_path / "pid")
    p = tr.Pipeline("ray-loss")
    p.add(R.t_pid_sleep, id="victim", seconds=60, pid_file=pid_file)
    p.add(C.t_double, id="after")
    p.add(C.t_source, id="other")
    p.connect("victim", "after")
    run = p.run(executor=shared, storage=tmp_path / "store", wait=False)
    worker_pid = int(R.wait_for_file(pid_file))
    assert worker_pid != os.getpid()
    os.kill(worker_pid, signal.SIGKILL)
    run.wait(60)
    assert run.state == "failed"
    assert run.status == {"victim": "failed", "after": "skipped", "other": "completed"}
    err = run.error("victim")
    assert err["type"] == WorkerLostError.__name__
    assert "Ray worker running it died" in err["message"] and "WorkerCrashedError" in err["message"]
    saved = run.store.read_run(run.run_id)  # the manifest is written, terminal
    assert saved["status"] == "failed"
    assert saved["nodes"]["victim"]["error"]["type"] == "WorkerLostError"


def test_cancel_kills_the_ray_worker(tmp_path, shared):
    pid_file = str(tmp_path / "pid")
    p = tr.Pipeline("ray-cancel")
    p.add(R.t_pid_sleep, id="nap", seconds=60, pid_file=pid_file)
    run = p.run(executor=shared, storage=tmp_path / "store", wait=False)
    worker_pid = int(R.wait_for_file(pid_file))
    run.cancel().wait(15)
    assert run.state == "cancelled"
    assert run.error("nap")["type"] == "TaskCancelledError"
    R.wait_until(lambda: not _alive(worker_pid), 30)  # ray.cancel(force=True) stopped the card for real
