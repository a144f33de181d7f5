"""The Modal app tensorrag runs on: one worker entry on a CPU image and on a CUDA image.

Deploy it with ``tensorrag modal deploy`` (or ``python -m tensorrag.executors.modal_app deploy``),
or let ``ModalExecutor(ephemeral=True)`` start it for one run (:func:`make_app`, no deploy). The
deployed app's settings come from the environment: ``TENSORRAG_MODAL_APP`` (default
``tensorrag``), ``TENSORRAG_MODAL_MODULES`` (comma-separated modules of your own cards),
``TENSORRAG_MODAL_SECRETS`` (comma-separated ``modal.Secret`` names; ``TENSORRAG_MODAL_SECRET``
too), ``TENSORRAG_MODAL_HF_VOLUME`` (a Volume for the Hugging Face cache) and
``TENSORRAG_MODAL_STARTUP_TIMEOUT`` (seconds a container may take to start, default 600).

Both functions run :func:`tensorrag.executors.runtime.run_wire` — the same worker entry the
process executor uses — after checking that this worker matches the caller's tensorrag and card
modules (:func:`~tensorrag.executors.modal_images.mismatch`). GPU type, timeout, memory and
secrets are chosen per call by the executor (``with_options``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import modal

from tensorrag.executors.modal_images import CPU_PACKAGES, GPU_EXTRA, HF_HOME, build_image, mismatch

__all__ = ["CPU_PACKAGES", "GPU_PACKAGES", "app", "build_images", "entry", "main", "make_app", "run_task",
           "run_task_gpu"]

GPU_PACKAGES = (*CPU_PACKAGES, *GPU_EXTRA)
CPU_FUNCTION, GPU_FUNCTION = "run_task", "run_task_gpu"


def _env_list(*names: str) -> tuple[str, ...]:
    items = [m.strip() for n in names for m in os.environ.get(n, "").split(",")]
    return tuple(dict.fromkeys(m for m in items if m))


APP_NAME = os.environ.get("TENSORRAG_MODAL_APP") or "tensorrag"
MODULES = _env_list("TENSORRAG_MODAL_MODULES")
SECRETS = _env_list("TENSORRAG_MODAL_SECRETS", "TENSORRAG_MODAL_SECRET")
HF_VOLUME = os.environ.get("TENSORRAG_MODAL_HF_VOLUME") or None
STARTUP_TIMEOUT = int(os.environ.get("TENSORRAG_MODAL_STARTUP_TIMEOUT") or 600)


def entry(payload: dict[str, Any], expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one task payload and return the result payload; refuse when this worker is stale.

    Raises:
        ExecutorError: this worker's tensorrag or card modules differ from the caller's, or the
            result is over ``expect["max_result_bytes"]``.
    """
    from tensorrag.errors import ExecutorError
    from tensorrag.executors.runtime import run_wire

    problem = mismatch(expect)
    if problem:
        raise ExecutorError(
            f"the Modal worker does not match this machine ({problem}): redeploy with `tensorrag modal deploy"
            f"{''.join(' --module ' + m for m in (expect or {}).get('modules', {}) if m != 'tensorrag')}`, "
            "or run with ModalExecutor(ephemeral=True)"
        )
    result = run_wire(payload)
    limit = (expect or {}).get("max_result_bytes")
    if limit:
        size = sum(len(a.get("data") or b"") for part in ("outputs", "extras")
                   for a in result.get(part, {}).values() if isinstance(a.get("data"), (bytes, bytearray)))
        if size > limit:
            raise ExecutorError(
                f"node {payload.get('node_id')!r}: its outputs are {size / 2**20:.0f} MiB, over the payload limit "
                f"of {limit / 2**20:.0f} MiB: run with an s3:// store and ModalExecutor(secret=...) so workers "
                "write artifacts to the bucket, or raise ModalExecutor(max_payload_mb=...)"
            )
    return result


def build_images(modules: tuple[str, ...] = MODULES, files: tuple[tuple[str, str], ...] = ()) -> tuple[Any, Any]:
    """The CPU and GPU images (built lazily by Modal; constructing them needs no network)."""
    sources = ("tensorrag", *modules)
    return (build_image(modal, gpu=False, sources=sources, files=files),
            build_image(modal, gpu=True, sources=sources, files=files))


def _function_args(secrets: tuple[str, ...], hf_volume: str | None, startup_timeout: int) -> dict[str, Any]:
    volumes = {HF_HOME: modal.Volume.from_name(hf_volume, create_if_missing=True)} if hf_volume else {}
    return {"secrets": [modal.Secret.from_name(s) for s in secrets], "volumes": volumes,
            "startup_timeout": startup_timeout, "single_use_containers": True}


def make_app(name: str, *, modules: tuple[str, ...] = (), secrets: tuple[str, ...] = (),
             hf_volume: str | None = None, startup_timeout: int = STARTUP_TIMEOUT,
             files: tuple[tuple[str, str], ...] = (), restrict_modal_access: bool = False,
             block_network: bool = False) -> tuple[Any, dict[str, Any]]:
    """An app for one run (``app.run()``): the app and its functions by name.

    Its functions are serialized (defined here, not at module level), so the card modules and
    project card files given here are what the containers run.
    """
    cpu_image, gpu_image = build_images(modules, files)
    app = modal.App(name)
    args = {**_function_args(secrets, hf_volume, startup_timeout), "serialized": True,
            "restrict_modal_access": restrict_modal_access, "block_network": block_network}

    def run_task(payload: dict[str, Any], expect: dict[str, Any] | None = None) -> dict[str, Any]:
        return entry(payload, expect)

    def run_task_gpu(payload: dict[str, Any], expect: dict[str, Any] | None = None) -> dict[str, Any]:
        return entry(payload, expect)

    cpu = app.function(image=cpu_image, timeout=300, name=CPU_FUNCTION, **args)(run_task)
    gpu = app.function(image=gpu_image, gpu="T4", timeout=600, name=GPU_FUNCTION, **args)(run_task_gpu)
    return app, {CPU_FUNCTION: cpu, GPU_FUNCTION: gpu}


_cpu_image, _gpu_image = build_images()
_args = _function_args(SECRETS, HF_VOLUME, STARTUP_TIMEOUT)
app = modal.App(APP_NAME)


@app.function(image=_cpu_image, timeout=300, **_args)
def run_task(payload: dict[str, Any], expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one task payload on CPU and return the result payload."""
    return entry(payload, expect)


@app.function(image=_gpu_image, gpu="T4", timeout=600, **_args)
def run_task_gpu(payload: dict[str, Any], expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one task payload on a GPU (type chosen per call) and return the result payload."""
    return entry(payload, expect)


def main(argv: list[str] | None = None) -> int:
    """``deploy`` the app (needs Modal credentials: `modal token new`)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["deploy"]:
        print("usage: python -m tensorrag.executors.modal_app deploy", file=sys.stderr)
        return 2
    with modal.enable_output():
        app.deploy(name=APP_NAME)
    print(f"Deployed Modal app {APP_NAME!r} (functions run_task, run_task_gpu).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
