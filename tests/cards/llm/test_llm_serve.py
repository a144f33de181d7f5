"""``llm_vllm_serve`` on Modal: a real endpoint URL, offline up to the wire (fakes only at Modal's seams).

The card builds the serve app from real ``modal`` objects and deploys it; the fake Modal
(:mod:`tests.cards.llm.modal_serve_fakes`) starts the web function's body here, which loads the
model folder from a real S3 server (moto on loopback) and runs the ``vllm`` stand-in as a real
subprocess. The card then waits for ``/v1/models`` and sends one completion to the URL Modal reported.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

import pytest

modal = pytest.importorskip("modal")

from tensorrag.cards.llm.generate import VllmServeCard  # noqa: E402
from tensorrag.cards.llm.model import LoadModelCard  # noqa: E402
from tensorrag.errors import CardConfigError, ConfigError, ExecutorError  # noqa: E402
from tensorrag.executors import modal_serve  # noqa: E402
from tests.cards.llm.modal_serve_fakes import ServeWorld, install_standin, spec_of  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path

    from tests.cards.runner import Runner


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_runner(runner: Runner, s3_server: dict[str, Any], aws_env: None, tiny_llama: Path) -> Runner:
    """A runner over the moto bucket holding the tiny model as node ``m``'s ``model_config`` folder."""
    from tensorrag.storage import open_store

    runner.store = open_store(f"s3://{s3_server['bucket']}/serve-{uuid.uuid4().hex[:10]}", **s3_server["options"])
    runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})
    return runner


@pytest.fixture
def on_modal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Inside a "Modal container" (what Modal sets), with the vllm stand-in on PATH; yields its log file."""
    monkeypatch.setenv("MODAL_IS_REMOTE", "1")
    monkeypatch.delenv("TENSORRAG_MODAL_SECRETS", raising=False)
    monkeypatch.delenv("TENSORRAG_MODAL_SECRET", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{install_standin(str(bin_dir))}{os.pathsep}{os.environ['PATH']}")
    log = str(tmp_path / "standin.json")
    monkeypatch.setenv("STANDIN_LOG", log)
    monkeypatch.setenv("STANDIN_LIFETIME", "60")
    return log


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    w = ServeWorld().install(monkeypatch)
    yield w
    w.close()


def _serve(runner: Runner, **config: Any) -> dict[str, Any]:
    config.setdefault("modal_secrets", "s3-creds")
    config.setdefault("temperature", 0)
    _, info, _ = runner.run(VllmServeCard, "serve", config, merged_model=("m", "model_config"))
    return info


def test_on_modal_the_card_deploys_vllm_and_reports_the_url_modal_gives(s3_runner, on_modal, world) -> None:
    import json

    port = _free_port()
    info = _serve(s3_runner, deployment_name="tiny-v1", gpu="l4", port=port, max_batch_tokens=4096,
                  min_containers=1, scaledown_window=120, max_concurrent_requests=8, max_tokens=5)
    url = f"http://127.0.0.1:{port}"
    assert info["served"] is True and info["ready"] is True and info["backend"] == "vllm"
    assert info["url"] == url and info["openai_base_url"] == f"{url}/v1" and info["model"] == "tiny-v1"
    assert info["sample_response"].startswith(" hello from tiny-v1") and info["tokens_generated"] == 3
    assert world.deployed == ["tensorrag-serve-tiny-v1"] and info["app_name"] == "tensorrag-serve-tiny-v1"
    # The function spec, on the real modal objects: a GPU web endpoint with the secret.
    (fn,) = world.functions
    assert fn._is_web_endpoint() and fn._spec_.gpus == "L4"
    assert [repr(s) for s in fn._spec_.secrets] == ["modal.Secret.from_name('s3-creds')"]
    spec = spec_of(fn)
    assert modal_serve.function_options(spec) == {
        "gpu": "L4", "min_containers": 1, "scaledown_window": 120, "timeout": 1200, "startup_timeout": 600,
        "serialized": True, "name": "serve"}
    assert spec.max_inputs == 8 and spec.port == port
    # The model location: the artifact in the bucket, with no credentials in what the function carries.
    model_uri = s3_runner.refs["m"]["model_config"]
    assert spec.artifact["uri"] == model_uri and info["model_artifact"] == model_uri
    assert spec.store["url"] == s3_runner.store.url
    assert "key" not in spec.store["options"] and "secret" not in spec.store["options"]
    # What the server container ran: vllm serve on the folder it loaded from the store.
    with open(on_modal) as fh:
        ran = json.load(fh)
    assert ran["argv"][0] == "serve" and "config.json" in ran["files"] and "model.safetensors" in ran["files"]
    assert ran["argv"][2:] == ["--host", "0.0.0.0", "--port", str(port), "--served-model-name", "tiny-v1",
                               "--max-num-batched-tokens", "4096"]
    # Teardown: the stop path the output names.
    assert info["stop"]["command"] == "modal app stop tensorrag-serve-tiny-v1"
    assert "stop_server('tensorrag-serve-tiny-v1')" in info["stop"]["python"]
    modal_serve.stop_server(info["app_name"])
    assert world.stopped == ["tensorrag-serve-tiny-v1"] and all(p.poll() is not None for p in world.procs)
    with pytest.raises(ExecutorError, match=r"no Modal app 'tensorrag-serve-nope' to stop"):
        modal_serve.stop_server("tensorrag-serve-nope")


@pytest.mark.parametrize(("error", "type_", "words"), [
    (modal.exception.AuthError("token rejected"), ExecutorError, "modal token new"),
    (modal.exception.NotFoundError("Secret 's3-creds' not found"), ExecutorError, "modal secret create"),
    (modal.exception.InvalidError("bad option"), ConfigError, "refused the server's settings"),
    (modal.exception.ConnectionError("reset"), ExecutorError, "cannot reach Modal"),
])
def test_modal_errors_become_typed_errors_with_the_fix(s3_runner, on_modal, monkeypatch, error, type_,
                                                       words) -> None:
    ServeWorld(deploy_error=error).install(monkeypatch)
    with pytest.raises(type_, match=words) as info:
        _serve(s3_runner)
    assert "llm_vllm_serve (node 'serve')" in str(info.value) and "tensorrag-serve-llm-finetune-v1" in str(info.value)


def test_an_endpoint_that_never_answers_is_stopped_again(s3_runner, on_modal, monkeypatch) -> None:
    world = ServeWorld(url=f"http://127.0.0.1:{_free_port()}").install(monkeypatch)  # nothing listens there
    with pytest.raises(ExecutorError, match=r"did not list 'llm-finetune-v1'.*within 2 s.*it was stopped again"):
        _serve(s3_runner, wait_s=2)
    assert world.stopped == ["tensorrag-serve-llm-finetune-v1"]


def test_settings_modal_would_refuse_fail_before_deploying(s3_runner, on_modal, world) -> None:
    with pytest.raises(CardConfigError, match=r"unknown Modal GPU 'H10'.*H100") as info:
        _serve(s3_runner, gpu="H10")
    assert info.value.problems[0]["field"] == "gpu"
    with pytest.raises(CardConfigError, match=r"deployment_name must be") as info:
        _serve(s3_runner, deployment_name="bad name!")
    with pytest.raises(CardConfigError, match=r"needs its credentials: set modal_secrets") as info:
        _serve(s3_runner, modal_secrets="")
    assert info.value.problems[0]["field"] == "modal_secrets"
    assert world.deployed == []


def test_a_store_modal_cannot_read_is_an_error_when_asked_and_a_smoke_test_otherwise(runner, tiny_llama,
                                                                                   on_modal, world) -> None:
    runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})  # a memory:// store
    with pytest.raises(CardConfigError, match=r"cannot serve on Modal: the model is in memory://.*s3://"):
        _serve(runner, serve_on="modal")
    info = _serve(runner, max_tokens=3)  # auto: says why, keeps the local check
    assert info["served"] is False and info["url"] is None and "memory://" in info["note"]
    assert world.deployed == []


def test_off_modal_auto_keeps_the_local_smoke_test_and_only_it_is_cached(runner, tiny_llama, monkeypatch) -> None:
    monkeypatch.delenv("MODAL_IS_REMOTE", raising=False)
    runner.run(LoadModelCard, "m", {"model_name": str(tiny_llama), "load_in_4bit": False})
    info = _serve(runner, max_tokens=3)
    assert info["served"] is False and info["stop"] is None and "not running on Modal" in info["note"]
    assert VllmServeCard().cache_token({"serve_on": "auto"}) is None  # a deployment is never served from cache
    assert VllmServeCard().cache_token({"serve_on": "modal"}) is None
    assert VllmServeCard().cache_token({"serve_on": "none"}) == ""


@pytest.mark.modal
def test_live_serve_on_modal(tiny_llama) -> None:
    """Deploys the tiny model for real (needs TENSORRAG_LIVE_MODAL_TOKEN_ID/SECRET, TENSORRAG_LIVE_S3_URL and
    TENSORRAG_LIVE_S3_SECRET, the modal.Secret with that bucket's credentials), then stops it."""
    env = os.environ
    if not all(env.get(v) for v in ("TENSORRAG_LIVE_MODAL_TOKEN_ID", "TENSORRAG_LIVE_MODAL_TOKEN_SECRET",
                                    "TENSORRAG_LIVE_S3_URL", "TENSORRAG_LIVE_S3_SECRET")):
        pytest.skip("no live Modal credentials or bucket")
    import tensorrag as tr

    os.environ["MODAL_TOKEN_ID"] = env["TENSORRAG_LIVE_MODAL_TOKEN_ID"]
    os.environ["MODAL_TOKEN_SECRET"] = env["TENSORRAG_LIVE_MODAL_TOKEN_SECRET"]
    p = tr.Pipeline("live-serve")
    p.add("llm_load_model", id="m", model_name=str(tiny_llama), load_in_4bit=False)
    p.add("llm_vllm_serve", id="serve", deployment_name=f"live-{uuid.uuid4().hex[:8]}", serve_on="modal",
          modal_secrets=env["TENSORRAG_LIVE_S3_SECRET"], max_tokens=4)
    p.connect("m", "model_config", "serve", "merged_model")
    run = p.run(executor="local", storage=env["TENSORRAG_LIVE_S3_URL"])
    info = run.output("serve")
    try:
        assert run.ok, run.error("serve")
        assert info["served"] and info["url"].startswith("https://") and info["sample_response"] is not None
    finally:
        if info and info.get("app_name"):
            modal_serve.stop_server(info["app_name"])
