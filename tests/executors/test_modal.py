"""ModalExecutor without an account: the real worker entry in another process behind the transport seam."""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("modal")
pytest.register_assert_rewrite("tests.executors.conformance")

import tensorrag as tr  # noqa: E402
from tensorrag.errors import CardDefinitionError, ConfigError, ExecutorError  # noqa: E402
from tensorrag.executors import get_executor  # noqa: E402
from tensorrag.executors.auto import AutoExecutor  # noqa: E402
from tensorrag.executors.modal import (  # noqa: E402
    CPU_FUNCTION,
    GPU_FUNCTION,
    LocalProcessTransport,
    ModalExecutor,
    RealModalTransport,
)
from tests.executors import cards as C  # noqa: E402
from tests.executors.conformance import ExecutorConformance  # noqa: E402


@pytest.fixture(autouse=True)
def _no_modal_credentials(monkeypatch, tmp_path):
    # A fake token makes the real client retry for a minute; tests must never have one.
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def transport():
    t = LocalProcessTransport(max_workers=2)
    yield t
    t.close()


def modal_executor(transport: LocalProcessTransport, **kwargs) -> ModalExecutor:
    kwargs.setdefault("poll", 0.05)
    kwargs.setdefault("modules", ["tests"])  # the test cards "are deployed" with the app
    return ModalExecutor(transport=transport, **kwargs)


class TestModalConformance(ExecutorConformance):
    @pytest.fixture(autouse=True)
    def _transport(self, transport):
        self._t = transport

    def make_executor(self) -> ModalExecutor:
        return modal_executor(self._t, startup_timeout=0)  # the local stand-in starts at once


def _calls(transport: LocalProcessTransport, node_id: str) -> list[dict]:
    return [c for c in transport.calls if c.get("node_id") == node_id]


def test_routing_default_rule_and_overrides(tmp_path, transport):
    p = tr.Pipeline("route")
    p.add(C.t_source, id="cpu")
    p.add(C.llm_fake_load, id="llm")
    p.add(C.t_source, id="big", n=4, resources={"gpu": "A10G", "timeout": 900, "memory": 16384})
    p.add(C.t_source, id="slow_cpu", n=5, resources={"timeout": 42})
    run = p.run(executor=modal_executor(transport), storage=tmp_path)
    assert run.ok, run.status
    (cpu,) = _calls(transport, "cpu")
    assert cpu["function"] == CPU_FUNCTION and cpu["options"] == {"timeout": 300, "cpu": 1.0, "memory": 2048}
    (llm,) = _calls(transport, "llm")
    assert llm["function"] == GPU_FUNCTION
    assert llm["options"] == {"gpu": "T4", "timeout": 600, "cpu": 4.0, "memory": 16384}
    (big,) = _calls(transport, "big")
    assert big["function"] == GPU_FUNCTION
    assert big["options"] == {"gpu": "A10G", "timeout": 900, "cpu": 4.0, "memory": 16384}
    (slow,) = _calls(transport, "slow_cpu")
    assert slow["options"] == {"timeout": 42, "cpu": 1.0, "memory": 2048}


def test_executor_level_gpu_default(tmp_path, transport):
    p = tr.Pipeline("gpu-default")
    p.add(C.llm_fake_load, id="llm2", name="other")
    assert p.run(executor=modal_executor(transport, gpu="L4", gpu_timeout=120), storage=tmp_path).ok
    assert _calls(transport, "llm2")[-1]["options"] == {"gpu": "L4", "timeout": 120, "cpu": 4.0, "memory": 16384}


def test_auto_runs_local_cards_here_and_modal_cards_remotely(tmp_path, transport):
    p = tr.Pipeline("auto")
    p.add(C.t_source, id="here", n=3)
    p.add(C.t_remote_double, id="there")
    p.connect("here", "output", "there", "data")
    before = len(transport.calls)
    run = p.run(executor=AutoExecutor(remote=modal_executor(transport)), storage=tmp_path)
    assert run.ok
    assert run.output("there")["values"] == [0, 2, 4]
    assert run.output("there")["pid"] != os.getpid()
    assert [c.get("node_id") for c in transport.calls[before:] if "node_id" in c] == ["there"]


def test_remote_exception_keeps_type_message_and_traceback(tmp_path, transport):
    p = tr.Pipeline("raise")
    p.add(C.t_raise_value_error, id="bad", message="no such column 'x'")
    run = p.run(executor=modal_executor(transport), storage=tmp_path)
    err = run.error("bad")
    assert err["type"] == "ValueError"
    assert err["message"] == "no such column 'x'"
    assert "t_raise_value_error" in err["traceback"] and "raise ValueError" in err["traceback"]


def test_transient_errors_are_retried(tmp_path):
    t = LocalProcessTransport(max_workers=1, fail_first=2)
    try:
        p = tr.Pipeline("retry")
        p.add(C.t_source, id="a", n=7)
        run = p.run(executor=modal_executor(t, retries=2, backoff=0.01), storage=tmp_path)
        assert run.ok and run.output("a") == {"values": list(range(7))}
        assert [c.get("failed", False) for c in t.calls if "function" in c] == [True, True, False]
    finally:
        t.close()


def test_retries_exhausted_fail_the_node(tmp_path):
    t = LocalProcessTransport(max_workers=1, fail_first=5)
    try:
        p = tr.Pipeline("retry-fail")
        p.add(C.t_source, id="a", n=8)
        run = p.run(executor=modal_executor(t, retries=1, backoff=0.01), storage=tmp_path)
        assert run.status == {"a": "failed"}
        assert "after 2 attempts" in run.error("a")["message"]
    finally:
        t.close()


def test_deadline_cancels_the_remote_call(tmp_path, transport):
    p = tr.Pipeline("deadline")
    p.add(C.t_sleep, id="nap", seconds=30, resources={"timeout": 0.5})
    t0 = time.monotonic()
    run = p.run(executor=modal_executor(transport, startup_timeout=0), storage=tmp_path)
    assert time.monotonic() - t0 < 10
    assert run.error("nap")["type"] == "TaskTimeoutError"
    assert _calls(transport, "nap")[-1]["options"]["timeout"] == 1  # Modal takes whole seconds, at least 1


def test_cancel_cancels_remote_calls(tmp_path, transport):
    p = tr.Pipeline("cancel")
    p.add(C.t_sleep, id="long", seconds=30)
    run = p.run(executor=modal_executor(transport), storage=tmp_path, wait=False)
    deadline = time.monotonic() + 10
    while not _calls(transport, "long") and time.monotonic() < deadline:
        time.sleep(0.05)
    run.cancel().wait(15)
    assert run.state == "cancelled"
    assert run.status == {"long": "failed"}


def test_payload_mode_moves_bytes_through_the_orchestrator(tmp_path, transport):
    p = tr.Pipeline("bytes")
    p.add(C.t_frame, id="make", rows=5000)
    p.add(C.t_frame_rows, id="count")
    p.connect("make", "output", "count", "df")
    run = p.run(executor=modal_executor(transport), storage=tmp_path)
    assert run.ok and run.output("count") == {"rows": 5000}
    (count,) = _calls(transport, "count")
    assert count["artifact_bytes_in"] > 10_000  # the parquet bytes travelled in the payload


def test_cards_not_in_the_image_are_refused(tmp_path, transport):
    p = tr.Pipeline("image")
    p.add(C.t_source, id="a")
    with pytest.raises(CardDefinitionError, match=r"'t_source'.*not in the deployed image"):
        p.run(executor=ModalExecutor(transport=transport, ephemeral=False), storage=tmp_path)
    # The app is deployed (the check passed) but lacks the module: redeploy, or let an ephemeral app carry it.
    with pytest.raises(CardDefinitionError, match=r"tests are not in the deployed app.*--module tests.*ephemeral"):
        p.run(executor=ModalExecutor(transport=transport), storage=tmp_path)


def test_without_credentials_it_fails_fast_and_says_what_to_do(tmp_path):
    p = tr.Pipeline("nocreds")
    p.add("data_load", id="load")
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match=r"credentials are missing.*modal token new"):
        p.run(executor=ModalExecutor(), storage=tmp_path)
    assert time.monotonic() - t0 < 5
    with pytest.raises(ExecutorError, match="modal token new"):
        RealModalTransport().check("tensorrag")


def test_by_name_and_settings(monkeypatch):
    assert isinstance(get_executor("modal"), ModalExecutor)
    assert isinstance(get_executor("auto"), AutoExecutor)
    monkeypatch.setenv("TENSORRAG_MODAL_APP", "my-app")
    assert ModalExecutor().app_name == "my-app"
    monkeypatch.setenv("MODAL_ENABLED", "false")
    with pytest.raises(ConfigError, match="MODAL_ENABLED"):
        ModalExecutor()


def test_credentials_never_travel_in_payloads(tmp_path, transport):
    ex = modal_executor(transport, secret="s3-creds")
    from tensorrag.spec import Task

    task = Task(
        run_id="r", node_id="n", card={"card_type": "t_source"}, config={}, inputs={}, key="k",
        storage={"url": "s3://b/x", "options": {"key": "AKIA", "secret": "s", "aws_session_token": "t", "profile": "me",
                                               "client_kwargs": {"endpoint_url": "e", "aws_session_token": "t"}}},
    )
    captured = {}

    class Spy:
        def check(self, app):
            pass

        def spawn(self, app, fn, payload, options, expect=None):
            captured.update(payload)
            raise ExecutorError("stop here")

    ex.transport = Spy()
    with pytest.raises(ExecutorError):
        ex.submit(task).result(5)
    assert captured["storage"]["options"] == {"client_kwargs": {"endpoint_url": "e"}}


def test_modal_app_builds_offline_and_runs_the_real_entry_locally(tmp_path):
    import modal

    from tensorrag.executors import modal_app
    from tensorrag.executors.runtime import card_ref
    from tensorrag.spec import Task, TaskResult

    assert isinstance(modal_app.app, modal.App)
    assert modal_app.app.name == "tensorrag"
    assert "bitsandbytes" in modal_app.GPU_PACKAGES and "bitsandbytes" not in modal_app.CPU_PACKAGES
    task = Task(
        run_id="r", node_id="n", card=card_ref(C.t_source.card_class), config={"n": 2, "mark_file": ""},
        inputs={}, key="k",
    )
    result = TaskResult.from_wire(modal_app.run_task.local(task.to_wire()))
    assert result.ok and result.outputs["output"]["data"]  # payload mode: bytes come back


@pytest.mark.modal
def test_live_demo_on_modal():
    if not (os.environ.get("TENSORRAG_LIVE_MODAL_TOKEN_ID") and os.environ.get("TENSORRAG_LIVE_MODAL_TOKEN_SECRET")):
        pytest.skip("no Modal credentials (set TENSORRAG_LIVE_MODAL_TOKEN_ID/SECRET and deploy the app)")
    from tensorrag.demo import build

    os.environ["MODAL_TOKEN_ID"] = os.environ["TENSORRAG_LIVE_MODAL_TOKEN_ID"]
    os.environ["MODAL_TOKEN_SECRET"] = os.environ["TENSORRAG_LIVE_MODAL_TOKEN_SECRET"]
    run = build().run(executor="modal", storage="memory://live-modal")
    assert run.ok, run.status
    # A CPU and a GPU card of this test suite, in an ephemeral app that adds their module to the image.
    p = tr.Pipeline("live-gpu")
    p.add(C.t_source, id="cpu", n=3)
    p.add(C.t_source, id="gpu", n=2, resources={"gpu": "T4", "timeout": 300})
    with ModalExecutor(ephemeral=True) as ex:
        run = p.run(executor=ex, storage="memory://live-modal-gpu")
    assert run.ok, (run.error("cpu"), run.error("gpu"))
    assert run.output("gpu") == {"values": [0, 1]}


def test_uri_mode_moves_no_artifact_bytes_through_the_orchestrator(s3_server, aws_env):
    # The workers get credentials from the environment (what a modal.Secret provides), never the payload.
    t = LocalProcessTransport(max_workers=1)
    try:
        p = tr.Pipeline("uri")
        p.add(C.t_frame, id="make", rows=5000)
        p.add(C.t_frame_rows, id="count")
        p.connect("make", "output", "count", "df")
        url = f"s3://{s3_server['bucket']}/uri-{os.getpid()}-{time.time_ns()}"
        options = {"client_kwargs": s3_server["options"]["client_kwargs"]}
        run = p.run(executor=modal_executor(t, secret="s3-creds"), storage=url, storage_options=options)
        assert run.ok, (run.status, run.error("make"), run.error("count"))
        assert run.output("count") == {"rows": 5000}
        spawned = [c for c in t.calls if "node_id" in c]
        assert [c["node_id"] for c in spawned] == ["make", "count"]
        assert sum(c["artifact_bytes_in"] for c in spawned) == 0
        assert sum(c.get("result_artifact_bytes", 0) for c in t.calls) == 0
        assert run.outputs("make")["output"]["uri"].startswith("s3://")
    finally:
        t.close()


def test_auto_without_credentials_gpu_nodes_fail_with_the_fix(tmp_path):
    # An llm_* card is known to go remote before the run: nothing runs.
    p = tr.Pipeline("auto-llm")
    p.add("data_load", id="load")
    p.add(C.llm_fake_load, id="llm")
    with pytest.raises(ExecutorError, match=r"credentials are missing.*modal token new"):
        p.run(executor=AutoExecutor(remote=ModalExecutor(modules=["tests"])), storage=tmp_path)
    assert not (tmp_path / "default" / "workspace" / "auto-llm" / "artifacts").exists()
    # A GPU asked for by one node only (not its card): the preflight sees node resources, so nothing runs either.
    q = tr.Pipeline("auto-gpu")
    q.add("data_load", id="load")
    q.add(C.t_source, id="gpu", resources={"gpu": "T4"})
    with pytest.raises(ExecutorError, match=r"credentials are missing.*modal token new"):
        q.run(executor=AutoExecutor(remote=ModalExecutor(modules=["tests"])), storage=tmp_path)
    assert not (tmp_path / "default" / "workspace" / "auto-gpu" / "artifacts").exists()
