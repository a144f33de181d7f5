"""The worker images, pinned to this machine's environment, and the check that a worker matches it.

* **Pins.** Every package of the images is pinned to the version installed here when it is
  installed here (a model pickled in a container must load locally), else to the seed's floor.
  The CPU image takes torch from PyTorch's CPU index (no multi-GB CUDA download); the GPU image
  the CUDA build. The image's Python defaults to this interpreter's minor version.
* **One GPU image, with the ``llm`` extra and vLLM.** Every GPU call runs the same function
  (``run_task_gpu``), so the GPU image serves every GPU card: it adds tensorrag's ``llm`` extra
  (:data:`LLM_EXTRA`, the list in pyproject.toml) and :data:`VLLM`. vLLM pins torch exactly; 0.30.0
  is the newest release whose pins admit this environment's torch (2.13.0) and transformers 5.2x
  (0.31/0.32 cap transformers below 5.18/5.20, 0.33 pins torch 2.14), so the cards, the trainer
  and vLLM share one torch and one transformers in one image.
* **Worker check.** :func:`expectation` describes what the worker must run: tensorrag's version
  and a digest of the ``.py`` files of tensorrag and of each card module. The worker entry
  compares it with its own files (:func:`mismatch`) before running a card, so a stale deployment
  fails with "redeploy" instead of running old code.

Nothing here imports ``modal`` at module level: the executor uses the worker check without it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from typing import Any

__all__ = ["CPU_PACKAGES", "GPU_EXTRA", "HF_HOME", "LLM_EXTRA", "TORCH", "TORCH_CPU_INDEX", "VLLM", "build_image",
           "expectation", "gpu_packages", "mismatch", "pinned", "python_version"]

#: The seed's CPU image: data and classical ML, the Hugging Face stack (torch is added apart).
CPU_PACKAGES = (
    "pandas>=2.2", "pyarrow>=15", "numpy", "scikit-learn>=1.4", "matplotlib>=3.8", "joblib>=1.3",
    "fsspec>=2024.2", "s3fs>=2024.2", "networkx>=3.2", "pydantic>=2.6", "tqdm", "transformers", "datasets",
    "peft", "trl", "huggingface_hub",
)
#: tensorrag's ``llm`` extra without torch (installed apart); tests keep it equal to pyproject.toml's list.
LLM_EXTRA = (
    "transformers>=5.0", "peft>=0.13", "trl>=1.0", "accelerate>=1.0", "bitsandbytes>=0.44", "tokenizers>=0.20",
    "datasets>=3.0", "safetensors>=0.4", "numpy>=1.26",
)
#: Pins torch==2.13.0 (== :data:`TORCH`) and admits transformers>=5.10.4; see the module docstring.
VLLM = "vllm==0.30.0"
#: What the GPU image adds, by name: the llm extra (quantisation, multi-device training) and vLLM.
GPU_EXTRA = (*(re.split(r"[<>=!~]", spec)[0] for spec in LLM_EXTRA), VLLM)
TORCH = "torch==2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: Where containers keep the Hugging Face cache (a Modal Volume is mounted there when configured).
HF_HOME = "/cache/huggingface"
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]+")


def pinned(spec: str) -> str:
    """``spec`` pinned to the locally installed version (``numpy`` -> ``numpy==2.4.6``), else unchanged."""
    name = _NAME.match(spec)
    if name is None:
        return spec
    try:
        version = importlib.metadata.version(name.group(0).split("[")[0])
    except importlib.metadata.PackageNotFoundError:
        return spec
    return f"{name.group(0)}=={version.split('+')[0]}"  # "2.13.0+cpu": the local build tag is not on PyPI


def python_version() -> str:
    """This interpreter's ``major.minor`` (the image's default Python)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def gpu_packages() -> list[str]:
    """The GPU image's packages besides torch: the CPU list plus :data:`GPU_EXTRA`, pinned, one spec per name."""
    specs: dict[str, str] = {}
    for spec in (*CPU_PACKAGES, *LLM_EXTRA, VLLM):
        name = _NAME.match(spec)
        key = (name.group(0) if name else spec).split("[")[0].lower().replace("_", "-")
        # A later (stricter) spec of a package replaces an earlier one; vLLM keeps its pin (it fixes torch's).
        specs[key] = spec if spec == VLLM else pinned(spec)
    return list(specs.values())


def build_image(modal: Any, *, gpu: bool, sources: tuple[str, ...], python: str | None = None,
                files: tuple[tuple[str, str], ...] = ()) -> Any:
    """A worker image (built lazily by Modal: constructing it needs no network).

    Args:
        modal: the imported ``modal`` package.
        gpu: the CUDA image (torch from PyPI, plus :data:`GPU_EXTRA`: the llm extra and vLLM) instead of the CPU one.
        sources: Python packages/modules added at container start (tensorrag and card modules).
        python: the image's Python (default: this interpreter's minor version).
        files: ``(local path, remote path)`` pairs added at container start (project card files).
    """
    packages = gpu_packages() if gpu else [pinned(p) for p in CPU_PACKAGES]
    image = modal.Image.debian_slim(python_version=python or python_version())
    torch = pinned(TORCH.split("==")[0]) if importlib.util.find_spec("torch") else TORCH
    image = image.uv_pip_install(torch) if gpu else image.uv_pip_install(torch, index_url=TORCH_CPU_INDEX)
    image = image.uv_pip_install(*packages).env({"HF_HOME": HF_HOME})
    for local, remote in files:
        image = image.add_local_dir(local, remote) if os.path.isdir(local) else image.add_local_file(local, remote)
    return image.add_local_python_source(*dict.fromkeys(sources))


def _digest(module: str) -> str | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    h = hashlib.sha256()
    if spec.submodule_search_locations:  # a package (or namespace package): every .py file under it
        root = next(iter(spec.submodule_search_locations))
        for folder, dirs, names in sorted(os.walk(root)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(folder, name)
                h.update(os.path.relpath(path, root).replace(os.sep, "/").encode() + b"\0")
                with open(path, "rb") as f:
                    h.update(f.read())
    elif spec.origin and os.path.isfile(spec.origin):
        with open(spec.origin, "rb") as f:
            h.update(f.read())
    else:
        return None
    return h.hexdigest()[:16]


def expectation(modules: tuple[str, ...]) -> dict[str, Any]:
    """What a worker must run: tensorrag's version and a digest of each module's ``.py`` files."""
    from tensorrag._version import __version__

    return {"tensorrag": __version__, "modules": {m: _digest(m) for m in dict.fromkeys(modules)}}


def mismatch(expected: dict[str, Any] | None) -> str | None:
    """Why this worker does not match ``expected`` (None when it does, or nothing is expected)."""
    if not expected:
        return None
    mine = expectation(tuple(expected.get("modules", {})))
    problems = []
    if expected.get("tensorrag") != mine["tensorrag"]:
        problems.append(f"tensorrag {mine['tensorrag']} in the worker, {expected.get('tensorrag')} here")
    for module, digest in expected.get("modules", {}).items():
        if digest is not None and mine["modules"].get(module) != digest:
            problems.append(f"module {module!r} differs from the local copy" if mine["modules"].get(module)
                            else f"module {module!r} is not in the worker image")
    return "; ".join(problems) or None
