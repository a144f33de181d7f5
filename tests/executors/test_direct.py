"""The direct path for ``@tr.card`` tasks: the same artifacts, refs, errors and logs as ``card.execute``."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import pytest

import tensorrag as tr
from tensorrag import BaseCard
from tensorrag.cards.decorator import FunctionCard
from tensorrag.executors import run_task
from tensorrag.executors.direct import is_direct
from tensorrag.executors.runtime import card_ref
from tensorrag.spec import Task
from tensorrag.storage import open_store
from tests.executors import cards as C


def task(cls: type[BaseCard], store: Any, *, direct: bool, config: dict[str, Any] | None = None,
         inputs: dict[str, Any] | None = None, key: str = "k1") -> Task:
    """A task that takes the direct path (class at hand) or the general one (the card found by reference)."""
    return Task(run_id="run-1", node_id="n1", card=card_ref(cls), config=dict(config or {}), inputs=dict(inputs or {}),
                key=key, pipeline_id="pipe", card_class=cls if direct else None, store=store)


class OwnExecute(FunctionCard):
    """A FunctionCard subclass with its own execute: it must not take the direct path."""

    card_type = "t_own_execute"


def test_only_function_cards_with_the_default_execute_are_direct():
    assert is_direct(C.t_types.card_class)
    assert not is_direct(C.ScaleCard)
    OwnExecute.execute = lambda self, config, inputs, storage: {}  # type: ignore[method-assign]
    assert not is_direct(OwnExecute)


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_direct_and_general_paths_write_the_same_artifacts(where, tmp_path):
    store = open_store(f"memory://direct-{uuid.uuid4().hex}" if where == "memory" else tmp_path)
    fast = run_task(task(C.t_types.card_class, store, direct=True, config={"rows": 4}, key="fast"))
    slow = run_task(task(C.t_types.card_class, store, direct=False, config={"rows": 4}, key="slow"))
    assert fast.ok and slow.ok, (fast.error, slow.error)
    assert set(fast.outputs) == set(slow.outputs) == {"frame", "doc", "blob", "model"}
    assert set(fast.extras) == set(slow.extras) == {"chart"}
    for group in ("outputs", "extras"):
        for port, ref in getattr(slow, group).items():
            other = getattr(fast, group)[port]
            assert other["uri"] == ref["uri"].replace("/slow/", "/fast/")  # same place, its own attempt folder
            assert {k: v for k, v in other.items() if k != "uri"} == {k: v for k, v in ref.items() if k != "uri"}
            a, b = store.get(other), store.get(ref)
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b)
            else:
                assert a == b  # Box compares by weights and name


def test_direct_path_feeds_typed_inputs_downstream():
    store = open_store(f"memory://direct-{uuid.uuid4().hex}")
    made = run_task(task(C.t_types.card_class, store, direct=True))
    used = run_task(task(C.t_use_types.card_class, store, direct=True, inputs={
        "frame": made.outputs["frame"], "model": made.outputs["model"], "blob": made.outputs["blob"]}, key="k2"))
    assert used.ok, used.error
    assert store.get(used.outputs["output"]) == {"rows": 3, "model_class": "Box", "prediction": 6.0, "blob_len": 9}


@tr.card
def wrong_type() -> pd.DataFrame:
    return {"not": "a frame"}  # type: ignore[return-value]


@tr.card(outputs={"a": "json", "b": "json"})
def half_the_outputs() -> dict:
    return {"a": 1}


@pytest.mark.parametrize("card", [wrong_type, half_the_outputs])
def test_direct_path_fails_as_the_general_one(card):
    store = open_store(f"memory://direct-{uuid.uuid4().hex}")
    fast = run_task(task(card.card_class, store, direct=True))
    slow = run_task(task(card.card_class, store, direct=False))
    assert fast.error is not None and slow.error is not None
    assert (fast.error["type"], fast.error["message"]) == (slow.error["type"], slow.error["message"])
    assert fast.outputs == {} and not fast.committed


def test_direct_path_captures_logs_and_progress():
    store = open_store(f"memory://direct-{uuid.uuid4().hex}")
    lines: list[str] = []
    seen: list[tuple[int, int]] = []
    talk = run_task(task(C.t_talk.card_class, store, direct=True, config={"text": "hi"}), on_log=lines.append)
    assert talk.ok
    assert "hi\n" in talk.logs and "careful: hi" in talk.logs and lines[0] == "hi"
    steps = run_task(task(C.t_progress.card_class, store, direct=True, config={"steps": 3}, key="k2"),
                     on_progress=lambda c, t: seen.append((c, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)] and steps.progress == [[1, 3], [2, 3], [3, 3]]
