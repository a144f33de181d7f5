"""In a notebook, ``p.run()`` shows card output under the cell that ran it (a real IPython kernel)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")

ROOT = Path(__file__).resolve().parents[1]

CELL = '''
import tensorrag as tr

@tr.card
def talk(n: int = 2) -> dict:
    for i in range(1, n + 1):
        print(f"tick {i}")
    return {"n": n}

@tr.card
def explode(data: dict) -> dict:
    raise ValueError("boom")

p = tr.Pipeline("cell")
p.add(talk, id="talk")
p.add(explode, id="bad")
p.connect("talk", "output", "bad", "data")
run = p.run(echo=ECHO)
print("state:", run.state)
'''


def execute(kc: Any, code: str, timeout: float = 30) -> dict[str, str]:
    """Run ``code`` in the kernel; the stdout and stderr text streamed under that cell."""
    msg_id = kc.execute(code)
    streams = {"stdout": "", "stderr": ""}
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            streams[msg["content"]["name"]] += msg["content"]["text"]
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return streams


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("kernel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORRAG_", "STORAGE_DIR", "S3_"))}
    env.update(PYTHONPATH=str(ROOT), TENSORRAG_STORAGE=str(home / "store"), S3_ENABLED="false")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(home))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.timeout(60)
def test_card_output_appears_under_the_cell(kernel: Any) -> None:
    out = execute(kernel, textwrap.dedent(CELL).replace("ECHO", "True"))
    assert out["stdout"].splitlines() == ["[talk] tick 1", "[talk] tick 2", "state: failed"], out
    assert out["stderr"].startswith("node 'bad' failed: ValueError: boom\n"), out
    assert 'raise ValueError("boom")' in out["stderr"]


@pytest.mark.timeout(60)
def test_echo_false_keeps_the_cell_quiet(kernel: Any) -> None:
    out = execute(kernel, textwrap.dedent(CELL).replace("ECHO", "False"))
    assert out == {"stdout": "state: failed\n", "stderr": ""}
