"""DaskExecutor on a real LocalCluster (2 worker processes): the conformance suite plus what a cluster shows."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

pytest.importorskip("distributed")
pytest.register_assert_rewrite("tests.executors.conformance")

import dask  # noqa: E402

import tensorrag as tr  # noqa: E402
from tensorrag.errors import ConfigError, WorkerLostError  # noqa: E402
from tensorrag.executors.dask import DaskExecutor, dask_resources  # noqa: E402
from tests.executors import cards as C  # noqa: E402
from tests.executors import remote_cards as R  # noqa: E402
from tests.executors.conformance import ExecutorConformance, RecordingExecutor  # noqa: E402


@pytest.fixture(scope="module")
def shared():
    # One cluster for the module (start-up costs seconds); a lost worker's task fails at once (no retry elsewhere).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        ex = DaskExecutor(n_workers=2, threads_per_worker=1)
        ex.start()
    yield ex
    ex.shutdown()
    assert ex.cluster is None and ex.client is None


class TestDaskConformance(ExecutorConformance):
    @pytest.fixture(autouse=True)
    def _executor(self, shared):
        self._shared = shared

    def make_executor(self) -> DaskExecutor:
        return self._shared


class TestDaskConformanceMemoryStore(ExecutorConformance):
    """Workers cannot see this process's memory:// store: inputs and outputs travel as bytes."""

    @pytest.fixture(autouse=True)
    def _executor(self, shared):
        self._shared = shared

    @pytest.fixture
    def storage(self) -> str:
        return f"memory://dask-{uuid.uuid4().hex}"

    def make_executor(self) -> DaskExecutor:
        return self._shared


def _chain() -> tr.Pipeline:
    p = tr.Pipeline("dask-chain")
    p.add(C.t_source, id="a", n=4)
    p.add(C.t_double, id="b", factor=3)
    p.connect("a", "b")
    return p


def test_payload_mode_when_workers_do_not_share_the_disk(tmp_path, shared):
    ex = DaskExecutor(shared.client, shared_storage=False)  # a Client: joined, not owned
    rec = RecordingExecutor(ex)
    run = _chain().run(executor=rec, storage=tmp_path / "store")
    assert run.ok, run.status
    assert run.output("b") == {"values": [0, 3, 6, 9]}
    fed = {t["node_id"]: t for t in rec.tasks}["b"]["inputs"]["data"]
    assert "data" in fed and "uri" not in fed  # the artifact's bytes travelled in the task
    assert "storage" not in {t["node_id"]: t for t in rec.tasks}["b"]
    ex.shutdown()
    assert shared.client.status == "running"  # a client it did not make is left alone


def test_uri_mode_over_s3(s3_server, aws_env, shared):
    url = f"s3://{s3_server['bucket']}/dask-{uuid.uuid4().hex}"
    rec = RecordingExecutor(shared)
    run = _chain().run(executor=rec, storage=url, storage_options=s3_server["options"])
    assert run.ok, {n: run.error(n) for n in run.status}
    assert run.output("b") == {"values": [0, 3, 6, 9]}
    by_node = {t["node_id"]: t for t in rec.tasks}
    fed = by_node["b"]["inputs"]["data"]
    assert fed["uri"].startswith(url) and "data" not in fed  # the worker read the bucket itself
    assert by_node["b"]["storage"]["url"].startswith(url)
    for payload in rec.results.values():
        assert all("uri" in ref and "data" not in ref for ref in payload["outputs"].values())


def test_worker_killed_mid_task_fails_the_node_with_the_cause(tmp_path, shared):
    pid_file = str(tmp_path / "pid")
    p = tr.Pipeline("dask-loss")
    p.add(R.t_pid_sleep, id="victim", seconds=60, pid_file=pid_file)
    p.add(C.t_double, id="after")
    p.connect("victim", "after")
    run = p.run(executor=shared, storage=tmp_path / "store", wait=False)
    worker_pid = int(R.wait_for_file(pid_file))
    assert worker_pid in shared.client.run(os.getpid).values()  # it ran in a Dask worker process
    os.kill(worker_pid, signal.SIGKILL)
    run.wait(60)
    assert run.state == "failed"
    assert run.status == {"victim": "failed", "after": "skipped"}
    err = run.error("victim")
    assert err["type"] == WorkerLostError.__name__
    assert "Dask worker running it died" in err["message"] and "victim" in err["message"]
    saved = run.store.read_run(run.run_id)  # the manifest is written, terminal
    assert saved["status"] == "failed"
    assert saved["nodes"]["victim"]["error"]["type"] == "WorkerLostError"
    shared.client.wait_for_workers(2, timeout=60)  # the nanny replaced it


def _executing(dask_worker) -> int:
    return len(dask_worker.state.executing)


def test_cancel_cancels_the_dask_future(tmp_path, shared):
    pid_file = str(tmp_path / "pid")
    p = tr.Pipeline("dask-cancel")
    p.add(R.t_pid_sleep, id="nap", seconds=3, pid_file=pid_file)
    run = p.run(executor=shared, storage=tmp_path / "store", wait=False)
    R.wait_for_file(pid_file)
    keys = [k for k in shared.client.futures if str(k).startswith("tensorrag-nap-")]
    assert keys
    run.cancel().wait(15)
    assert run.state == "cancelled"
    assert run.error("nap")["type"] == "TaskCancelledError"
    deadline = time.monotonic() + 30
    while any(k in shared.client.futures for k in keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(k in shared.client.futures for k in keys)  # released on the cluster
    # Dask cannot interrupt the worker thread: once the card ends there, its attempt still never commits.
    while any(shared.client.run(_executing).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    metas = [json.loads(m.read_text()) for m in (tmp_path / "store").rglob("_meta.json")]
    assert metas and all(m.get("abandoned") for m in metas)  # only the abandon mark: no cache entry


def test_grid_sweep_over_the_regression_pipeline(tmp_path, shared):
    from tests.executors.sweep_check import check_grid_sweep

    check_grid_sweep(shared, tmp_path)


def test_resources_map_to_dask_worker_resources():
    assert dask_resources({"gpu": "A100:2", "memory": 1024, "cpu": 2, "timeout": 5}, "n") == {
        "GPU": 2.0, "MEMORY": float(2**30), "CPU": 2.0}
    assert dask_resources({"gpu": "T4"}, "n") == {"GPU": 1.0}
    assert dask_resources({"timeout": 5}, "n") == {}
    with pytest.raises(ConfigError, match=r"node 'n' resources\['gpu'\]"):
        dask_resources({"gpu": "A100:zero"}, "n")
    with pytest.raises(ConfigError, match="MiB"):
        dask_resources({"memory": -1}, "n")


def test_gpu_nodes_run_only_on_workers_that_declare_a_gpu(tmp_path, shared):
    p = tr.Pipeline("dask-gpu")
    p.add(R.t_where, id="gpu", tag="g", resources={"gpu": "T4", "memory": 512})
    with pytest.raises(ConfigError, match=r"needs Dask worker resources GPU=1.*--resources"):
        p.run(executor=shared, storage=tmp_path / "store")  # refused before anything runs: no GPU worker yet
    cluster, client = shared.cluster, shared.client
    cluster.new_spec["options"] = {**cluster.new_spec["options"], "resources": {"GPU": 1}}
    cluster.scale(3)
    client.wait_for_workers(3, timeout=60)
    gpu_pids = set(client.run(os.getpid, workers=[
        addr for addr, w in client.scheduler_info()["workers"].items() if w.get("resources", {}).get("GPU")]).values())
    ex = DaskExecutor(client)
    for i in range(4):
        p.add(R.t_where, id=f"gpu{i}", tag=str(i), resources={"gpu": "A10G", "memory": 512})  # MEMORY: declared nowhere
    run = p.run(executor=ex, storage=tmp_path / "store")
    assert run.ok, {n: run.error(n) for n in run.status}
    assert {run.output(n)["pid"] for n in run.status} <= gpu_pids
    p.add(R.t_where, id="two", resources={"gpu": "A100:2"})
    with pytest.raises(ConfigError, match="GPU=2"):
        p.run(executor=ex, storage=tmp_path / "store")


def test_found_through_the_entry_point(tmp_path, monkeypatch):
    from importlib.metadata import entry_points

    from tensorrag.registry import Registry
    from tests.executors.plugin_metadata import pyproject_executors, write_dist_info

    assert pyproject_executors()["dask"] == "tensorrag.executors.dask:DaskExecutor"
    monkeypatch.syspath_prepend(str(write_dist_info(tmp_path)))
    eps = {ep.name: ep for ep in entry_points(group="tensorrag.executors")}
    assert eps["dask"].value == "tensorrag.executors.dask:DaskExecutor"
    registry = Registry("executor", entry_point_group="tensorrag.executors")  # knows nothing but entry points
    assert registry.get("dask") is DaskExecutor
    installed = entry_points(group="tensorrag.executors").select(name="dask")
    if any(ep.dist and ep.dist.name == "tensorrag" for ep in installed):  # a fresh `pip install -e .` (CI)
        from tensorrag.executors import get_executor

        ex = get_executor("dask", n_workers=1)
        assert isinstance(ex, DaskExecutor) and ex.client is None  # nothing starts before a run


def test_import_tensorrag_loads_neither_dask_nor_ray():
    import subprocess
    import sys

    code = ("import sys, tensorrag, tensorrag.executors, tensorrag.executors.dask, tensorrag.executors.ray\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'ray'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_arguments():
    with pytest.raises(ConfigError, match="address"):
        DaskExecutor(address=42)
    with pytest.raises(ConfigError, match="n_workers"):
        DaskExecutor(n_workers=0)
    with pytest.raises(ConfigError, match="max_workers"):
        DaskExecutor(max_workers=0)
    with pytest.raises(ConfigError, match="shared_storage"):
        DaskExecutor(shared_storage="yes")


def test_joins_a_scheduler_by_address(tmp_path, shared):
    ex = DaskExecutor(shared.cluster.scheduler_address)  # its own client; the cluster is not its to close
    run = _chain().run(executor=ex, storage=tmp_path / "store")
    assert run.ok, run.status
    assert ex.uri_mode(_dummy_task(), run.store)  # a scheduler on loopback: the workers share this disk
    ex.shutdown()
    assert ex.client is None and shared.client.status == "running"
    assert len(shared.client.scheduler_info()["workers"]) >= 2


def _dummy_task():
    from tensorrag.spec import Task

    return Task(run_id="r", node_id="n", card={"card_type": "t_source"}, config={}, inputs={}, key="k")


def test_a_script_without_a_main_guard_gets_the_fix(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "import tensorrag as tr\nfrom tensorrag.executors.dask import DaskExecutor\n"
        "p = tr.Pipeline('ng')\np.add('data_load', id='load', source='sample', sample_name='iris')\n"
        f"p.run(executor=DaskExecutor(n_workers=1), storage={str(tmp_path / 'store')!r})\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("tensorrag.errors.ExecutorError: Starting a local Dask cluster failed")
    assert "if __name__ == '__main__':" in last
