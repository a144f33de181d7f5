"""Project card files as ``@tr.card`` functions, ported ``cards.base`` card files, and card tracebacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

import tensorrag as tr
from tensorrag.cards.validate import validate_card_source
from tensorrag.executors.runtime import card_ref
from tensorrag.workspace import ProjectCard, Workspace

FRAME = '''\
import pandas as pd

import tensorrag as tr


@tr.card(category="data")
def make_frame(rows: int = 3) -> pd.DataFrame:
    """A frame of ``rows`` rows."""
    return pd.DataFrame({"x": list(range(rows))})
'''

SCALE = '''\
from typing import Literal

import pandas as pd

from tensorrag import card


@card(outputs={"scaled": "dataframe", "stats": "json"}, resources={"timeout": 60}, version=2)
def rescale(dataset: pd.DataFrame, factor: float = 2.0, how: Literal["up", "down"] = "up") -> dict:
    """Scale every column.

    More words.
    """
    if how == "down":
        raise ValueError("scaling down is not implemented")
    out = dataset * factor
    return {"scaled": out, "stats": {"sum": int(out["x"].sum())}}
'''

# The original system's card file, unchanged: its import line is the original's.
LEGACY = """\
from cards.base import BaseCard


class Count(BaseCard):
    card_type = "count_rows"
    display_name = "Count rows"
    description = "How many rows"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    input_schema = {"dataset": "dataframe"}
    output_schema = {"count": "json"}

    def execute(self, config, inputs, storage):
        import cards.base
        from cards import base
        assert cards.base.BaseCard is base.BaseCard is BaseCard
        df = storage.load_dataframe(inputs["dataset"])
        return {"count": storage.save_json(config["_pipeline_id"], config["_node_id"], "count", {"n": len(df)})}
"""

# Example functions whose schema the validator derives from the AST and @tr.card at run time: both must agree.
EXAMPLES = [
    FRAME,
    SCALE,
    """\
import typing
from typing import Any, Optional, Union

import pandas


@typing.no_type_check
def helper():
    pass


import tensorrag


@tensorrag.card(card_type="many", display_name="Many things", category="training", output_view_type="table")
def many_args(
    frame: "pandas.DataFrame", blob: bytes, meta: dict[str, Any], model, anything: Any, either: Optional[dict],
    n: int = 3, ratio: float = 1, name: str = "a", flag: bool = False, items: list = (1, 2), ints: list[int] = [],
    nested: list[list[str]] = [], opts: dict = {"a": 1}, counts: dict[str, int] = {}, maybe: Optional[int] = None,
    other: Union[str, None] = None, pipe: int | None = 4, one: typing.Literal["x"] = "x",
    mixed: typing.Literal[1, "a", True] = 1, bools: typing.Literal[True, False] = True, untyped=5,
    *, keyword_only: int = 1, required_kw: bytearray,
) -> None:
    pass
""",
    """\
from collections.abc import Mapping

from tensorrag import card


@card
def passthrough(value: Mapping, tag: str = "t"):
    return value
""",
    """\
import tensorrag as tr


@tr.card(execution_mode="modal", resources={"gpu": "T4", "timeout": 600})
def train_model(data: list, epochs: int = 1, lr: float = 0.001) -> object:
    return {"epochs": epochs}
""",
]


@pytest.fixture
def ws(tmp_path: Any) -> Workspace:
    return Workspace(tmp_path / "root", user="alice")


def _runtime(source: str) -> type[Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<example>", "exec"), namespace)
    (fn,) = [v for v in namespace.values() if isinstance(v, tr.CardFunction)]
    return fn.card_class


class TestValidation:
    @pytest.mark.parametrize("source", EXAMPLES, ids=lambda s: s.split("def ")[-1].split("(")[0])
    def test_the_syntax_tree_derives_what_the_decorator_derives(self, source: str) -> None:
        result = validate_card_source(source, "cards/x.py")
        assert result.success, result.errors
        real = _runtime(source)
        assert result.extracted_schema == real.to_schema()
        assert json.dumps(result.extracted_schema) == json.dumps(real.to_schema())  # the same order too
        assert result.literals["resources"] == real.resources
        assert result.card_type == real.card_type and result.class_name == real.__name__

    def test_what_cannot_be_read_without_running_is_an_error_with_its_line(self) -> None:
        source = """\
import tensorrag as tr
from pydantic import BaseModel

LIMIT = 3


@tr.card(cache_token=lambda config: "x", outputs={"out": "tabel"}, color="red")
def broken(data, *rest, n: int = LIMIT, model: BaseModel = {}, ok: int = 1):
    return data
"""
        result = validate_card_source(source, "cards/broken.py")
        assert not result.success
        messages = {(i.line, i.message.split(":")[0].split(" ")[0]) for i in result.errors}
        assert (7, "cache_token=") in messages and (7, "@card()") in messages
        assert (7, "Unknown") in messages and (8, "@card") in messages  # *rest
        texts = [str(i) for i in result.errors]
        assert any("line 8: Config field 'n': its default must be a literal" in t and "LIMIT" in t for t in texts)
        assert any("line 8: Config field 'model': annotation `BaseModel` is not supported" in t for t in texts)

    def test_one_card_per_file(self) -> None:
        both = SCALE + '\n\nclass Other(tr.BaseCard):\n    card_type = "other"\n'
        result = validate_card_source(both, "cards/two.py")
        assert not result.success and "only one card per file" in result.errors[0].message
        two = FRAME + "\n\n@tr.card\ndef again() -> None:\n    pass\n"
        result = validate_card_source(two)
        assert (
            not result.success and result.errors[0].line == 13 and "Multiple @card functions" in str(result.errors[0])
        )

    def test_the_original_import_is_accepted_with_the_line_to_write(self) -> None:
        result = validate_card_source(LEGACY, "cards/count.py")
        assert result.success
        notes = [i for i in result.warnings if "cards.base" in i.message]
        assert notes[0].line == 1 and "write `from tensorrag import BaseCard` instead" in notes[0].message
        assert [i.line for i in notes] == [1, 15, 16]  # the imports inside execute() too

    def test_importing_what_cards_base_never_had_is_refused(self) -> None:
        source = LEGACY.replace("from cards.base import BaseCard", "from cards.base import BaseCard, Storage")
        result = validate_card_source(source, "cards/count.py")
        assert not result.success
        (error,) = [i for i in result.errors if i.severity == "error"]
        assert error.line == 1 and "provides only BaseCard (not Storage)" in error.message
        assert "write `from tensorrag import BaseCard`" in error.message


class TestProjectFunctionCards:
    def test_saved_listed_and_built_without_running(self, ws: Workspace) -> None:
        proj = ws.create_project("p")
        assert proj.write_card("data/frame.py", FRAME).success
        result = proj.write_card("data/scale.py", SCALE)
        assert result.success and result.errors == []
        assert proj.cards == {"make_frame": "data/frame.py", "rescale": "data/scale.py"}
        again = Workspace(proj.workspace.store, user="alice").project("p")  # read back from storage
        cls = again.card("rescale")
        assert issubclass(cls, ProjectCard) and "_tr_real" not in vars(cls)
        assert cls.inputs() == {"dataset": "dataframe"}
        assert cls.outputs() == {"scaled": "dataframe", "stats": "json"}
        assert cls.to_schema() == _runtime(SCALE).to_schema() and cls.resources == {"timeout": 60}
        assert cls.version == 2 and cls.__doc__ is not None and cls.__doc__.startswith("Scale every column.")
        assert card_ref(cls)["path"] == "cards/data/scale.py"

    @pytest.mark.parametrize("executor", ["local", "process"])
    def test_function_and_original_cards_run(self, ws: Workspace, executor: str) -> None:
        proj = ws.create_project("p")
        for path, source in (("frame.py", FRAME), ("scale.py", SCALE), ("count.py", LEGACY)):
            assert proj.write_card(path, source).success
        p = tr.Pipeline("flow", project=proj)
        p.add("make_frame", id="f", rows=4)
        p.add("rescale", id="s", factor=3.0)
        p.add("count_rows", id="c")
        p.connect("f", "output", "s", "dataset")
        p.connect("s", "scaled", "c", "dataset")
        run = p.run(executor=executor, max_workers=1, progress=False)
        assert run.ok, [run.error(n) for n in ("f", "s", "c")]
        assert run.output("s", "scaled")["x"].tolist() == [0.0, 3.0, 6.0, 9.0]
        assert run.output("s", "stats") == {"sum": 18}
        assert run.output("c", "count") == {"n": 4}

    @pytest.mark.parametrize("executor", ["local", "process"])
    def test_a_failing_card_shows_its_file_and_line(self, ws: Workspace, executor: str) -> None:
        proj = ws.create_project("p")
        assert proj.write_card("data/frame.py", FRAME).success
        assert proj.write_card("data/scale.py", SCALE).success
        p = tr.Pipeline("flow", project=proj)
        p.add("make_frame", id="f")
        p.add("rescale", id="s", how="down")
        p.connect("f", "output", "s", "dataset")
        run = p.run(executor=executor, max_workers=1, progress=False)
        assert run.status["s"] == "failed"
        tb = run.error("s")["traceback"]
        assert 'File "cards/data/scale.py", line 15, in rescale' in tb
        assert 'raise ValueError("scaling down is not implemented")' in tb

    def test_registering_a_function_card_never_runs_the_file(self, ws: Workspace, tmp_path: Any) -> None:
        marker = tmp_path / "ran.txt"
        source = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + FRAME
        proj = ws.create_project("p")
        assert proj.write_card("frame.py", source).success
        again = Workspace(proj.workspace.store, user="alice").project("p")
        p = tr.Pipeline("flow", project=again)
        p.add("make_frame", id="f", rows=2)
        p.validate()
        cls = again.card("make_frame")
        cls.fingerprint(), cls.json_schema(), cls.to_schema(), card_ref(cls)
        assert not marker.exists()
        run = p.run(progress=False)
        assert run.ok and marker.read_text() == "ran" and run.output("f", "output")["x"].tolist() == [0, 1]
