"""The real transport with the real ``modal`` package: fakes only behind Modal's own seams (see modal_fakes.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

modal = pytest.importorskip("modal")

import tensorrag as tr  # noqa: E402
from tensorrag.errors import ConfigError, ExecutorError  # noqa: E402
from tensorrag.executors.modal import ModalExecutor, RealModalTransport  # noqa: E402
from tensorrag.spec import Task  # noqa: E402
from tests.executors import cards as C  # noqa: E402
from tests.executors.modal_fakes import World  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _token_file_only(monkeypatch, tmp_path):
    # A token file so the credentials check passes; no token variables (a fake one makes the client hang).
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    monkeypatch.delenv("MODAL_CONFIG_PATH", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".modal.toml").write_text("[default]\ntoken_id = 'ak-fake'\ntoken_secret = 'as-fake'\n")
    monkeypatch.setenv("HOME", str(home))


def executor(**kw) -> ModalExecutor:
    kw.setdefault("poll", 0.02)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("modules", ["tests"])
    return ModalExecutor(**kw)


def one_node(card=C.t_source, **kw) -> tr.Pipeline:
    p = tr.Pipeline(f"real-{card.card_type}")
    p.add(card, id="a", **kw)
    return p


# ---------------------------------------------------------------- defect 3: a flaky poll never spawns again


def test_transient_poll_errors_retry_the_same_call(monkeypatch, tmp_path):
    errors = [modal.exception.ConnectionError("reset"), modal.exception.InternalError("oops")]
    world = World(errors).install(monkeypatch)
    run = one_node(n=3).run(executor=executor(retries=2), storage=tmp_path)
    assert run.ok, run.error("a")
    assert run.output("a") == {"values": [0, 1, 2]}
    assert len(world.calls) == 1 and world.cancelled == []  # one paid run, nothing cancelled


def test_a_failed_spawn_is_retried_but_a_lost_poll_is_not(monkeypatch, tmp_path):
    world = World(then=modal.exception.ConnectionError("gone"),
                  spawn_errors=[modal.exception.ConnectionError("refused")]).install(monkeypatch)
    run = one_node().run(executor=executor(retries=1), storage=tmp_path)
    assert run.status == {"a": "failed"}
    assert len(world.functions) == 2 and len(world.calls) == 1  # the failed spawn again, the call never twice
    assert "reading the Modal call's result failed 2 times" in run.error("a")["message"]
    assert world.cancelled == ["fc-fake1"]  # given up on: cancelled, not left running


# ---------------------------------------------------------------- defect 4: Modal's terminal errors end the node


@pytest.mark.parametrize(("error", "type_", "words"), [
    (modal.exception.FunctionTimeoutError("Function timed out after 300s"), "TaskTimeoutError", "ran past its timeout"),
    (modal.exception.OutputExpiredError(), "ExecutorError", "expired"),
])
def test_terminal_modal_errors_end_the_node_at_once(monkeypatch, tmp_path, error, type_, words):
    world = World(then=error).install(monkeypatch)
    run = one_node().run(executor=executor(), storage=tmp_path, wait=False)
    try:
        assert run.wait(15), "the node never ended: Modal's terminal error was read as 'not ready'"
    finally:
        run.cancel().wait(15)
    assert run.status == {"a": "failed"}
    assert run.error("a")["type"] == type_ and words in run.error("a")["message"]
    assert "https://modal.com/id/fc-fake1" in run.error("a")["message"]
    assert world.gets == 1


# ---------------------------------------------------------------- defect 2: nothing keeps running or billing


def test_shutdown_cancels_running_calls_and_poll_threads_never_block_exit(monkeypatch, tmp_path):
    world = World(then="wait").install(monkeypatch)
    ex = executor()
    run = one_node().run(executor=ex, storage=tmp_path, wait=False)
    deadline = time.monotonic() + 10
    while not world.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    polling = [t for t in threading.enumerate() if t.name.startswith("tensorrag-modal")]
    assert polling and all(t.daemon for t in polling)
    ex.shutdown(wait=False)
    assert run.wait(15)
    assert world.calls[0].cancels == [True]  # terminate_containers: the GPU stops now
    assert run.status == {"a": "failed"}


def test_an_interrupted_process_cancels_its_calls_and_exits(tmp_path):
    log = tmp_path / "cancelled.txt"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {ROOT!r})
        import tensorrag as tr
        from tensorrag.executors.modal import ModalExecutor
        from tests.executors import cards as C
        from tests.executors.modal_fakes import World

        class Patch:
            def setattr(self, obj, name, value):
                setattr(obj, name, value)

        world = World(then="wait", cancel_log={str(log)!r}).install(Patch())
        p = tr.Pipeline("interrupted")
        p.add(C.t_source, id="a")
        run = p.run(executor=ModalExecutor(modules=["tests"], poll=0.02), storage={str(tmp_path / "s")!r}, wait=False)
        while not world.calls:
            time.sleep(0.02)
        raise KeyboardInterrupt  # Ctrl-C while a (GPU) call runs
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_TOKEN")}
    env["HOME"] = os.environ["HOME"]
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          check=False, cwd=ROOT)
    assert "KeyboardInterrupt" in proc.stderr, proc.stderr[-2000:]
    assert log.read_text().split() == ["fc-fake1", "True"]


# ---------------------------------------------------------------- defect 1: credentials reach the workers


def test_secrets_go_with_every_call(monkeypatch, tmp_path):
    world = World().install(monkeypatch)
    run = one_node().run(executor=executor(secret="s3-creds", secrets=["hf-token"]), storage=tmp_path)
    assert run.ok
    (opts,) = world.options
    assert [repr(s) for s in opts["secrets"]] == ["modal.Secret.from_name('s3-creds')",
                                                  "modal.Secret.from_name('hf-token')"]


def test_uri_mode_only_for_stores_containers_can_open():
    ex = ModalExecutor(secret="creds", transport=RealModalTransport())
    task = Task(run_id="r", node_id="n", card={"card_type": "t"}, config={}, inputs={}, key="k")

    def store(protocol, **options):
        return SimpleNamespace(protocol=protocol, options=options)

    assert ex.uri_mode(task, store("s3", client_kwargs={"endpoint_url": "https://s3.eu-west-1.amazonaws.com"}))
    assert ex.uri_mode(task, store("s3"))
    assert not ex.uri_mode(task, store("s3", client_kwargs={"endpoint_url": "http://127.0.0.1:9000"}))
    assert not ex.uri_mode(task, store("s3", endpoint_url="http://minio.local:9000"))
    assert not ex.uri_mode(task, store("s3", client_kwargs={"endpoint_url": "http://10.0.0.5:9000"}))
    assert not ex.uri_mode(task, store("gs"))  # the image has no gcsfs
    assert not ex.uri_mode(task, store("abfs"))
    assert not ModalExecutor(transport=RealModalTransport()).uri_mode(task, store("s3"))  # no secret


# ---------------------------------------------------------------- defect 5: queueing and cold start


def test_queueing_and_cold_start_do_not_count_against_the_timeout(monkeypatch, tmp_path):
    World(queued_s=1.5).install(monkeypatch)  # waits for a GPU / pulls the image for 1.5 s
    run = one_node(resources={"timeout": 1}).run(executor=executor(startup_timeout=60), storage=tmp_path)
    assert run.ok, run.error("a")


def test_the_dashboard_url_is_in_the_nodes_log_events(monkeypatch, tmp_path):
    World().install(monkeypatch)
    run = one_node().run(executor=executor(), storage=tmp_path)
    texts = [e["text"] for e in run.events if e["type"] == "log" and e["node_id"] == "a"]
    assert any("https://modal.com/id/fc-fake1" in t for t in texts)


# ---------------------------------------------------------------- defect 11: config path, GPU names


def test_check_reads_the_token_where_modal_does(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "empty"))
    config = tmp_path / "elsewhere.toml"
    config.write_text("[default]\ntoken_id = 'ak-x'\ntoken_secret = 'as-x'\n")
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    World(missing=True).install(monkeypatch)
    with pytest.raises(ExecutorError, match=r"'tensorrag' is not deployed"):  # past the token check
        RealModalTransport().check("tensorrag")
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    with pytest.raises(ExecutorError, match=r"credentials are missing.*absent.toml.*modal token new"):
        RealModalTransport().check("tensorrag")


def test_gpu_values_that_are_not_one_name_are_refused():
    # Pipeline.add refuses these for a node; resources from a card class or a pipeline file reach the route.
    task = Task(run_id="r", node_id="n", card={"card_type": "t"}, config={}, inputs={}, key="k",
                resources={"gpu": ["H100", "A100"]})
    with pytest.raises(ConfigError, match=r"node 'n'.*one GPU name as a string.*\['H100', 'A100'\]"):
        ModalExecutor(transport=RealModalTransport()).route(task)
    with pytest.raises(ConfigError, match=r"ModalExecutor\(gpu=...\).*one GPU name.*True"):
        ModalExecutor(gpu=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(("gpu", "words"), [
    ("h10", "Did you mean 'H100'"),
    ("A100:9", "count"),
])
def test_gpu_values_are_checked_with_the_fix(monkeypatch, tmp_path, gpu, words):
    world = World().install(monkeypatch)
    run = one_node(resources={"gpu": gpu}).run(executor=executor(), storage=tmp_path)
    assert run.status == {"a": "failed"}
    assert run.error("a")["type"] == "ConfigError" and words in run.error("a")["message"]
    assert world.calls == []


def test_gpu_names_are_normalised(monkeypatch, tmp_path):
    world = World().install(monkeypatch)
    assert one_node(resources={"gpu": "a100-80gb:2"}).run(executor=executor(), storage=tmp_path).ok
    assert world.options[0]["gpu"] == "A100-80GB:2"


# ---------------------------------------------------------------- defect 8: a stale worker is refused


def test_a_stale_deployed_worker_refuses_to_run_the_card(monkeypatch, tmp_path):
    world = World(stale=True).install(monkeypatch)
    run = one_node().run(executor=executor(), storage=tmp_path)
    assert run.status == {"a": "failed"}
    assert "does not match" in run.error("a")["message"] and "tensorrag modal deploy --module tests" in (
        run.error("a")["message"])
    expect = world.calls[0].expect
    assert set(expect["modules"]) == {"tensorrag", "tests"} and all(expect["modules"].values())


# ---------------------------------------------------------------- defect 10: payload size


def test_payload_mode_refuses_artifacts_over_the_limit(monkeypatch, tmp_path):
    world = World().install(monkeypatch)
    p = tr.Pipeline("big")
    p.add(C.t_frame, id="make", rows=20000)
    p.add(C.t_frame_rows, id="count")
    p.connect("make", "output", "count", "df")
    run = p.run(executor=executor(max_payload_mb=0.05), storage=tmp_path)
    assert run.status == {"make": "failed", "count": "skipped"}  # its output is too big to come back
    assert "over the payload limit" in run.error("make")["message"] and "s3://" in run.error("make")["message"]
    assert len(world.calls) == 1


# ---------------------------------------------------------------- the ephemeral app: no deploy step


def test_without_a_deployed_app_one_is_started_for_the_run_and_stopped(monkeypatch, tmp_path):
    from tensorrag.executors import modal_app

    world = World(missing=True).install(monkeypatch)
    specs = []
    real_make_app = modal_app.make_app
    monkeypatch.setattr(modal_app, "make_app",
                        lambda name, **spec: (specs.append(spec), real_make_app(name, **spec))[1])
    monkeypatch.setenv("TENSORRAG_MODAL_APP", "tr-eph")
    p = tr.Pipeline("eph")
    p.add(C.t_source, id="a", n=2)
    p.add(C.t_source, id="gpu", n=1, resources={"gpu": "L4"})
    run = p.run(executor="modal", storage=tmp_path)  # no modules= : the card module is added to the image
    assert run.ok, (run.error("a"), run.error("gpu"))
    (app,) = world.apps
    assert app["entered"] and app["exited"] and app["app"].name == "tr-eph"
    assert specs[0]["modules"] == ("tests",) and specs[0]["startup_timeout"] == 600
    assert sorted(world.functions) == ["run_task", "run_task_gpu"]
    assert {o.get("gpu") for o in world.options} == {None, "L4"}


@pytest.mark.parametrize("how", ["cancel", "error"])
def test_the_ephemeral_app_stops_on_cancel_and_on_error(monkeypatch, tmp_path, how):
    world = World(missing=True, then="wait" if how == "cancel" else "result").install(monkeypatch)
    p = tr.Pipeline(f"eph-{how}")
    p.add(C.t_source if how == "cancel" else C.t_raise_value_error, id="a")
    with executor(ephemeral=True) as ex:
        run = p.run(executor=ex, storage=tmp_path, wait=how == "error")
        if how == "cancel":
            deadline = time.monotonic() + 10
            while not world.calls and time.monotonic() < deadline:
                time.sleep(0.02)
            run.cancel().wait(15)
        (app,) = world.apps
        assert app["entered"] and not app["exited"]  # up for the run's duration
    assert app["exited"]
    if how == "cancel":
        assert run.state == "cancelled" and world.calls[0].cancels == [True]
    else:
        assert run.error("a")["type"] == "ValueError"


def test_ephemeral_options_reach_the_app(monkeypatch, tmp_path):
    from tensorrag.executors import modal_app

    world = World(missing=True).install(monkeypatch)
    app, functions = modal_app.make_app("x", modules=("tests",), secrets=("s3", "hf"), hf_volume="hf-cache",
                                        restrict_modal_access=True, block_network=True)
    assert set(functions) == {"run_task", "run_task_gpu"} and app.name == "x"
    ex = executor(ephemeral=True, hf_volume="hf-cache", max_containers=3, region="eu", secrets=["hf"])
    run = one_node().run(executor=ex, storage=tmp_path)
    ex.shutdown()
    assert run.ok
    assert ex.app_spec()["hf_volume"] == "hf-cache" and ex.app_spec()["secrets"] == ("hf",)
    (opts,) = world.options
    assert opts["max_containers"] == 3 and opts["region"] == "eu"
    assert [repr(v) for v in opts["volumes"].values()] == ["modal.Volume.from_name('hf-cache')"]
