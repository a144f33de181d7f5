"""The Modal app tensorrag deploys: one worker entry on a CPU image and on a CUDA image.

Deploy it with ``tensorrag modal deploy`` (or ``python -m tensorrag.executors.modal_app``). The
app's name, extra modules and secret come from ``TENSORRAG_MODAL_APP`` (default ``tensorrag``),
``TENSORRAG_MODAL_MODULES`` (comma-separated modules of your own cards, added to the images) and
``TENSORRAG_MODAL_SECRET`` (a ``modal.Secret`` holding object-store credentials for URI mode).

Both functions run :func:`tensorrag.executors.runtime.run_wire` — the same worker entry the
process executor uses — on a task payload and return the result payload. GPU type, timeout and
memory are chosen per call by the executor (``with_options``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import modal

__all__ = ["CPU_PACKAGES", "GPU_PACKAGES", "app", "build_images", "main", "run_task", "run_task_gpu"]

#: The seed's CPU image: data and classical ML, torch, the Hugging Face stack.
CPU_PACKAGES = (
    "pandas>=2.2",
    "pyarrow>=15",
    "numpy",
    "scikit-learn>=1.4",
    "matplotlib>=3.8",
    "joblib>=1.3",
    "fsspec>=2024.2",
    "s3fs>=2024.2",
    "networkx>=3.2",
    "pydantic>=2.6",
    "tqdm",
    "torch==2.13.0",
    "transformers",
    "datasets",
    "peft",
    "trl",
)
#: The GPU image adds quantisation and multi-device training.
GPU_PACKAGES = (*CPU_PACKAGES, "bitsandbytes", "accelerate")

APP_NAME = os.environ.get("TENSORRAG_MODAL_APP") or "tensorrag"
MODULES = tuple(m.strip() for m in os.environ.get("TENSORRAG_MODAL_MODULES", "").split(",") if m.strip())
SECRET = os.environ.get("TENSORRAG_MODAL_SECRET") or None


def build_images(modules: tuple[str, ...] = MODULES) -> tuple[modal.Image, modal.Image]:
    """The CPU and GPU images (built lazily by Modal; constructing them needs no network)."""
    sources = ("tensorrag", *modules)
    cpu = modal.Image.debian_slim(python_version="3.11").uv_pip_install(*CPU_PACKAGES).add_local_python_source(*sources)
    gpu = modal.Image.debian_slim(python_version="3.11").uv_pip_install(*GPU_PACKAGES).add_local_python_source(*sources)
    return cpu, gpu


_cpu_image, _gpu_image = build_images()
_secrets = [modal.Secret.from_name(SECRET)] if SECRET else []
app = modal.App(APP_NAME)


@app.function(image=_cpu_image, timeout=300, secrets=_secrets, single_use_containers=True)
def run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one task payload on CPU and return the result payload."""
    from tensorrag.executors.runtime import run_wire

    return run_wire(payload)


@app.function(image=_gpu_image, gpu="T4", timeout=600, secrets=_secrets, single_use_containers=True)
def run_task_gpu(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one task payload on a GPU (type chosen per call) and return the result payload."""
    from tensorrag.executors.runtime import run_wire

    return run_wire(payload)


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
