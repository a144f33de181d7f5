"""The process worker keeps the card classes it resolved between tasks (by ref).

Real worker processes (one, so every task lands in the same one); tasks go straight to the executor.
"""

from __future__ import annotations

import json

import pytest

from tensorrag.executors.process import ProcessExecutor
from tensorrag.spec import Task, TaskResult

pytestmark = pytest.mark.timeout(120)

# A card file as a project ships it (``source``): its top level counts how often this worker ran it.
CARD = '''
import os
import sys

print("loading the card file")
sys.tensorrag_test_loads = getattr(sys, "tensorrag_test_loads", 0) + 1


class Counted(BaseCard):
    card_type = "counted"
    output_schema = {"out": "json"}

    def execute(self, config, inputs, storage):
        info = {"loads": sys.tensorrag_test_loads, "pid": os.getpid(), "v": VERSION}
        return {"out": storage.save_json("", "", "out", info)}
'''


@pytest.fixture(scope="module")
def one_worker() -> ProcessExecutor:
    ex = ProcessExecutor(max_workers=1)
    yield ex
    ex.shutdown()


def run(ex: ProcessExecutor, source: str, i: int) -> TaskResult:
    task = Task(run_id="r", node_id=f"n{i}", card={"card_type": "counted", "source": source}, config={},
                inputs={}, key=f"k{i}")
    return ex.submit(task).result(timeout=60)


def output(result: TaskResult) -> dict:
    assert result.ok, result.error
    return json.loads(result.outputs["out"]["data"])  # no store: outputs come back as bytes


def test_a_card_file_runs_once_per_worker_not_once_per_task(one_worker):
    source = CARD + "\nVERSION = 1\n"
    results = [run(one_worker, source, i) for i in range(5)]
    seen = [output(r) for r in results]
    assert len({s["pid"] for s in seen}) == 1
    assert [s["loads"] for s in seen] == [seen[0]["loads"]] * 5  # loaded once, then reused
    # the first resolution ran inside the task: its print is in that node's logs
    assert "loading the card file" in results[0].logs
    assert "loading the card file" not in results[1].logs


def test_a_changed_card_file_is_a_new_card(one_worker):
    first = output(run(one_worker, CARD + "\nVERSION = 2\n", 10))
    second = output(run(one_worker, CARD + "\nVERSION = 3\n", 11))
    assert (first["v"], second["v"]) == (2, 3)
    assert second["loads"] == first["loads"] + 1


def test_a_card_that_fails_to_load_fails_every_task_and_is_not_kept(one_worker):
    broken = "raise RuntimeError('this card file is broken')\n"
    for i in range(2):
        result = run(one_worker, broken, 20 + i)
        assert result.error is not None
        assert result.error["type"] == "RuntimeError"
        assert "this card file is broken" in result.error["message"]
