"""Store faults during a run: S3 server gone mid-run, disk full, read-only store.

Each fault is real: a moto S3 server on loopback that is stopped and started again, a 1 MiB
tmpfs filled to the last block, a tmpfs remounted read-only. Every run must end terminal with a
typed storage error, keep its manifest (in the store, or the local fallback copy), leave no
half-written file, and a re-run once the store is healthy again must reuse every finished node.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid
import warnings
from typing import TYPE_CHECKING, Any

import pytest

import tensorrag as tr
from tensorrag.errors import StorageFullError, StoragePermissionError, StorageUnavailableError
from tensorrag.executors import LocalExecutor
from tensorrag.storage import ArtifactStore, open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

#: One-shot actions a card runs in the middle of a run (popped, so a re-run does not repeat them).
HOOKS: dict[str, Callable[[], None]] = {}


@tr.card(category="data")
def f_source(n: int = 4) -> dict:
    """``{"values": [0, ..., n-1]}``."""
    return {"values": list(range(n))}


@tr.card(category="data")
def f_hook(data: dict, hook: str = "") -> dict:
    """Run the test's hook (break the store), then produce an output that must be saved."""
    HOOKS.pop(hook, lambda: None)()
    return {"values": [v + 1 for v in data["values"]]}


@tr.card(category="data")
def f_scale(data: dict, factor: int = 2) -> dict:
    """Multiply every value by ``factor``."""
    return {"values": [v * factor for v in data["values"]]}


def chain(hook: str = "") -> tr.Pipeline:
    """src -> hook -> end, plus an independent root ``side``."""
    p = tr.Pipeline("faults")
    p.add(f_source, id="src")
    p.add(f_source, id="side", n=2)
    p.add(f_hook, id="hook", hook=hook)
    p.add(f_scale, id="end")
    p.connect("src", "hook")
    p.connect("hook", "end")
    return p


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fallback manifests go to a per-test cache folder; no env storage settings leak in."""
    for name in ("TENSORRAG_USER", "DEFAULT_USER_ID", "TENSORRAG_PROJECT", "TENSORRAG_STORAGE", "STORAGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("S3_ENABLED", "false")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    yield tmp_path / "xdg-cache" / "tensorrag" / "unsaved-runs"
    HOOKS.clear()


def run_once(p: tr.Pipeline, storage: Any, **kw: Any) -> tr.Run:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fallback warning is asserted separately
        return p.run(storage=storage, executor=LocalExecutor(max_workers=1), **kw)


def assert_consistent(store: ArtifactStore) -> None:
    """Every JSON file parses; every cache entry's artifacts exist with the recorded sha256."""
    files = store.list()
    for rel in files:
        if rel.endswith(".json"):
            json.loads(store.read_bytes(rel))
    for rel in (f for f in files if f.endswith("/_meta.json")):
        entry = store.read_json(rel)
        for ref in [*entry["outputs"].values(), *entry["extras"].values()]:
            data = store.get_bytes(ref)
            assert hashlib.sha256(data).hexdigest() == ref["sha256"], f"{rel} points at a damaged {ref['uri']}"


def assert_no_temp_files(folder: Path) -> None:
    leftovers = [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.startswith(".tmp-")]
    assert leftovers == []


def assert_fallback(run: tr.Run, fallback_dir: Path) -> None:
    assert run.manifest_uri is None
    assert run.manifest_fallback == str(fallback_dir / f"{run.run_id}.json")
    saved = json.loads((fallback_dir / f"{run.run_id}.json").read_text())
    assert saved["status"] == "failed" and saved["nodes"]["hook"]["status"] == "failed"


# --------------------------------------------------------------------------- S3 server gone mid-run


@pytest.fixture
def own_s3(aws_env: None) -> Iterator[dict[str, Any]]:
    """A moto server of this test's own (so it can be stopped), plus restart() on the same port."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = f"faults-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    state = {"server": server, "running": True}

    def stop() -> None:
        state["server"].stop()
        state["running"] = False

    def restart() -> None:
        state["server"] = moto_server.ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        state["server"].start()  # moto keeps its buckets in process memory: the data is still there
        state["running"] = True

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "eu-west-1"},
        # Fail fast instead of botocore's default minute of retries and timeouts.
        "config_kwargs": {"connect_timeout": 1, "read_timeout": 2, "retries": {"max_attempts": 1}},
        "skip_instance_cache": True,
    }
    yield {"endpoint": endpoint, "bucket": bucket, "options": options, "stop": stop, "restart": restart,
           "client": client}
    if state["running"]:
        state["server"].stop()


def test_s3_server_stopped_mid_run_then_restarted(own_s3: dict[str, Any], _isolated: Path) -> None:
    url = f"s3://{own_s3['bucket']}/root"
    store = open_store(url, **own_s3["options"])
    HOOKS["stop"] = own_s3["stop"]
    t0 = time.monotonic()
    with pytest.warns(RuntimeWarning, match="manifest could not be saved"):
        run = chain("stop").run(storage=store, executor=LocalExecutor(max_workers=1))
    assert time.monotonic() - t0 < 60  # a hang bound: the failure arrives fast, not after minutes of retries

    assert run.done and run.state == "failed"
    assert run.status["src"] == "completed"
    assert run.status["hook"] == "failed" and run.status["end"] == "skipped"
    assert run.status["side"] in ("completed", "failed")  # it ran before the stop, or its lookup failed
    err = run.error("hook")
    assert err is not None and err["type"] == "StorageUnavailableError"
    assert own_s3["endpoint"] in err["message"] and "unreachable" in err["message"]
    assert isinstance(run.manifest_error, StorageUnavailableError)
    assert run.manifest()["status"] == "failed"
    assert_fallback(run, _isolated)

    # Listing projects while the server is down: a typed error naming the endpoint, not botocore's.
    with pytest.raises(StorageUnavailableError, match=own_s3["endpoint"]) as info:
        tr.Workspace(store).list_projects()
    assert type(info.value.__cause__).__name__ == "EndpointConnectionError"

    project = run.store
    for op, call in [
        ("read", lambda: project.read_json("_pipeline.json")),
        ("write", lambda: project.write_json("x.json", {})),
        ("check", lambda: project.exists("x.json")),
        ("list", lambda: project.list("runs")),
        ("delete", lambda: project.delete("x.json", missing_ok=True)),
        ("read", lambda: project.read_entry("0" * 40)),  # the engine's cache lookup
    ]:
        with pytest.raises(StorageUnavailableError, match=f"Could not {op} s3://{own_s3['bucket']}/root/"):
            call()

    own_s3["restart"]()
    assert_consistent(project)
    assert [k for k in project.list() if "/hook" in k] == []  # nothing half-saved
    # The store holds only the manifest written at the start (status "running"); the final one is local.
    assert project.list_runs() == [run.run_id] and project.read_run(run.run_id)["status"] == "running"

    again = run.resume(executor=LocalExecutor(max_workers=1))
    assert again.ok, again.summary()
    assert again.status["src"] == "cached"
    if run.status["side"] == "completed":
        assert again.status["side"] == "cached"
    assert again.status["hook"] == "completed" and again.status["end"] == "completed"
    assert again.output("end") == {"values": [2, 4, 6, 8]}
    # resume() delivered the failed run's manifest to the store and dropped the local copy.
    assert project.read_run(run.run_id)["status"] == "failed"
    assert run.manifest_fallback is None and not (_isolated / f"{run.run_id}.json").exists()
    assert sorted(project.list_runs()) == sorted([run.run_id, again.run_id])
    assert_consistent(project)


def test_s3_no_credentials_is_a_typed_permission_error(own_s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookups on a laptop
    options = {k: v for k, v in own_s3["options"].items() if k not in ("key", "secret")}
    store = open_store(f"s3://{own_s3['bucket']}/nocreds", **options)
    with pytest.raises(StoragePermissionError, match="AWS_ACCESS_KEY_ID") as info:
        store.write_json("x.json", {"a": 1})
    assert "s3://" in str(info.value) and "write" in str(info.value)
    assert type(info.value.__cause__).__name__ == "NoCredentialsError"


# --------------------------------------------------------------------------- local disk faults


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs file system (needs root and a kernel that allows mounting here)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk))
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {exc}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True, timeout=30)


def fill(folder: Path) -> Callable[[], None]:
    """A hook that fills the file system of ``folder`` to the last block (as another process would)."""

    def hook() -> None:
        fd = os.open(folder / "ballast", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            for size in (65536, 4096, 1):  # big chunks, then down to the last byte
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    return hook


def test_disk_full_mid_run(small_disk: Path, _isolated: Path) -> None:
    root = small_disk / "store"
    HOOKS["fill"] = fill(small_disk)
    with pytest.warns(RuntimeWarning, match="manifest could not be saved") as caught:
        run = chain("fill").run(storage=root, executor=LocalExecutor(max_workers=1))
    assert str(_isolated) in str(caught[0].message)  # the warning says where the copy is

    assert run.done and run.state == "failed"
    assert run.status["src"] == "completed" and run.status["hook"] == "failed" and run.status["end"] == "skipped"
    err = run.error("hook")
    assert err is not None and err["type"] == "StorageFullError"
    assert "no space left" in err["message"] and "free space" in err["message"]
    assert isinstance(run.manifest_error, StorageFullError)
    assert_fallback(run, _isolated)
    project = run.store
    assert_no_temp_files(root)
    assert_consistent(project)
    hook_key = run.manifest()["nodes"]["hook"]["key"]
    assert not [k for k in project.list("artifacts") if k.split("/")[1].startswith(hook_key)]

    os.remove(small_disk / "ballast")  # free space
    again = run.resume(executor=LocalExecutor(max_workers=1))
    assert again.ok, again.summary()
    assert again.status["src"] == "cached" and again.status["side"] == "cached"
    assert again.status["hook"] == "completed" and again.status["end"] == "completed"
    assert project.read_run(run.run_id)["status"] == "failed"
    assert_consistent(project)
    assert_no_temp_files(root)


def test_full_disk_is_typed_for_every_writer(small_disk: Path) -> None:
    import pandas as pd

    store = open_store(small_disk / "store")
    store.write_json("warm.json", {})  # folders exist before the disk fills
    fill(small_disk)()
    values = [
        ("df", pd.DataFrame({"a": range(1000)}), "dataframe"),  # pyarrow writes the temp file natively
        ("model", {"w": list(range(1000))}, "model"),  # joblib
        ("blob", b"x" * 10000, "bytes"),
        ("doc", {"a": list(range(1000))}, "json"),
    ]
    for name, value, typ in values:
        with pytest.raises(StorageFullError, match="no space left") as info:
            store.put("k", name, value, typ)
        assert str(small_disk) in str(info.value) and isinstance(info.value, OSError)
    with pytest.raises(StorageFullError):
        store.write_entry("k", {"outputs": {}})
    assert store.list("artifacts") == []
    assert_no_temp_files(small_disk / "store")


def test_read_only_store(small_disk: Path, _isolated: Path) -> None:
    root = small_disk / "store"
    first = run_once(chain(), root)
    assert first.ok
    _mount("-o", "remount,ro", str(small_disk))
    try:
        changed = chain()
        changed.configure("end", factor=3)  # only `end` must run (and write) again
        with pytest.warns(RuntimeWarning) as caught:
            run = changed.run(storage=root, executor=LocalExecutor(max_workers=1))
        messages = " ".join(str(w.message) for w in caught)
        assert "Could not save the pipeline" in messages and "manifest could not be saved" in messages
        assert run.done and run.state == "failed"
        assert {n: run.status[n] for n in ("src", "side", "hook")} == dict.fromkeys(("src", "side", "hook"), "cached")
        assert run.status["end"] == "failed"
        err = run.error("end")
        assert err is not None and err["type"] == "StoragePermissionError"
        assert "read-only" in err["message"]
        assert isinstance(run.manifest_error, StoragePermissionError)
        assert run.manifest_fallback is not None and os.path.exists(run.manifest_fallback)
    finally:
        _mount("-o", "remount,rw", str(small_disk))
    again = run.resume(executor=LocalExecutor(max_workers=1))
    assert again.ok and again.status["hook"] == "cached" and again.status["end"] == "completed"
    assert again.output("end") == {"values": [3, 6, 9, 12]}
    assert run.store.read_run(run.run_id)["nodes"]["end"]["status"] == "failed"
    assert_no_temp_files(root)
