"""The worker images follow this machine's environment (defect 9), built offline with a recorder for ``modal``."""

from __future__ import annotations

import importlib.metadata
import os
import sys

import pytest

from tensorrag.executors import modal_images

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Recorder:
    """Stands for ``modal``: records the image steps (modal.Image's methods return a new image each)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, tuple, dict]] = []
        self.Image = self

    def __getattr__(self, name):
        def step(*args, **kwargs):
            self.steps.append((name, args, kwargs))
            return self
        return step


def test_packages_are_pinned_to_the_local_versions():
    numpy = importlib.metadata.version("numpy")
    assert modal_images.pinned("numpy") == f"numpy=={numpy}"
    assert modal_images.pinned("pandas>=2.2") == f"pandas=={importlib.metadata.version('pandas')}"
    assert modal_images.pinned("surely-not-installed-pkg>=1") == "surely-not-installed-pkg>=1"


def test_cpu_image_takes_cpu_torch_and_the_local_python():
    pytest.importorskip("torch")
    torch = importlib.metadata.version("torch").split("+")[0]
    cpu, gpu = Recorder(), Recorder()
    modal_images.build_image(cpu, gpu=False, sources=("tensorrag", "my_cards"))
    modal_images.build_image(gpu, gpu=True, sources=("tensorrag",))
    assert cpu.steps[0] == ("debian_slim", (), {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"})
    assert cpu.steps[1] == ("uv_pip_install", (f"torch=={torch}",), {"index_url": modal_images.TORCH_CPU_INDEX})
    assert gpu.steps[1] == ("uv_pip_install", (f"torch=={torch}",), {})  # the CUDA build
    packages = cpu.steps[2][1]
    names = {spec.split("=")[0].split(">")[0] for spec in packages}  # pinned when installed here, else the range
    gpu_names = {spec.split("=")[0].split(">")[0] for spec in gpu.steps[2][1]}
    assert f"numpy=={importlib.metadata.version('numpy')}" in packages and "bitsandbytes" not in names
    assert "bitsandbytes" in gpu_names
    assert cpu.steps[-1] == ("add_local_python_source", ("tensorrag", "my_cards"), {})


def test_the_worker_entry_refuses_results_over_the_payload_limit():
    pytest.importorskip("modal")
    from tensorrag.errors import ExecutorError
    from tensorrag.executors import modal_app
    from tensorrag.executors.runtime import card_ref
    from tensorrag.spec import Task
    from tests.executors import cards as C

    task = Task(run_id="r", node_id="n", card=card_ref(C.t_frame.card_class), config={"rows": 5000}, inputs={}, key="k")
    with pytest.raises(ExecutorError, match=r"node 'n'.*over the payload limit.*s3://"):
        modal_app.entry(task.to_wire(), {**modal_images.expectation(("tensorrag",)), "max_result_bytes": 100})


def test_the_gpu_image_installs_the_llm_extra_and_a_vllm_on_the_same_torch():
    import tomllib

    gpu = Recorder()
    modal_images.build_image(gpu, gpu=True, sources=("tensorrag",))
    assert gpu.steps[1][1][0].split("==")[0] == "torch"  # the CUDA build first, from PyPI
    packages = gpu.steps[2][1]
    names = [spec.split("=")[0].split(">")[0].lower() for spec in packages]
    assert len(names) == len(set(names)), packages  # one spec per package
    assert modal_images.VLLM in packages  # kept exact: vllm 0.30.0 pins torch==2.13.0
    assert modal_images.TORCH == "torch==2.13.0"
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        extra = tomllib.load(fh)["project"]["optional-dependencies"]["llm"]
    assert set(modal_images.LLM_EXTRA) == {s for s in extra if not s.startswith("torch")}  # the same list
    assert modal_images.TORCH in extra  # ... and the same torch as vllm's pin
    for spec in modal_images.LLM_EXTRA:
        name = spec.split(">")[0]
        assert name in names, name
        try:
            assert f"{name}=={importlib.metadata.version(name)}" in packages  # pinned to this machine
        except importlib.metadata.PackageNotFoundError:
            assert spec in packages
    cpu = Recorder()
    modal_images.build_image(cpu, gpu=False, sources=("tensorrag",))
    assert not any(p.startswith("vllm") for p in cpu.steps[2][1])  # the CPU image stays small
