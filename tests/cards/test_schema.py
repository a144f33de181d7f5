from __future__ import annotations

from typing import Annotated, Literal

import pydantic
import pytest

from tensorrag.cards.schema import normalize_schema, schema_problems, validate_config


def _obj(props: dict, required: list[str] | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": props, **extra}
    if required is not None:
        schema["required"] = required
    return schema


def _fields(problems: list[dict]) -> list[str]:
    return [p["field"] for p in problems]


class TestNormalizeFlat:
    def test_flat_form(self):
        flat = {
            "factor": {"type": "number", "default": 2, "label": "Factor"},
            "name": {"type": "string", "required": True, "description": "who"},
            "titled": {"type": "string", "label": "L", "title": "T"},
            "optional": {"type": "boolean", "required": False},
        }
        assert normalize_schema(flat) == {
            "type": "object",
            "properties": {
                "factor": {"type": "number", "default": 2, "title": "Factor"},
                "name": {"type": "string", "description": "who"},
                "titled": {"type": "string", "label": "L", "title": "T"},
                "optional": {"type": "boolean"},
            },
            "required": ["name"],
        }

    def test_meta_and_private_keys_are_skipped(self):
        flat = {
            "description": "card-level text",
            "title": "Config",
            "required": ["x"],
            "default": {},
            "_hidden": {"type": "string"},
            "not_a_field": 3,
            "x": {"type": "integer"},
        }
        assert normalize_schema(flat) == {"type": "object", "properties": {"x": {"type": "integer"}}}

    def test_input_untouched(self):
        flat = {"f": {"type": "number", "label": "F", "required": True}}
        normalize_schema(flat)
        assert flat == {"f": {"type": "number", "label": "F", "required": True}}

    @pytest.mark.parametrize("empty", [None, {}])
    def test_empty(self, empty):
        assert normalize_schema(empty) == {"type": "object", "properties": {}}


class TestNormalizeJsonSchema:
    def test_json_schema_form_kept(self):
        schema = _obj({"a": {"type": "integer"}}, ["a"])
        out = normalize_schema(schema)
        assert out == schema
        assert out is not schema
        out["properties"]["a"]["type"] = "string"
        assert schema["properties"]["a"]["type"] == "integer"

    def test_properties_without_type(self):
        assert normalize_schema({"properties": {"a": {"type": "string"}}}) == {
            "type": "object",
            "properties": {"a": {"type": "string"}},
        }

    def test_object_without_properties(self):
        assert normalize_schema({"type": "object"}) == {"type": "object", "properties": {}}


class TestDefaultsAndCoercion:
    def test_defaults_filled(self):
        schema = _obj({"a": {"type": "integer", "default": 1}, "b": {"type": "array", "default": [1]}, "c": {}})
        filled, problems = validate_config(schema, {})
        assert problems == []
        assert filled == {"a": 1, "b": [1]}

    def test_defaults_are_copies(self):
        schema = _obj({"b": {"type": "array", "default": [1]}})
        filled, _ = validate_config(schema, {})
        filled["b"].append(2)
        assert schema["properties"]["b"]["default"] == [1]

    def test_config_not_modified(self):
        config = {"n": "3"}
        validate_config(_obj({"n": {"type": "integer"}, "d": {"default": 1}}), config)
        assert config == {"n": "3"}

    @pytest.mark.parametrize(
        ("typ", "raw", "value"),
        [
            ("number", "0.2", 0.2),
            ("number", " 1e3 ", 1000.0),
            ("number", 3, 3),
            ("integer", "3", 3),
            ("integer", "-12", -12),
            ("integer", 3.0, 3),
            ("boolean", "true", True),
            ("boolean", "False", False),
            ("string", "x", "x"),
            (["integer", "string"], "7", "7"),  # already valid as a string: not coerced
            (["integer", "null"], "7", 7),
        ],
    )
    def test_coercion(self, typ, raw, value):
        filled, problems = validate_config(_obj({"v": {"type": typ}}), {"v": raw})
        assert problems == []
        assert filled["v"] == value
        assert type(filled["v"]) is type(value)

    @pytest.mark.parametrize(
        ("typ", "raw", "message"),
        [
            ("integer", 3.5, "expected an integer, got number 3.5"),
            ("integer", "3.5", "expected an integer, got string '3.5'"),
            ("number", "abc", "expected a number, got string 'abc'"),
            ("number", True, "expected a number, got boolean True"),
            ("integer", False, "expected an integer, got boolean False"),
            ("boolean", "yes", "expected a boolean, got string 'yes'"),
            ("string", 5, "expected a string, got integer 5"),
            ("array", "a,b", "expected an array, got string 'a,b'"),
            ("object", [1], "expected an object, got array [1]"),
        ],
    )
    def test_type_errors(self, typ, raw, message):
        _, problems = validate_config(_obj({"v": {"type": typ}}), {"v": raw})
        assert problems == [{"field": "v", "message": message}]

    def test_none_with_default_falls_back_to_default(self):
        filled, problems = validate_config(_obj({"lr": {"type": "number", "default": 0.01}}), {"lr": None})
        assert problems == []
        assert filled == {"lr": 0.01}

    def test_none_allowed_by_nullable_type(self):
        schema = _obj({"x": {"type": ["integer", "null"], "default": 5}})
        assert validate_config(schema, {"x": None}) == ({"x": None}, [])

    def test_none_without_default_is_an_error(self):
        _, problems = validate_config(_obj({"x": {"type": "integer"}}), {"x": None})
        assert _fields(problems) == ["x"]
        assert problems[0]["message"].startswith("expected an integer")

    def test_none_allowed_by_any_of_null(self):
        schema = _obj({"x": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 5}})
        assert validate_config(schema, {"x": None}) == ({"x": None}, [])

    def test_nan_string_is_not_a_number(self):
        _, problems = validate_config(_obj({"x": {"type": "number"}}), {"x": "nan"})
        assert _fields(problems) == ["x"]


class TestConstraints:
    def test_enum_did_you_mean(self):
        schema = _obj({"model": {"type": "string", "enum": ["linear_regression", "ridge", "lasso"]}})
        _, problems = validate_config(schema, {"model": "rigde"})
        assert problems == [
            {
                "field": "model",
                "message": "must be one of 'linear_regression', 'ridge', 'lasso'; got 'rigde' (did you mean 'ridge'?)",
            }
        ]

    def test_enum_without_suggestion(self):
        _, problems = validate_config(_obj({"k": {"enum": [1, 2]}}), {"k": 3})
        assert problems == [{"field": "k", "message": "must be one of 1, 2; got 3"}]

    def test_enum_after_coercion(self):
        assert validate_config(_obj({"k": {"type": "integer", "enum": [1, 2]}}), {"k": "2"}) == ({"k": 2}, [])

    def test_const(self):
        _, problems = validate_config(_obj({"k": {"const": "x"}}), {"k": "y"})
        assert problems == [{"field": "k", "message": "must be 'x', got 'y'"}]

    @pytest.mark.parametrize(
        ("keyword", "bound", "value", "message"),
        [
            ("minimum", 1, 0, "must be >= 1, got 0"),
            ("maximum", 1, 2, "must be <= 1, got 2"),
            ("exclusiveMinimum", 0, 0, "must be > 0, got 0"),
            ("exclusiveMaximum", 1, 1.0, "must be < 1, got 1.0"),
        ],
    )
    def test_numeric_bounds(self, keyword, bound, value, message):
        schema = _obj({"x": {"type": "number", keyword: bound}})
        assert validate_config(schema, {"x": value})[1] == [{"field": "x", "message": message}]

    @pytest.mark.parametrize(
        ("keyword", "value"), [("minimum", 1), ("maximum", 1), ("exclusiveMinimum", 1.5), ("exclusiveMaximum", 0.5)]
    )
    def test_numeric_bounds_ok(self, keyword, value):
        schema = _obj({"x": {"type": "number", keyword: 1}})
        assert validate_config(schema, {"x": value})[1] == []

    def test_bounds_apply_after_coercion(self):
        _, problems = validate_config(_obj({"x": {"type": "number", "maximum": 1}}), {"x": "1.5"})
        assert problems == [{"field": "x", "message": "must be <= 1, got 1.5"}]

    def test_string_length_and_pattern(self):
        schema = _obj(
            {
                "short": {"type": "string", "minLength": 2},
                "long": {"type": "string", "maxLength": 3},
                "code": {"type": "string", "pattern": "^[a-z]+$"},
                "ok": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "b"},
            }
        )
        _, problems = validate_config(schema, {"short": "a", "long": "abcd", "code": "AB", "ok": "abc"})
        assert problems == [
            {"field": "short", "message": "must have at least 2 characters"},
            {"field": "long", "message": "must have at most 3 characters"},
            {"field": "code", "message": "must match pattern '^[a-z]+$'; got 'AB'"},
        ]

    def test_arrays_with_items(self):
        schema = _obj(
            {
                "metrics": {"type": "array", "items": {"type": "string", "enum": ["mse", "r2"]}, "minItems": 1},
                "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 3},
            }
        )
        filled, problems = validate_config(schema, {"metrics": ["mse", "mes"], "sizes": ["64", 32.0, 0, 1]})
        assert filled["sizes"] == [64, 32, 0, 1]
        assert problems == [
            {"field": "metrics[1]", "message": "must be one of 'mse', 'r2'; got 'mes' (did you mean 'mse'?)"},
            {"field": "sizes", "message": "must have at most 3 items"},
            {"field": "sizes[2]", "message": "must be >= 1, got 0"},
        ]

    def test_min_items(self):
        schema = _obj({"m": {"type": "array", "minItems": 1}})
        assert validate_config(schema, {"m": []})[1] == [{"field": "m", "message": "must have at least 1 items"}]

    def test_nested_objects(self):
        schema = _obj(
            {
                "opt": {
                    "type": "object",
                    "properties": {"lr": {"type": "number", "default": 0.1}, "name": {"type": "string"}},
                    "required": ["name"],
                }
            }
        )
        filled, problems = validate_config(schema, {"opt": {"lr": "0.5"}})
        assert filled == {"opt": {"lr": 0.5}}
        assert problems == [{"field": "opt.name", "message": "is required"}]
        filled, problems = validate_config(schema, {"opt": {"name": "adam", "betas": 1}})
        assert filled == {"opt": {"lr": 0.1, "name": "adam"}}
        assert problems == [
            {"field": "opt.betas", "message": "is not a config field of this card; known fields: lr, name"}
        ]

    def test_required(self):
        schema = _obj({"target": {"type": "string"}, "seed": {"type": "integer", "default": 1}}, ["target", "seed"])
        filled, problems = validate_config(schema, {})
        assert problems == [{"field": "target", "message": "is required"}]
        assert filled == {"seed": 1}  # required with a default is satisfied by it

    def test_unknown_field_did_you_mean(self):
        schema = _obj({"test_ratio": {"type": "number"}, "random_seed": {"type": "integer"}})
        _, problems = validate_config(schema, {"test_ration": 0.2})
        assert problems == [
            {"field": "test_ration", "message": "is not a config field of this card; did you mean 'test_ratio'?"}
        ]

    def test_private_keys_pass(self):
        schema = _obj({"a": {"type": "integer"}})
        filled, problems = validate_config(schema, {"a": 1, "_pipeline_id": "p", "_node_id": {"any": [1]}})
        assert problems == []
        assert filled == {"a": 1, "_pipeline_id": "p", "_node_id": {"any": [1]}}
        # not checked against the schema, but saved with the pipeline: plain JSON only
        _, problems = validate_config(schema, {"_node_id": object})
        assert [p["field"] for p in problems] == ["_node_id"]

    def test_additional_properties(self):
        assert validate_config(_obj({"a": {}}, additionalProperties=True), {"z": 1}) == ({"z": 1}, [])
        schema = _obj({"a": {}}, additionalProperties={"type": "integer"})
        assert validate_config(schema, {"z": "4"}) == ({"z": 4}, [])
        assert _fields(validate_config(schema, {"z": "x"})[1]) == ["z"]

    def test_schema_without_properties_accepts_anything(self):
        assert validate_config(normalize_schema({}), {"anything": [1]}) == ({"anything": [1]}, [])

    def test_all_problems_at_once(self):
        schema = _obj(
            {
                "a": {"type": "integer", "minimum": 0},
                "b": {"type": "string", "enum": ["x", "y"]},
                "c": {"type": "boolean"},
                "d": {"type": "string"},
            },
            ["d"],
        )
        _, problems = validate_config(schema, {"a": -1, "b": "z", "c": "maybe", "e": 1})
        assert sorted(_fields(problems)) == ["a", "b", "c", "d", "e"]

    def test_config_none(self):
        assert validate_config(_obj({"a": {"default": 1}}), None) == ({"a": 1}, [])


class _Inner(pydantic.BaseModel):
    units: Annotated[int, pydantic.Field(ge=1)] = 8
    activation: Literal["relu", "tanh"] = "relu"


class _Config(pydantic.BaseModel):
    layer: _Inner = _Inner()
    layers: list[_Inner] = []
    dropout: float | None = None
    seed: int | None = 3
    name: str = "m"


class TestPydanticSchemas:
    SCHEMA = _Config.model_json_schema()

    def test_schema_uses_refs(self):
        assert "$defs" in self.SCHEMA
        assert "$ref" in str(self.SCHEMA["properties"]["layer"])

    def test_defaults_from_refs(self):
        filled, problems = validate_config(self.SCHEMA, {})
        assert problems == []
        assert filled == {
            "layer": {"units": 8, "activation": "relu"},
            "layers": [],
            "dropout": None,
            "seed": 3,
            "name": "m",
        }

    def test_ref_validated_and_coerced(self):
        filled, problems = validate_config(self.SCHEMA, {"layer": {"units": "16", "activation": "tahn"}})
        assert filled["layer"]["units"] == 16
        assert problems == [
            {"field": "layer.activation", "message": "must be one of 'relu', 'tanh'; got 'tahn' (did you mean 'tanh'?)"}
        ]

    def test_ref_inside_array_items(self):
        _, problems = validate_config(self.SCHEMA, {"layers": [{"units": 4}, {"units": 0}]})
        assert problems == [{"field": "layers[1].units", "message": "must be >= 1, got 0"}]

    def test_any_of_optional(self):
        filled, problems = validate_config(self.SCHEMA, {"dropout": "0.25", "seed": None})
        assert problems == []
        assert filled["dropout"] == 0.25
        _, problems = validate_config(self.SCHEMA, {"dropout": "lots"})
        assert problems == [{"field": "dropout", "message": "expected a number or a null, got string 'lots'"}]

    def test_filled_config_is_accepted_by_pydantic(self):
        filled, problems = validate_config(self.SCHEMA, {"layer": {"units": "2"}, "dropout": "0.5"})
        assert problems == []
        assert _Config.model_validate(filled).layer.units == 2


class TestMalformedSchemas:
    """A schema keyword of the wrong type is reported as a problem of the field, never a crash."""

    @pytest.mark.parametrize(
        ("prop", "value", "words"),
        [
            ({"type": "number", "minimum": "0"}, 5, '"minimum" must be a number; got string \'0\''),
            ({"type": "string", "maxLength": "3"}, "abc", '"maxLength" must be a whole number >= 0'),
            ({"type": "array", "minItems": 1.5}, [1], '"minItems" must be a whole number >= 0'),
            ({"enum": 3}, 3, '"enum" must be a list'),
            ({"type": "object", "properties": []}, {}, '"properties" must be a dict of schemas'),
            ({"anyOf": [1, 2]}, 1, '"anyOf" must be a list of schemas'),
            ({"type": 5}, 1, '"type" must be a string or a list of strings'),
            ({"$ref": "#/type"}, 1, None),  # a $ref to a non-schema resolves to nothing, not a crash
        ],
    )
    def test_reported_not_raised(self, prop, value, words):
        filled, problems = validate_config(_obj({"f": prop}), {"f": value})
        if words is None:
            assert filled == {"f": value}
            return
        assert _fields(problems) == ["f"]
        assert words in problems[0]["message"] and "fix the card" in problems[0]["message"]
        assert any(words in p for p in schema_problems(_obj({"f": prop})))

    def test_schema_problems_walks_everything(self):
        schema = _obj(
            {"a": {"type": "object", "properties": {"b": {"type": "integer", "maximum": "9"}}}},
            **{"$defs": {"D": {"type": "string", "pattern": 5}}},
        )
        problems = schema_problems(schema)
        assert any(p.startswith("config_schema.properties.a.properties.b:") and "maximum" in p for p in problems)
        assert any(p.startswith("config_schema.$defs.D:") and "pattern" in p for p in problems)
        assert schema_problems(normalize_schema({"x": {"type": "number", "default": 1}})) == []


class TestNonJsonValues:
    @pytest.mark.parametrize(
        ("value", "words"),
        [
            (float("nan"), "is nan, which is not a JSON number"),
            (float("-inf"), "is -inf"),
            ({1: 2}, "has the key 1"),
            (object(), "which is not a JSON value"),
            ("a\udc80", "lone surrogate"),
        ],
    )
    def test_refused_even_without_a_type(self, value, words):
        _, problems = validate_config(_obj({"f": {}}), {"f": value})
        assert _fields(problems) == ["f"] and words in problems[0]["message"]

    def test_number_fields_refuse_nan(self):
        schema = _obj({"ratio": {"type": "number", "minimum": 0, "maximum": 1}})
        _, problems = validate_config(schema, {"ratio": float("nan")})
        assert _fields(problems) == ["ratio"]

    def test_non_string_field_names(self):
        _, problems = validate_config(_obj({}, additionalProperties=True), {1: "x"})
        assert problems == [{"field": "1", "message": "config field names must be strings"}]
