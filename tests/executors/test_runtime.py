"""The worker entry function: run_task, resolve_card, card_ref."""

from __future__ import annotations

import json
import textwrap
import uuid

import pytest

import tensorrag as tr
from tensorrag import BaseCard
from tensorrag.errors import CardDefinitionError
from tensorrag.executors import run_task
from tensorrag.executors.runtime import card_ref, resolve_card
from tensorrag.spec import Task, TaskResult
from tensorrag.storage import open_store
from tensorrag.storage.codecs import sha256
from tests.executors import cards as C
from tests.executors.cards import settle


@pytest.fixture(autouse=True)
def _settle():
    yield
    settle()


@pytest.fixture
def store():
    return open_store(f"memory://runtime-{uuid.uuid4().hex}")


def make_task(cls, config=None, inputs=None, key="k1", store=None, node_id="n1") -> Task:
    return Task(
        run_id="run-1",
        node_id=node_id,
        card=card_ref(cls),
        config=dict(config or {}),
        inputs=dict(inputs or {}),
        key=key,
        pipeline_id="pipe",
        card_class=cls,
        store=store,
    )


# --------------------------------------------------------------------------- run_task


def test_run_task_success(store):
    result = run_task(make_task(C.t_source.card_class, {"n": 2}, store=store))
    assert isinstance(result, TaskResult)
    assert result.ok
    ref = result.outputs["output"]
    assert "sha256" not in ref  # memory:// keeps the object itself: nothing was encoded or hashed
    assert store.get(ref) == {"values": [0, 1]}
    assert json.loads(store.read_bytes(ref["uri"])) == {"values": [0, 1]}  # bytes made when asked
    assert result.preview is not None
    assert {"execute", "preview", "total"} <= set(result.timings)


def test_run_task_on_disk_hashes_its_outputs(tmp_path):
    disk = open_store(tmp_path)
    result = run_task(make_task(C.t_source.card_class, {"n": 2}, store=disk))
    ref = result.outputs["output"]
    assert ref["sha256"] == sha256(disk.read_bytes(ref["uri"]))
    assert disk.get(ref) == {"values": [0, 1]}


def test_run_task_never_raises_for_a_card_failure(store):
    result = run_task(make_task(C.t_fail_root.card_class, {"message": "nope"}, store=store))
    assert not result.ok
    assert result.error["type"] == "RuntimeError"
    assert result.error["message"] == "nope"
    assert "Traceback" in result.error["traceback"]
    assert result.outputs == {}
    TaskResult.from_wire(result.to_wire())


def test_run_task_sys_exit_is_an_error_not_an_exit(store):
    result = run_task(make_task(C.t_exit.card_class, {"code": 7}, store=store))
    assert result.error["type"] == "SystemExit"
    assert result.error["message"] == "7"


def test_run_task_unresolvable_card_is_an_error(store):
    task = Task(
        run_id="r",
        node_id="n",
        card={"card_type": "ghost", "module": "tests.executors.no_such_module:Ghost"},
        config={},
        inputs={},
        key="k",
        store=store,
    )
    result = run_task(task)
    assert result.error["type"] == "CardDefinitionError"
    assert "no_such_module" in result.error["message"]


def test_run_task_bad_refs(store):
    not_a_dict = run_task(make_task(C.NotADictCard, store=store))
    assert not_a_dict.error["type"] == "CardExecutionError"
    foreign = run_task(make_task(C.ForeignRefCard, store=store))
    assert foreign.error["type"] == "CardExecutionError"
    assert "not saved through the storage handle" in foreign.error["message"]


def test_preview_failure_keeps_the_result(store):
    result = run_task(make_task(C.BadPreviewCard, store=store))
    assert result.ok
    assert set(result.outputs) == {"out"}
    assert "preview_error" in result.preview
    assert "KeyError" in result.preview["preview_error"]


def test_preview_failure_keeps_the_node_completed(tmp_path):
    p = tr.Pipeline("bad-preview")
    p.add(C.BadPreviewCard, id="bp")
    run = p.run(storage=tmp_path)
    assert run.status == {"bp": "completed"}
    assert "no preview for you" in run.preview("bp")["preview_error"]
    assert run.output("bp") == {"x": 1}


def test_run_task_gets_pipeline_node_and_run_ids(store):
    class Ids(BaseCard):
        card_type = "t_ids"
        output_schema = {"ids": "json"}

        def execute(self, config, inputs, storage):
            ids = {k: config[k] for k in ("_pipeline_id", "_node_id", "_run_id")}
            return {"ids": storage.save_json(config["_pipeline_id"], config["_node_id"], "ids", ids)}

    result = run_task(make_task(Ids, store=store, node_id="the-node"))
    assert store.get(result.outputs["ids"]) == {"_pipeline_id": "pipe", "_node_id": "the-node", "_run_id": "run-1"}


def test_run_task_streams_logs_and_progress(store):
    lines: list[str] = []
    progress: list[tuple[int, int]] = []
    run_task(make_task(C.t_talk.card_class, store=store), on_log=lines.append)
    assert "hello from card" in lines
    assert "no newline at the end" in lines
    result = run_task(
        make_task(C.t_progress.card_class, {"steps": 3}, store=store, key="k2"),
        on_progress=lambda c, t: progress.append((c, t)),
    )
    assert result.ok
    assert progress == [(1, 3), (2, 3), (3, 3)]


def test_report_progress_outside_a_run_is_a_no_op():
    tr.report_progress(1, 2)  # must not raise


def test_run_task_with_an_explicit_store_and_no_live_objects(store):
    task = make_task(C.t_source.card_class, {"n": 1})
    task.card_class = None  # resolve by reference, like a worker elsewhere
    result = run_task(task, store)
    assert result.ok, result.error
    assert store.get(result.outputs["output"]) == {"values": [0]}


# --------------------------------------------------------------------------- resolve_card / card_ref


def test_card_ref_of_importable_cards():
    assert card_ref(C.t_source.card_class) == {
        "card_type": "t_source",
        "module": "tests.executors.cards:t_source.card_class",
    }
    assert card_ref(C.ScaleCard) == {"card_type": "t_scale", "module": "tests.executors.cards:ScaleCard"}


def test_card_ref_of_a_local_class_has_no_module():
    class Local(BaseCard):
        card_type = "t_local"
        output_schema = {"out": "json"}

        def execute(self, config, inputs, storage):
            return {}

    assert card_ref(Local) == {"card_type": "t_local"}
    Local.__tensorrag_source__ = "class Local(BaseCard): ..."
    assert card_ref(Local)["source"] == "class Local(BaseCard): ..."


def test_resolve_card_by_module_string():
    assert resolve_card({"card_type": "t_source", "module": "tests.executors.cards:t_source.card_class"}) is (
        C.t_source.card_class
    )
    assert resolve_card({"card_type": "t_scale", "module": "tests.executors.cards:ScaleCard"}) is C.ScaleCard
    # a module path to the @card function itself also works
    assert resolve_card({"card_type": "t_source", "module": "tests.executors.cards:t_source"}) is (
        C.t_source.card_class
    )
    with pytest.raises(CardDefinitionError, match="importable module"):
        resolve_card({"card_type": "x", "module": "tests.executors.cards:NoSuchCard"})


def test_resolve_card_by_registry_type():
    cls = resolve_card({"card_type": "data_split"})
    assert cls.card_type == "data_split"


SOURCE = textwrap.dedent(
    """
    class Echo(BaseCard):
        card_type = "t_src_echo"
        output_schema = {"out": "json"}

        def execute(self, config, inputs, storage):
            return {"out": storage.save_json(None, None, "out", {"echo": config.get("word", "hi")})}
    """
)


def test_resolve_card_by_source_string(store):
    cls = resolve_card({"card_type": "t_src_echo", "source": SOURCE})
    assert issubclass(cls, BaseCard)
    assert cls.card_type == "t_src_echo"
    task = Task(
        run_id="r",
        node_id="echo",
        card={"card_type": "t_src_echo", "source": SOURCE},
        config={"word": "yo"},
        inputs={},
        key="k-echo",
        store=store,
    )
    result = run_task(task)
    assert result.ok, result.error
    assert store.get(result.outputs["out"]) == {"echo": "yo"}


def test_source_without_the_named_card_is_an_error():
    with pytest.raises(CardDefinitionError, match="0 matching"):
        resolve_card({"card_type": "other_name", "source": SOURCE})
