"""How ``llm_vllm_serve`` decides where to serve, and what it reports once a Modal endpoint answers.

``serve_on="auto"`` (the default) deploys a Modal web endpoint when the card runs inside a Modal
container (``executor="modal"``) and the model is in an object store the server can read; anywhere
else it keeps the honest local smoke test (``served: false``). ``"modal"`` deploys from wherever
the card runs (a laptop with ``modal token new`` and an ``s3://`` store) and fails with the fix when
it cannot; ``"none"`` never deploys. The Modal app itself is :mod:`tensorrag.executors.modal_serve`.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from tensorrag.cards.llm._common import card_error
from tensorrag.errors import ConfigError, ExecutorError

__all__ = ["SERVE_CONFIG", "deploy_info", "plan", "smoke_info", "wants_cache"]

#: The serve card's settings beyond the original's (deployment_name, port, max_batch_tokens).
SERVE_CONFIG: dict[str, Any] = {
    "serve_on": {"type": "string", "enum": ["auto", "modal", "none"], "default": "auto",
                 "description": "auto: a Modal endpoint when running on Modal, else a local smoke test"},
    "gpu": {"type": "string", "default": "T4", "description": "the server's Modal GPU"},
    "modal_secrets": {"type": "string", "default": "",
                      "description": "comma-separated modal.Secret names: the store's credentials (a Hub token)"},
    "min_containers": {"type": "integer", "default": 0, "minimum": 0, "description": "0 = scale to zero when idle"},
    "scaledown_window": {"type": "integer", "default": 300, "minimum": 2, "maximum": 3600,
                         "description": "idle seconds before a server container stops"},
    "max_concurrent_requests": {"type": "integer", "default": 32, "minimum": 1},
    "wait_s": {"type": "integer", "default": 480, "minimum": 0,
               "description": "seconds to wait for the endpoint to answer (0 = do not wait)"},
}


def _on_modal() -> bool:
    # What modal.is_local() reads, without importing modal on machines that never deploy.
    return os.environ.get("MODAL_IS_REMOTE") == "1"


def wants_cache(config: dict[str, Any]) -> bool:
    """Whether the node may be served from cache: only a smoke test is; a deployment is a live side effect."""
    return config.get("serve_on", "auto") == "none"


def _secrets(config: dict[str, Any]) -> tuple[str, ...]:
    raw = str(config.get("modal_secrets") or "") or os.environ.get("TENSORRAG_MODAL_SECRETS", "") or os.environ.get(
        "TENSORRAG_MODAL_SECRET", "")
    return tuple(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))


def plan(card_type: str, config: dict[str, Any], storage: Any, port: str) -> Any:
    """The :class:`~tensorrag.executors.modal_serve.ServeSpec` to deploy, or a string saying why not here.

    Raises:
        CardConfigError: ``serve_on="modal"`` but the model cannot be served from Modal, no secret
            is named for an object store, or a setting Modal would refuse.
    """
    mode = config.get("serve_on", "auto")
    if mode == "none":
        return "serve_on='none'"
    if mode == "auto" and not _on_modal():
        return "not running on Modal (run with executor='modal', or set serve_on='modal')"
    from tensorrag.executors import modal_serve

    store = getattr(storage, "store", None)
    where = modal_serve.reachable(modal_serve.store_wire(store)) if store is not None else (
        "the model travelled in the call payload (no shared store); run with an s3:// store and "
        "ModalExecutor(secret=...) so the server reads the model from the bucket")
    if where is not None or store is None:
        where = where or "no store"
        if mode == "modal":
            raise card_error(card_type, config, "serve_on", f"cannot serve on Modal: {where}.")
        return where
    secrets = _secrets(config)
    if not secrets:
        raise card_error(card_type, config, "modal_secrets",
                         f"the server must read the model from {store.url} and needs its credentials: set "
                         "modal_secrets='NAME' (the modal.Secret of ModalExecutor(secret=...); comma-separate more).")
    ref = storage.input_artifact(port)  # its sha256 pins what the server loads
    try:
        spec = modal_serve.ServeSpec(
            deployment_name=str(config["deployment_name"]),
            artifact={k: ref[k] for k in ("uri", "sha256", "files", "size") if k in ref},
            store=modal_serve.store_wire(store), gpu=str(config["gpu"]), port=int(config["port"]),
            max_num_batched_tokens=int(config["max_batch_tokens"]), secrets=secrets,
            min_containers=int(config["min_containers"]), scaledown_window=int(config["scaledown_window"]),
            max_inputs=int(config["max_concurrent_requests"]))
        modal_serve.function_options(spec)  # the GPU name, checked before anything is deployed
        spec.app_name  # noqa: B018 - the deployment name, checked the same way
    except ConfigError as exc:
        field = "gpu" if "gpu" in str(exc) else "deployment_name"
        raise card_error(card_type, config, field, str(exc)) from exc
    return spec


def deploy_info(card_type: str, config: dict[str, Any], spec: Any, prompt: str | None) -> dict[str, Any]:
    """Deploy ``spec``, wait for the endpoint, send one sample request, and describe the served model.

    Raises:
        ConfigError: Modal refused a setting.
        ExecutorError: Modal refused the deployment or the endpoint never answered (it is stopped
            again then, so nothing is left billing).
    """
    from tensorrag.executors import modal_serve

    where = f"{card_type} (node {config.get('_node_id')!r})"
    try:
        url = modal_serve.deploy(spec)
    except (ExecutorError, ConfigError) as exc:
        raise type(exc)(f"{where}: {exc}") from exc
    print(f"Deployed {spec.app_name!r}: {url} (OpenAI API at {url}/v1, model {spec.deployment_name!r})")
    info: dict[str, Any] = {
        "served": True, "backend": "vllm", "url": url, "openai_base_url": f"{url}/v1",
        "model": spec.deployment_name, "deployment_name": spec.deployment_name, "endpoint_url": url,
        "app_name": spec.app_name, "gpu": spec.gpu, "model_artifact": spec.artifact.get("uri"),
        "stop": {"python": f"from tensorrag.executors.modal_serve import stop_server; stop_server({spec.app_name!r})",
                 "command": f"modal app stop {spec.app_name}"},
        "logs": f"modal app logs {spec.app_name}",
        "scaling": {"min_containers": spec.min_containers, "scaledown_window": spec.scaledown_window,
                    "max_concurrent_requests": spec.max_inputs},
        "serve_command": shlex.join(modal_serve.vllm_command("<model folder>", spec)),
        "ready": False, "sample_prompt": prompt, "sample_response": None,
    }
    wait_s = int(config["wait_s"])
    if wait_s <= 0:
        info["note"] = "wait_s=0: the endpoint was not checked; its first request starts a container (cold start)."
        return info
    try:
        took = modal_serve.wait_ready(url, spec.deployment_name, wait_s)
        if prompt:
            text, tokens = modal_serve.complete(
                url, spec.deployment_name, prompt, max_tokens=int(config["max_tokens"]),
                temperature=float(config["temperature"]), top_p=float(config["top_p"]), seed=int(config["seed"]))
            info.update(sample_response=text, tokens_generated=tokens)
    except ExecutorError as exc:
        try:
            modal_serve.stop_server(spec.app_name)
            stopped = "it was stopped again"
        except ExecutorError as stop_exc:
            stopped = f"stopping it failed too ({stop_exc}); run `modal app stop {spec.app_name}`"
        raise ExecutorError(f"{where}: {exc}; {stopped}. Its logs: `modal app logs {spec.app_name}`; raise wait_s "
                            "for a large model's cold start.") from exc
    info.update(ready=True, ready_after_s=round(took, 1))
    return info


def smoke_info(config: dict[str, Any], df: Any, uri: str, reason: str) -> dict[str, Any]:
    """The local report: one completion with the backend that ran, and no endpoint (none is faked)."""
    return {
        "deployment_name": config["deployment_name"], "model": config["deployment_name"],
        "backend": str(df["backend"].iloc[0]), "served": False, "url": None, "openai_base_url": None,
        "endpoint_url": None, "stop": None, "model_artifact": uri,
        "sample_prompt": df["prompt"].iloc[0], "sample_response": df["response"].iloc[0],
        "serve_command": (f"vllm serve <load_directory(model_artifact)> --port {config['port']} "
                          f"--max-num-batched-tokens {config['max_batch_tokens']} "
                          f"--served-model-name {config['deployment_name']}"),
        "note": f"No endpoint was deployed ({reason}). A server started inside a local node would die with its "
                "worker; see docs/llm.md 'Serving on Modal'.",
    }
