"""A served model on Modal: a small tensorrag-owned app whose web server runs ``vllm serve``.

``llm_vllm_serve`` deploys one app per deployment name (``tensorrag-serve-{name}``) with one
function, ``serve``: ``@modal.web_server(port)`` under ``@modal.concurrent`` on the GPU worker
image (:func:`~tensorrag.executors.modal_images.build_image`, which has vllm). At container start
the function opens the object store the model artifact lives in (credentials come from the
``modal.Secret`` names given), materialises the ``directory`` artifact with the same code the
workers use, and starts ``vllm serve <folder> --port <port>``. So the checkpoint goes from the
bucket to the server container; neither the orchestrator nor the card's container copies it.

The app scales to zero (``min_containers=0``) and stops its GPU after ``scaledown_window`` idle
seconds; :func:`stop_server` (``modal app stop NAME``) takes it down for good. Modal's errors
become :class:`~tensorrag.errors.ExecutorError` / :class:`~tensorrag.errors.ConfigError` with the fix.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ConfigError, ExecutorError
from tensorrag.executors.modal_options import check_gpu, private_endpoint, without_credentials

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["APP_PREFIX", "FUNCTION", "ServeSpec", "app_name_for", "build_serve_app", "complete", "deploy",
           "function_options", "reachable", "start_server", "stop_server", "store_wire", "vllm_command",
           "wait_ready"]

APP_PREFIX = "tensorrag-serve-"
FUNCTION = "serve"
#: Stores a server container can open itself (its image has s3fs; credentials come from a modal.Secret).
_REACHABLE = ("s3", "s3a")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")
#: Set by tests whose stand-in Modal runs the server on this machine (loopback stores are then reachable).
SAME_HOST = False


@dataclass(frozen=True)
class ServeSpec:
    """What one served model needs: where the model is, how to run vllm, how the function scales.

    Attributes:
        deployment_name: the served model name (``"model"`` in OpenAI requests); the app is
            ``tensorrag-serve-{deployment_name}``.
        artifact: the ``directory`` ref of the model (``uri``, ``sha256``, ...).
        store: ``{"url", "options"}`` of the store holding it, without credentials.
        gpu: the server's Modal GPU.
        port: the port vllm listens on inside the container (``@modal.web_server(port)``).
        max_num_batched_tokens: vllm's ``--max-num-batched-tokens``.
        secrets: ``modal.Secret`` names the server gets (the store's credentials, a Hub token).
        min_containers: containers kept warm (0: scale to zero when idle, no GPU billed).
        scaledown_window: idle seconds before a container stops.
        max_inputs: concurrent requests per container (vllm batches them).
        startup_timeout: seconds a container may take to load the model and open the port.
        timeout: seconds one request may take.
    """

    deployment_name: str
    artifact: dict[str, Any]
    store: dict[str, Any]
    gpu: str = "T4"
    port: int = 8000
    max_num_batched_tokens: int = 8192
    secrets: tuple[str, ...] = ()
    min_containers: int = 0
    scaledown_window: int = 300
    max_inputs: int = 32
    startup_timeout: int = 600
    timeout: int = 1200
    extra_args: tuple[str, ...] = field(default=())

    @property
    def app_name(self) -> str:
        """The Modal app: ``tensorrag-serve-{deployment_name}``."""
        return app_name_for(self.deployment_name)

    def to_json(self) -> str:
        """The spec as JSON (what the server function carries into its container)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeSpec:
        """The spec from :meth:`to_json`."""
        data = json.loads(text)
        data["secrets"] = tuple(data.get("secrets", ()))
        data["extra_args"] = tuple(data.get("extra_args", ()))
        return cls(**data)


def app_name_for(deployment_name: str) -> str:
    """``tensorrag-serve-{deployment_name}``, or a ConfigError when Modal would refuse the name."""
    if not isinstance(deployment_name, str) or not _NAME.match(deployment_name):
        raise ConfigError(
            f"deployment_name must be 1-48 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(it names the Modal app {APP_PREFIX}NAME and the served model); got {deployment_name!r}."
        )
    return APP_PREFIX + deployment_name


def reachable(store: dict[str, Any]) -> str | None:
    """Why a Modal server container cannot open ``store`` (``{"url", "options"}``), or None when it can."""
    url = str(store.get("url", ""))
    scheme = url.split("://", 1)[0] if "://" in url else "file"
    if scheme not in _REACHABLE:
        return (f"the model is in {url or 'a local store'}, which a Modal container cannot open; run with an "
                "s3:// store (and ModalExecutor(secret=...)) so the server reads the model from the bucket")
    endpoint = private_endpoint(store.get("options") or {})
    if endpoint and not SAME_HOST:
        return f"the store's endpoint {endpoint} is private to this network; a Modal container cannot reach it"
    return None


def vllm_command(folder: str, spec: ServeSpec) -> list[str]:
    """The ``vllm serve`` command line for the model folder (OpenAI-compatible server on ``spec.port``)."""
    return ["vllm", "serve", folder, "--host", "0.0.0.0", "--port", str(spec.port),
            "--served-model-name", spec.deployment_name,
            "--max-num-batched-tokens", str(spec.max_num_batched_tokens), *spec.extra_args]


def start_server(spec_json: str) -> subprocess.Popen[bytes]:
    """In the server container: load the model folder from the store and start vllm (returns at once).

    Raises:
        StorageError: the store cannot be opened (missing credentials: check the secrets).
        ArtifactNotFoundError: the model folder is gone from the store.
        ArtifactCorruptError: its files no longer match the artifact's sha256.
    """
    from tensorrag.storage import directory
    from tensorrag.storage.store import ArtifactStore

    spec = ServeSpec.from_json(spec_json)
    store = ArtifactStore.from_wire(spec.store)  # credentials: the secrets' AWS_* variables
    folder = directory.load(store, {**spec.artifact, "type": directory.DIRECTORY})
    cmd = vllm_command(folder, spec)
    print(f"[tensorrag] serving {spec.artifact.get('uri')} as {spec.deployment_name!r}: {shlex.join(cmd)}", flush=True)
    return subprocess.Popen(cmd)


def function_options(spec: ServeSpec) -> dict[str, Any]:
    """The ``app.function(...)`` settings of the server (GPU, scaling, timeouts); secrets are added as objects."""
    return {"gpu": check_gpu(spec.gpu, "llm_vllm_serve gpu"), "min_containers": int(spec.min_containers),
            "scaledown_window": int(spec.scaledown_window), "timeout": int(spec.timeout),
            "startup_timeout": int(spec.startup_timeout), "serialized": True, "name": FUNCTION}


def build_serve_app(spec: ServeSpec, modal: Any | None = None) -> tuple[Any, Any]:
    """The server app and its web function, built from real ``modal`` objects (no network until deploy)."""
    from tensorrag.executors.modal_images import build_image
    from tensorrag.executors.modal_real import import_modal

    modal = modal or import_modal()
    image = build_image(modal, gpu=True, sources=("tensorrag",))  # the workers' GPU image: vllm, s3fs, tensorrag
    app = modal.App(spec.app_name)
    spec_json = spec.to_json()

    def serve() -> None:
        start_server(spec_json)

    secrets = [modal.Secret.from_name(s) for s in spec.secrets]
    web = modal.web_server(int(spec.port), startup_timeout=float(spec.startup_timeout))(serve)
    fn = app.function(image=image, secrets=secrets, **function_options(spec))(
        modal.concurrent(max_inputs=int(spec.max_inputs))(web))
    return app, fn


def _modal_error(modal: Any, exc: BaseException, what: str, spec: ServeSpec) -> Exception:
    """Modal's exception as a tensorrag error that says what to do."""
    err = modal.exception
    if isinstance(exc, err.AuthError):
        return ExecutorError(f"{what}: Modal rejected the credentials ({exc}). Run `modal token new` where the card "
                             "runs (inside a Modal container the workspace's own credentials are used).")
    if isinstance(exc, err.NotFoundError):
        names = ", ".join(spec.secrets) or "none"
        return ExecutorError(f"{what}: Modal could not find something the app needs ({exc}). Check the secrets "
                             f"({names}): create one with `modal secret create NAME AWS_ACCESS_KEY_ID=... "
                             "AWS_SECRET_ACCESS_KEY=...`.")
    if isinstance(exc, err.InvalidError):
        return ConfigError(f"{what}: Modal refused the server's settings: {exc}")
    if isinstance(exc, (err.ConnectionError, OSError)):
        return ExecutorError(f"{what}: cannot reach Modal ({exc}). Check the network and https://status.modal.com.")
    return ExecutorError(f"{what}: {type(exc).__name__}: {exc}")


def deploy(spec: ServeSpec, *, modal: Any | None = None) -> str:
    """Deploy (or update) the server app and return the endpoint URL Modal reports.

    Raises:
        ConfigError: a bad GPU name or a setting Modal refuses.
        ExecutorError: Modal is unreachable, rejects the credentials, misses a secret, or reports no URL.
    """
    from tensorrag.executors.modal_real import import_modal

    modal = modal or import_modal()
    app, fn = build_serve_app(spec, modal)
    what = f"deploying the Modal app {spec.app_name!r}"
    try:
        app.deploy(name=spec.app_name)
        url = fn.get_web_url()
    except modal.exception.Error as exc:
        raise _modal_error(modal, exc, what, spec) from exc
    except OSError as exc:
        raise _modal_error(modal, exc, what, spec) from exc
    if not url:
        raise ExecutorError(f"{what}: Modal reported no web URL for {FUNCTION!r}; see the app's page with "
                            f"`modal app list`, then stop it with `modal app stop {spec.app_name}`.")
    return str(url).rstrip("/")


def stop_server(app_name: str, *, modal: Any | None = None) -> None:
    """Stop a served model's app for good (its containers stop; ``modal app stop NAME`` does the same).

    Raises:
        ExecutorError: no such app, or Modal cannot be reached.
    """
    from tensorrag.executors.modal_real import import_modal

    modal = modal or import_modal()
    try:
        modal.App.lookup(app_name).stop()
    except modal.exception.NotFoundError as exc:
        raise ExecutorError(f"There is no Modal app {app_name!r} to stop (already stopped?): {exc}. "
                            "`modal app list` shows the running ones.") from exc
    except (modal.exception.Error, OSError) as exc:
        raise ExecutorError(f"Stopping the Modal app {app_name!r} failed: {type(exc).__name__}: {exc}. "
                            f"Run `modal app stop {app_name}`.") from exc


def _request(url: str, body: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        out = json.loads(resp.read().decode("utf-8"))
    return out if isinstance(out, dict) else {}


def wait_ready(url: str, model: str, wait_s: float, *, sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait until the server lists ``model`` at ``/v1/models`` (the first request starts a container).

    Returns:
        The seconds it took.

    Raises:
        ExecutorError: it did not answer within ``wait_s``.
    """
    start = time.monotonic()
    deadline = start + wait_s
    delay, last = 1.0, "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ExecutorError(f"the server at {url} did not list {model!r} at /v1/models within {wait_s:.0f} s "
                                f"(last: {last})")
        try:
            ids = [m.get("id") for m in _request(f"{url}/v1/models", None, min(120.0, left)).get("data", [])]
            if model in ids:
                return time.monotonic() - start
            last = f"it serves {ids}"
        except (urllib.error.URLError, OSError, ValueError) as exc:  # cold start: not up yet
            last = f"{type(exc).__name__}: {exc}"
        sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 10.0)


def complete(url: str, model: str, prompt: str, *, max_tokens: int, temperature: float, top_p: float, seed: int,
             timeout: float = 120.0) -> tuple[str, int]:
    """One completion from the served model (OpenAI ``/v1/completions``): the text and the tokens generated.

    Raises:
        ExecutorError: the request failed or the answer has no text.
    """
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
            "top_p": top_p, "seed": seed}
    try:
        out = _request(f"{url}/v1/completions", body, timeout)
        text = out["choices"][0]["text"]
    except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ExecutorError(f"the sample completion from {url}/v1/completions failed: {type(exc).__name__}: "
                            f"{exc}") from exc
    return str(text), int((out.get("usage") or {}).get("completion_tokens") or 0)


def store_wire(store: Any) -> dict[str, Any]:
    """``{"url", "options"}`` of an open store, without credentials (a secret gives the server its own)."""
    wire = store.to_wire()
    return {"url": wire["url"], "options": without_credentials(wire.get("options") or {})}
