"""The remote entry and resource parsing shared by the Dask and Ray executors (no cluster needed)."""

from __future__ import annotations

import pytest

from tensorrag.errors import ConfigError
from tensorrag.executors.modal_images import expectation
from tensorrag.executors.remote import entry, gpu_count, memory_bytes
from tensorrag.executors.runtime import card_ref
from tensorrag.executors.worker import dumps, loads
from tensorrag.spec import Task, TaskResult
from tests.executors import cards as C


def _wire(n: int = 3) -> bytes:
    task = Task(run_id="r1", node_id="src", card=card_ref(C.t_source.card_class), config={"n": n}, inputs={},
                key="key-src")
    return dumps(task.to_wire())


def test_entry_runs_the_wire_payload_and_answers_plain_bytes():
    result = TaskResult.from_wire(loads(entry(_wire(4), expectation(("tensorrag", "tests")))))
    assert result.ok, result.error
    assert result.outputs["output"]["type"] == "json" and isinstance(result.outputs["output"]["data"], bytes)


def test_a_stale_worker_fails_the_node_instead_of_running_old_code():
    stale = {**expectation(("tensorrag",)), "tensorrag": "0.0.0-elsewhere"}
    result = TaskResult.from_wire(loads(entry(_wire(), stale)))
    assert result.error["type"] == "ExecutorError"
    assert "does not run the caller's code" in result.error["message"]
    assert "0.0.0-elsewhere" in result.error["message"]


def test_entry_refuses_a_payload_that_carries_a_class():
    import pickle

    from tensorrag.errors import SpecError

    with pytest.raises(SpecError, match="plain data only"):
        entry(pickle.dumps({"v": 1, "card": ConfigError("x")}), None)


@pytest.mark.parametrize(("value", "count"), [(None, 0), (False, 0), ("T4", 1), (True, 1), ("A100:2", 2), (4, 4)])
def test_gpu_count(value, count):
    assert gpu_count(value, "here") == count


def test_bad_gpu_and_memory_say_where_and_what():
    with pytest.raises(ConfigError, match=r"node 'x' resources\['gpu'\] must be a GPU name.*got 'H100:0'"):
        gpu_count("H100:0", "node 'x' resources['gpu']")
    with pytest.raises(ConfigError, match="MiB"):
        memory_bytes("16G", "node 'x' resources['memory']")
    assert memory_bytes(1024, "here") == 2**30
