import uuid
from typing import Annotated, Any, Literal, Optional

import pandas as pd
import pydantic
import pytest

from tensorrag import BaseCard, CardFunction, card
from tensorrag.cards.decorator import FunctionCard, port_type_of
from tensorrag.errors import CardDefinitionError, CardExecutionError, MissingOutputError
from tensorrag.storage import CardStorage, open_store


class Blob:
    """A custom artifact class (becomes a ``model`` port)."""


class Options(pydantic.BaseModel):
    depth: int = 2
    name: str = "x"


def _run(fn: CardFunction, inputs: dict[str, Any] | None = None, config: dict[str, Any] | None = None):
    """Execute the generated card the way the runtime does, over a fresh memory store."""
    store = open_store(f"memory://decorator-{uuid.uuid4().hex}")
    refs = {}
    for port, value in (inputs or {}).items():
        typ = fn.card_class.inputs()[port]
        refs[port] = store.put("upstream", port, value, None if typ == "any" else typ)
    storage = CardStorage(store, key="k", inputs=refs)
    cfg = {**(config or {}), "_pipeline_id": "p", "_node_id": "n", "_run_id": "r"}
    out = fn.card_class().execute(cfg, storage.input_refs, storage)
    return out, storage


class TestDeclaration:
    def test_bare_decorator(self):
        @card
        def double(df: pd.DataFrame) -> pd.DataFrame:
            """Double every value.

            More text.
            """
            return df * 2

        assert isinstance(double, CardFunction)
        cls = double.card_class
        assert issubclass(cls, BaseCard)
        assert issubclass(cls, FunctionCard)
        assert cls.card_type == "double"
        assert cls.display_name == "Double"
        assert cls.description == "Double every value."
        assert cls.category == "data"
        assert cls.execution_mode == "local"
        assert cls.output_view_type == "table"
        assert cls.inputs() == {"df": "dataframe"}
        assert cls.outputs() == {"output": "dataframe"}
        assert cls.config_schema == {}
        assert double.card_type == "double"  # reads through to the class
        assert "double" in repr(double)

    def test_with_keywords(self):
        @card(
            card_type="my_scaler",
            display_name="My Scaler",
            description="Scales",
            category="training",
            execution_mode="modal",
            output_view_type="metrics",
            resources={"gpu": "T4", "timeout": 600},
            outputs={"scaled": "dataframe", "stats": "json"},
        )
        def scale(df: pd.DataFrame, factor: float = 2.0) -> dict:
            return {"scaled": df * factor, "stats": {"factor": factor}}

        cls = scale.card_class
        assert (cls.card_type, cls.display_name, cls.description) == ("my_scaler", "My Scaler", "Scales")
        assert (cls.category, cls.execution_mode, cls.output_view_type) == ("training", "modal", "metrics")
        assert cls.resources == {"gpu": "T4", "timeout": 600}
        assert cls.outputs() == {"scaled": "dataframe", "stats": "json"}

    def test_to_schema(self):
        @card(category="model")
        def fit(train: pd.DataFrame, alpha: float = 0.5) -> Blob:
            """Fit a model."""
            return Blob()

        schema = fit.to_schema()
        assert schema == fit.card_class.to_schema()
        assert set(schema) == {
            "card_type",
            "display_name",
            "description",
            "category",
            "execution_mode",
            "config_schema",
            "input_schema",
            "output_schema",
            "output_view_type",
        }
        assert schema["card_type"] == "fit"
        assert schema["input_schema"] == {"train": "dataframe"}
        assert schema["output_schema"] == {"output": "model"}
        assert schema["output_view_type"] == "model_summary"
        assert schema["config_schema"]["properties"]["alpha"]["default"] == 0.5

    @pytest.mark.parametrize(
        ("annotation", "port"),
        [
            (pd.DataFrame, "dataframe"),
            (dict, "json"),
            (dict[str, int], "json"),
            (list, "json"),
            (list[float], "json"),
            (bytes, "bytes"),
            (Blob, "model"),
            (Optional[pd.DataFrame], "dataframe"),  # noqa: UP045
            (pd.DataFrame | None, "dataframe"),
            (Annotated[bytes, "meta"], "bytes"),
            (Any, "any"),
            (pd.DataFrame | dict, "any"),
            ("pd.DataFrame", "dataframe"),
        ],
    )
    def test_port_type_of(self, annotation, port):
        assert port_type_of(annotation) == port

    def test_input_types_from_annotations(self):
        @card(outputs={})
        def many(a: pd.DataFrame, b: dict, c: list, d: bytes, e, f: Blob, g: Optional[pd.DataFrame]):  # noqa: UP045
            return None

        assert many.inputs() == {
            "a": "dataframe",
            "b": "json",
            "c": "json",
            "d": "bytes",
            "e": "any",
            "f": "model",
            "g": "dataframe",
        }
        assert many.outputs() == {}

    def test_config_from_defaults(self):
        @card
        def cfg(
            df: pd.DataFrame,
            how: Literal["any", "all"] = "any",
            k: Annotated[int, pydantic.Field(ge=1)] = 2,
            ratio: float = 0.5,
            flag: bool = False,
            cols: list[str] | None = None,
            opts: Options = Options(),  # noqa: B008
        ) -> pd.DataFrame:
            return df

        schema = cfg.json_schema()
        props = schema["properties"]
        assert cfg.inputs() == {"df": "dataframe"}
        assert list(props) == ["how", "k", "ratio", "flag", "cols", "opts"]
        assert props["how"]["enum"] == ["any", "all"]
        assert props["how"]["default"] == "any"
        assert props["k"]["type"] == "integer"
        assert props["k"]["minimum"] == 1
        assert props["ratio"] == {"default": 0.5, "title": "Ratio", "type": "number"}
        assert props["flag"]["type"] == "boolean"
        assert "title" not in schema and "additionalProperties" not in schema
        assert "$defs" in schema  # the nested pydantic model

    def test_output_from_return_annotation(self):
        @card
        def to_json(df: pd.DataFrame) -> dict:
            return {}

        @card
        def to_bytes(df: pd.DataFrame) -> bytes:
            return b""

        @card
        def untyped(df: pd.DataFrame):
            return df

        assert (to_json.outputs(), to_json.output_view_type) == ({"output": "json"}, "metrics")
        assert (to_bytes.outputs(), to_bytes.output_view_type) == ({"output": "bytes"}, "json")
        assert untyped.outputs() == {"output": "any"}

    def test_return_none_means_no_outputs(self):
        @card
        def sink(df: pd.DataFrame) -> None:
            return None

        assert sink.outputs() == {}


class TestDefinitionErrors:
    def test_bad_output_type(self):
        with pytest.raises(
            CardDefinitionError, match=r"unknown output type\(s\) \{'x': 'tensor'\}; use one of dataframe"
        ):

            @card(outputs={"x": "tensor"})
            def f(df: pd.DataFrame):
                return df

    def test_var_args(self):
        with pytest.raises(CardDefinitionError, match=r"\*args/\*\*kwargs are not allowed"):

            @card
            def f(*dfs: pd.DataFrame):
                return None

    def test_var_kwargs(self):
        with pytest.raises(CardDefinitionError, match=r"\*args/\*\*kwargs are not allowed") as ei:

            @card
            def g(df: pd.DataFrame, **options):
                return None

        assert ei.value.card_type == "g"

    def test_positional_only(self):
        with pytest.raises(CardDefinitionError, match="positional-only parameters are not allowed"):

            @card
            def f(df: pd.DataFrame, /):
                return None

    def test_default_pydantic_cannot_describe(self):
        with pytest.raises(CardDefinitionError, match="cannot build a config schema from its defaults"):

            @card
            def f(df: pd.DataFrame, blob: Blob = Blob()):  # noqa: B008
                return df

    def test_bad_card_type(self):
        with pytest.raises(CardDefinitionError, match="needs a card_type that is a Python identifier"):

            @card(card_type="not valid")
            def f(df: pd.DataFrame):
                return df

    def test_bad_execution_mode(self):
        with pytest.raises(CardDefinitionError, match="execution_mode must be one of local, modal"):

            @card(execution_mode="cloud")
            def f(df: pd.DataFrame):
                return df

    def test_local_class_with_postponed_annotations(self):
        source = (
            "from __future__ import annotations\n"
            "from typing import Literal\n"
            "import pandas as pd\n"
            "from tensorrag import card\n"
            "def factory():\n"
            "    class Local:\n"
            "        pass\n"
            "    @card\n"
            "    def g(m: Local, df: pd.DataFrame, k: int = 3, mode: Literal['a', 'b'] = 'a') -> pd.DataFrame:\n"
            "        return df\n"
            "    return g\n"
        )
        ns: dict[str, Any] = {}
        exec(compile(source, "<cards>", "exec"), ns)
        g = ns["factory"]()
        assert g.inputs() == {"m": "model", "df": "dataframe"}
        assert g.json_schema()["properties"]["mode"]["enum"] == ["a", "b"]


class TestPlainCall:
    def test_still_callable(self):
        @card
        def add(df: pd.DataFrame, n: int = 1) -> pd.DataFrame:
            """Add n."""
            return df + n

        out = add(pd.DataFrame({"a": [1, 2]}), n=3)
        assert out["a"].tolist() == [4, 5]
        assert add.__name__ == "add"
        assert add.__doc__ == "Add n."
        assert add.__wrapped__(pd.DataFrame({"a": [0]}))["a"].tolist() == [1]

    def test_missing_dunder_is_attribute_error(self):
        @card
        def f(df: pd.DataFrame):
            return df

        with pytest.raises(AttributeError):
            _ = f.__no_such_dunder__


class TestFingerprint:
    def test_differs_when_body_differs(self):
        def make_a():
            @card
            def same(df: pd.DataFrame) -> pd.DataFrame:
                return df + 1

            return same

        def make_b():
            @card
            def same(df: pd.DataFrame) -> pd.DataFrame:
                return df + 2

            return same

        a, b = make_a(), make_b()
        assert a.card_type == b.card_type == "same"
        assert a.fingerprint() != b.fingerprint()
        assert a.fingerprint() == make_a().fingerprint()  # stable for the same code
        assert len(a.fingerprint()) == 16

    def test_differs_without_source(self):
        def build(body: str) -> CardFunction:
            ns: dict[str, Any] = {}
            exec(f"from tensorrag import card\n@card\ndef h(x: int = 1):\n    return {body}\n", ns)
            return ns["h"]

        assert build("x + 1").fingerprint() != build("x + 2").fingerprint()


class TestExecute:
    def test_single_output(self):
        @card
        def double(df: pd.DataFrame, factor: int = 2) -> pd.DataFrame:
            return df * factor

        out, storage = _run(double, {"df": pd.DataFrame({"a": [1, 2]})}, {"factor": 3})
        assert list(out) == ["output"]
        assert storage.load(out["output"])["a"].tolist() == [3, 6]
        assert storage.saved["output"]["type"] == "dataframe"

    def test_defaults_and_private_keys(self):
        seen = {}

        @card(outputs={"report": "json"})
        def report(df: pd.DataFrame, n: int = 5, label: str = "x") -> dict:
            seen.update(n=n, label=label)
            return {"rows": len(df)}

        out, storage = _run(report, {"df": pd.DataFrame({"a": [1, 2]})})
        assert seen == {"n": 5, "label": "x"}  # _pipeline_id etc. are not passed to the function
        assert storage.load(out["report"]) == {"rows": 2}

    def test_multiple_outputs(self):
        @card(outputs={"train": "dataframe", "test": "dataframe"})
        def split(df: pd.DataFrame) -> dict:
            return {"train": df.iloc[:3], "test": df.iloc[3:]}

        out, storage = _run(split, {"df": pd.DataFrame({"a": range(5)})})
        assert set(out) == {"train", "test"}
        assert len(storage.load(out["train"])) == 3
        assert len(storage.load(out["test"])) == 2

    def test_multiple_outputs_need_a_dict(self):
        @card(outputs={"a": "json", "b": "json"})
        def two(df: pd.DataFrame):
            return [1, 2]

        with pytest.raises(
            CardExecutionError, match=r"declares 2 outputs \(a, b\), so its function must return a dict"
        ):
            _run(two, {"df": pd.DataFrame({"x": [1]})})

    def test_missing_declared_output(self):
        @card(outputs={"a": "json", "b": "json"})
        def partial(df: pd.DataFrame) -> dict:
            return {"a": {}}

        with pytest.raises(MissingOutputError, match=r"did not return output\(s\) 'b'; it returned keys \['a'\]") as ei:
            _run(partial, {"df": pd.DataFrame({"x": [1]})})
        assert ei.value.card_type == "partial"

    @pytest.mark.parametrize(
        ("declared", "value", "got"),
        [("dataframe", {"a": 1}, "dict"), ("bytes", "text", "str"), ("json", Blob(), "Blob")],
    )
    def test_wrong_value_type(self, declared, value, got):
        @card(outputs={"out": declared})
        def wrong(df: pd.DataFrame):
            return value

        with pytest.raises(
            CardExecutionError, match=rf"output 'out' is declared '{declared}' but the function returned {got}"
        ):
            _run(wrong, {"df": pd.DataFrame({"x": [1]})})

    def test_extra_keys_are_saved_as_extra_artifacts(self):
        @card(outputs={"metrics": "json", "report": "json"})
        def evaluate(df: pd.DataFrame) -> dict:
            return {"metrics": {"r2": 0.5}, "report": {}, "chart": b"\x89PNG", "table": df}

        out, storage = _run(evaluate, {"df": pd.DataFrame({"x": [1]})})
        assert set(out) == {"metrics", "report"}
        saved = storage.saved
        assert set(saved) == {"metrics", "report", "chart", "table"}
        assert storage.load(out["metrics"]) == {"r2": 0.5}
        assert saved["chart"]["type"] == "bytes"
        assert saved["table"]["type"] == "dataframe"

    def test_single_output_dict_is_the_value(self):
        @card(outputs={"metrics": "json"})
        def one(df: pd.DataFrame) -> dict:
            return {"metrics": 1, "other": 2}

        out, storage = _run(one, {"df": pd.DataFrame({"x": [1]})})
        assert list(storage.saved) == ["metrics"]
        assert storage.load(out["metrics"]) == {"metrics": 1, "other": 2}

    def test_any_output_infers_type(self):
        @card
        def anything(df: pd.DataFrame):
            return {"k": 1}

        out, storage = _run(anything, {"df": pd.DataFrame({"x": [1]})})
        assert storage.saved["output"]["type"] == "json"
        assert storage.load(out["output"]) == {"k": 1}

    def test_inputs_of_several_types(self):
        @card(outputs={"summary": "json"})
        def combine(df: pd.DataFrame, meta: dict, raw: bytes, model: Blob) -> dict:
            return {"rows": len(df), "meta": meta, "raw": raw.decode(), "model": type(model).__name__}

        inputs = {"df": pd.DataFrame({"x": [1, 2]}), "meta": {"a": 1}, "raw": b"hi", "model": Blob()}
        out, storage = _run(combine, inputs)
        assert storage.load(out["summary"]) == {"rows": 2, "meta": {"a": 1}, "raw": "hi", "model": "Blob"}

    def test_config_validated_through_pydantic(self):
        seen = {}

        @card(outputs={"o": "json"})
        def typed(df: pd.DataFrame, k: int = 1, opts: Options = Options()) -> dict:  # noqa: B008
            seen.update(k=k, opts=opts)
            return {}

        _run(typed, {"df": pd.DataFrame({"x": [1]})}, {"k": "7", "opts": {"depth": "3"}})
        assert seen["k"] == 7
        assert isinstance(seen["opts"], Options)
        assert seen["opts"].depth == 3
        with pytest.raises(pydantic.ValidationError, match="k"):
            _run(typed, {"df": pd.DataFrame({"x": [1]})}, {"k": "seven"})
        with pytest.raises(pydantic.ValidationError, match="extra"):
            _run(typed, {"df": pd.DataFrame({"x": [1]})}, {"unknown": 1})

    def test_no_outputs(self):
        called = []

        @card(outputs={})
        def side_effect(df: pd.DataFrame):
            called.append(len(df))
            return "ignored"

        out, storage = _run(side_effect, {"df": pd.DataFrame({"x": [1, 2]})})
        assert (out, storage.saved, called) == ({}, {}, [2])
