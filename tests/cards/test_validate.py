"""Card validation by AST: the original's checks and messages, our additions, and the proof
that the validated file is never imported or executed."""

from __future__ import annotations

import json
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tensorrag.cards.validate import ValidationIssue, ValidationResult, validate_card_file, validate_card_source
from tensorrag.errors import CardDefinitionError

if TYPE_CHECKING:
    from pathlib import Path

# Line numbers below refer to this template (line 1 is the import).
VALID = textwrap.dedent(
    """\
    from tensorrag import BaseCard


    class ScaleCard(BaseCard):
        card_type = "scale"
        display_name = "Scale"
        description = "Multiply every numeric column"
        category = "data"
        execution_mode = "local"
        output_view_type = "table"
        config_schema = {"factor": {"type": "number", "default": 2, "label": "Factor"}}
        input_schema = {"dataset": "dataframe"}
        output_schema = {"scaled": "dataframe"}

        def execute(self, config, inputs, storage):
            return {"scaled": storage.save_dataframe("_p", "_n", "scaled", None)}

        def get_output_preview(self, outputs, storage):
            return {}
    """
)
CLASS_LINE = 4

CATEGORY_LIST = "['data', 'evaluation', 'inference', 'model', 'training']"
PORT_LIST = "dataframe, model, json, bytes, directory, any"


def edit(source: str = VALID, **lines: str) -> str:
    """Replace lines of ``source`` (keys ``l5=...``); an empty string blanks the line (numbers are kept)."""
    rows = source.split("\n")
    for key, text in lines.items():
        rows[int(key[1:]) - 1] = text
    return "\n".join(rows)


def issue(result: ValidationResult, message: str) -> ValidationIssue:
    found = [i for i in result.errors if i.message == message]
    assert found, f"{message!r} not in {[i.message for i in result.errors]}"
    return found[0]


class TestValidCards:
    def test_original_style_card_flat_config(self):
        result = validate_card_source(VALID, "scale.py")
        assert result.success
        assert result.errors == []
        assert result.card_type == "scale"
        assert result.class_name == "ScaleCard"
        assert result.filename == "scale.py"
        assert result.extracted_schema == {
            "card_type": "scale",
            "display_name": "Scale",
            "description": "Multiply every numeric column",
            "category": "data",
            "execution_mode": "local",
            "config_schema": {"factor": {"type": "number", "default": 2, "label": "Factor"}},
            "input_schema": {"dataset": "dataframe"},
            "output_schema": {"scaled": "dataframe"},
            "output_view_type": "table",
        }

    def test_extracted_schema_equals_the_runtime_schema(self):
        namespace: dict = {}
        exec(compile(VALID, "scale_exec.py", "exec"), namespace)  # the test may run it; the validator never does
        assert validate_card_source(VALID).extracted_schema == namespace["ScaleCard"].to_schema()

    def test_to_dict_has_the_original_shape(self):
        result = validate_card_source(edit(l8='    category = "misc"'))
        data = result.to_dict()
        assert set(data) == {"success", "errors", "extracted_schema"}
        assert data["success"] is True
        assert data["errors"] == [
            {"line": 8, "message": f"Invalid category 'misc'. Must be one of: {CATEGORY_LIST}", "severity": "warning"}
        ]
        assert data["extracted_schema"]["category"] == "misc"
        json.dumps(data)

    def test_json_schema_form(self):
        source = textwrap.dedent(
            """\
            import tensorrag


            class Train(tensorrag.BaseCard):
                card_type = "train_model"
                display_name = "Train"
                description = "Fit a model"
                category = "training"
                execution_mode = "modal"
                output_view_type = "metrics"
                config_schema = {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string", "enum": ["linear", "forest"], "default": "forest"},
                        "epochs": {"type": "integer", "minimum": 1, "default": 10},
                        "lr": {"type": ["number", "null"], "default": None},
                        "layers": {"type": "array", "items": {"type": "integer"}, "default": [64, 32]},
                        "target": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                        "mode": {"$ref": "#/$defs/Mode", "default": "fast"},
                        "opts": {"type": "object", "properties": {"seed": {"type": "integer"}}, "default": {}},
                    },
                    "required": ["model", "epochs"],
                    "additionalProperties": False,
                    "$defs": {"Mode": {"type": "string", "enum": ["fast", "slow"]}},
                }
                input_schema = {"train": "dataframe", "extra": "any"}
                output_schema = {"model": "model", "metrics": "json", "plot": "bytes"}
                resources = {"gpu": "T4", "timeout": 600, "memory": 16384}

                def execute(self, config, inputs, storage, *args, **kwargs):
                    return {}

                def get_output_preview(self, outputs, storage=None):
                    return {}
            """
        )
        result = validate_card_source(source)
        assert result.errors == []
        assert result.success
        schema = result.extracted_schema
        assert schema is not None
        assert schema["config_schema"]["required"] == ["model", "epochs"]
        assert schema["execution_mode"] == "modal"
        assert schema["output_schema"] == {"model": "model", "metrics": "json", "plot": "bytes"}
        assert "resources" not in schema  # the original CardSchema has exactly nine keys
        assert len(schema) == 9

    def test_absent_schemas_are_empty_dicts(self):
        result = validate_card_source(edit(l11="", l12="", l13=""))
        assert result.success
        assert result.extracted_schema is not None
        for key in ("config_schema", "input_schema", "output_schema"):
            assert result.extracted_schema[key] == {}

    def test_annotated_assignments_are_accepted(self):
        source = edit(
            l5='    card_type: str = "scale"',
            l6='    display_name: ClassVar[str] = "Scale"',
            l11='    config_schema: dict = {"factor": {"type": "number", "default": 2}}',
            l12='    input_schema: "dict[str, str]" = {"dataset": "dataframe"}',
        )
        result = validate_card_source(source)
        assert result.success, result.errors
        assert result.extracted_schema is not None
        assert result.extracted_schema["card_type"] == "scale"
        assert result.extracted_schema["display_name"] == "Scale"
        assert result.extracted_schema["input_schema"] == {"dataset": "dataframe"}

    def test_annotation_without_value_does_not_assign(self):
        result = validate_card_source(edit(l5="    card_type: str"))
        assert not result.success
        assert issue(result, "Missing required attribute: card_type").line == CLASS_LINE

    @pytest.mark.parametrize(
        ("import_line", "base"),
        [
            ("import tensorrag as tr", "tr.BaseCard"),
            ("import tensorrag", "tensorrag.BaseCard"),
            ("from tensorrag import cards", "cards.base.BaseCard"),
            ("import tensorrag.cards.base", "tensorrag.cards.base.BaseCard"),
            ("from cards.base import BaseCard", "BaseCard"),  # the original's import line
        ],
    )
    def test_base_class_spellings(self, import_line, base):
        source = edit(l1=import_line, l4=f"class ScaleCard({base}):")
        result = validate_card_source(source)
        assert result.success, result.errors
        assert result.class_name == "ScaleCard"

    def test_card_class_with_other_helper_classes(self):
        source = VALID + "\n\nclass Helper:\n    card_type = 'not a card'\n"
        assert validate_card_source(source).success

    def test_literal_forms(self):
        source = edit(
            l5="    card_type, display_name = 'scale', 'Scale'",
            l6="",
            l7='    description = ("Multiply every "\n        "numeric column")',
        )
        result = validate_card_source(source)
        assert result.success, result.errors
        assert result.extracted_schema is not None
        assert result.extracted_schema["description"] == "Multiply every numeric column"

    def test_flexible_signatures(self):
        source = edit(
            l15="    def execute(self, config, inputs, storage=None, extra=1, *, flag=False):",
            l18="    @staticmethod\n    def get_output_preview(outputs, storage):",
        )
        assert validate_card_source(source).success


# (lines to replace, expected message, expected line, severity)
CASES = [
    pytest.param({"l5": ""}, "Missing required attribute: card_type", CLASS_LINE, "error", id="missing-card_type"),
    pytest.param({"l6": ""}, "Missing required attribute: display_name", CLASS_LINE, "error", id="missing-display"),
    pytest.param({"l7": ""}, "Missing required attribute: description", CLASS_LINE, "error", id="missing-description"),
    pytest.param({"l8": ""}, "Missing required attribute: category", CLASS_LINE, "error", id="missing-category"),
    pytest.param({"l9": ""}, "Missing required attribute: execution_mode", CLASS_LINE, "error", id="missing-mode"),
    pytest.param({"l10": ""}, "Missing required attribute: output_view_type", CLASS_LINE, "error", id="missing-view"),
    pytest.param(
        {"l6": '    display_name = "Sc" + "ale"'},
        "Attribute 'display_name' must be a simple literal value",
        6,
        "error",
        id="non-literal-binop",
    ),
    pytest.param(
        {"l7": "    description = __doc__"},
        "Attribute 'description' must be a simple literal value",
        7,
        "error",
        id="non-literal-name",
    ),
    pytest.param(
        {"l5": '    card_type = f"scale{1}"'},
        "Attribute 'card_type' must be a simple literal value",
        5,
        "error",
        id="non-literal-fstring",
    ),
    pytest.param(
        {"l6": "    display_name = 3"},
        "Attribute 'display_name' must be a string; got int 3",
        6,
        "error",
        id="non-string",
    ),
    pytest.param(
        {"l8": '    category = "misc"'},
        f"Invalid category 'misc'. Must be one of: {CATEGORY_LIST}",
        8,
        "warning",
        id="category-outside-original-set",
    ),
    pytest.param(
        {"l9": '    execution_mode = "remote"'},
        "Invalid execution_mode 'remote'. Must be one of: ['local', 'modal']",
        9,
        "error",
        id="execution-mode",
    ),
    pytest.param(
        {"l10": '    output_view_type = "chart"'},
        "Invalid output_view_type 'chart'. Must be one of: ['metrics', 'model_summary', 'table']",
        10,
        "warning",
        id="view-type",
    ),
    pytest.param(
        {"l15": "", "l16": ""}, "Missing required method: execute()", CLASS_LINE, "error", id="missing-execute"
    ),
    pytest.param(
        {"l18": "", "l19": ""},
        "Missing method: get_output_preview() (a default preview is used)",
        CLASS_LINE,
        "warning",
        id="missing-preview",
    ),
    pytest.param(
        {"l11": "    config_schema = [1, 2]"}, "config_schema must be a dict literal", 11, "error", id="config-list"
    ),
    pytest.param(
        {"l12": '    input_schema = dict(dataset="dataframe")'},
        "input_schema must be a dict literal",
        12,
        "error",
        id="input-call",
    ),
    pytest.param(
        {"l13": "    output_schema = None"}, "output_schema must be a dict literal", 13, "error", id="output-none"
    ),
    pytest.param(
        {"l14": '    config_schema["extra"] = {"type": "string"}'},
        "config_schema must be a dict literal",
        14,
        "error",
        id="schema-mutated-in-body",
    ),
    pytest.param(
        {"l12": '    input_schema = {"dataset": "tensor"}'},
        f"Unknown port type 'tensor' for input port 'dataset'; must be one of: {PORT_LIST}",
        12,
        "error",
        id="unknown-input-type",
    ),
    pytest.param(
        {"l13": '    output_schema = {"scaled": "DataFrame"}'},
        f"Unknown port type 'DataFrame' for output port 'scaled'; must be one of: {PORT_LIST} "
        "(did you mean 'dataframe'?)",
        13,
        "error",
        id="unknown-output-type-hint",
    ),
    pytest.param(
        {"l12": '    input_schema = {"dataset": 1}'},
        f"input_schema: the type of input port 'dataset' must be a string, one of: {PORT_LIST}",
        12,
        "error",
        id="port-type-not-string",
    ),
    pytest.param(
        {"l12": '    input_schema = {"data set": "dataframe"}'},
        "input_schema: port name 'data set' must be a valid identifier "
        "(letters, digits and underscores, not starting with a digit)",
        12,
        "error",
        id="port-name-not-identifier",
    ),
    pytest.param(
        {"l13": '    output_schema = {1: "json"}'},
        "output_schema: port name 1 must be a string",
        13,
        "error",
        id="port-name-not-string",
    ),
    pytest.param(
        {"l5": '    card_type = "my-card"'},
        "card_type 'my-card' must be a valid Python identifier "
        "(ASCII letters, digits and underscores, not starting with a digit)",
        5,
        "error",
        id="card-type-dash",
    ),
    pytest.param(
        {"l5": '    card_type = "1st"'},
        "card_type '1st' must be a valid Python identifier "
        "(ASCII letters, digits and underscores, not starting with a digit)",
        5,
        "error",
        id="card-type-digit",
    ),
    pytest.param(
        {"l5": '    card_type = "données"'},
        "card_type 'données' must be a valid Python identifier "
        "(ASCII letters, digits and underscores, not starting with a digit)",
        5,
        "error",
        id="card-type-non-ascii",
    ),
    pytest.param(
        {"l5": '    card_type = "class"'},
        "card_type 'class' is a Python keyword; choose another name",
        5,
        "error",
        id="card-type-keyword",
    ),
    pytest.param(
        {"l15": "    def execute(self, config):"},
        "execute() must accept (self, config, inputs, storage); found (self, config)",
        15,
        "error",
        id="execute-too-few",
    ),
    pytest.param(
        {"l15": "    def execute(self, config, inputs, storage, extra):"},
        "execute() must accept (self, config, inputs, storage); found (self, config, inputs, storage, extra)",
        15,
        "error",
        id="execute-too-many",
    ),
    pytest.param(
        {"l15": "    def execute(self, config, inputs, storage, *, flag):"},
        "execute() must accept (self, config, inputs, storage); found (self, config, inputs, storage, *, flag)",
        15,
        "error",
        id="execute-required-keyword",
    ),
    pytest.param(
        {"l15": "    async def execute(self, config, inputs, storage):"},
        "execute() must be a plain 'def' method; 'async def' is not supported",
        15,
        "error",
        id="execute-async",
    ),
    pytest.param(
        {"l18": "    def get_output_preview(self):"},
        "get_output_preview() must accept (self, outputs, storage); found (self)",
        18,
        "warning",
        id="preview-signature",
    ),
    pytest.param(
        {"l14": '    category = "model"'},
        "Attribute 'category' is defined more than once (first on line 8); the last definition is used",
        14,
        "warning",
        id="duplicate-attribute",
    ),
    pytest.param(
        {"l17": "    def execute(self, config, inputs, storage): return {}"},
        "Method 'execute()' is defined more than once (first on line 15); the last definition is used",
        17,
        "warning",
        id="duplicate-method",
    ),
    pytest.param(
        {"l12": '    input_schema = {"dataset": "dataframe", "dataset": "json"}'},
        "input_schema: key 'dataset' is given more than once (first on line 12); the last one is used",
        12,
        "warning",
        id="duplicate-port",
    ),
    pytest.param(
        {"l11": '    config_schema = {"factor": {"type": "float", "default": 2}}'},
        "config_schema field 'factor': unknown type 'float'; must be one of: "
        "string, number, integer, boolean, array, object, null (did you mean 'number'?)",
        11,
        "error",
        id="config-unknown-type",
    ),
    pytest.param(
        {"l11": '    config_schema = {"factor": {"default": 2}}'},
        "config_schema field 'factor' needs a \"type\" (one of: string, number, integer, boolean, array, "
        "object, null) or enum/const/anyOf/oneOf/$ref",
        11,
        "error",
        id="config-no-type",
    ),
    pytest.param(
        {"l11": '    config_schema = {"factor": {"type": "number", "default": "2"}}'},
        "config_schema field 'factor': default '2' is not of type number",
        11,
        "error",
        id="config-default-type",
    ),
    pytest.param(
        {"l11": '    config_schema = {"on": {"type": "boolean", "default": 1}}'},
        "config_schema field 'on': default 1 is not of type boolean",
        11,
        "error",
        id="config-default-bool",
    ),
    pytest.param(
        {"l11": '    config_schema = {"m": {"type": "string", "enum": ["a", "b"], "default": "c"}}'},
        "config_schema field 'm': default 'c' must be one of 'a', 'b'; got 'c'",
        11,
        "error",
        id="config-default-enum",
    ),
    pytest.param(
        {"l11": '    config_schema = {"n": {"type": "integer", "maximum": 3, "default": 5}}'},
        "config_schema field 'n': default 5 must be <= 3, got 5",
        11,
        "error",
        id="config-default-bound",
    ),
    pytest.param(
        {"l11": '    config_schema = {"factor": 2}'},
        'config_schema field \'factor\' must be a dict such as {"type": "number", "default": 1}; got int 2',
        11,
        "error",
        id="config-field-not-dict",
    ),
    pytest.param(
        {"l11": '    config_schema = {"properties": {"a": {"type": "string"}}, "required": ["b"]}'},
        "config_schema: required field 'b' is not defined in properties",
        11,
        "error",
        id="config-required-unknown",
    ),
    pytest.param(
        {"l11": '    config_schema = {"type": "array", "properties": {}}'},
        'config_schema: a JSON Schema with "properties" must have "type": "object"; got \'array\'',
        11,
        "error",
        id="config-not-object",
    ),
    pytest.param(
        {"l11": '    config_schema = {"properties": {"a": {"$ref": "#/$defs/Missing"}}}'},
        "config_schema field 'a': $ref '#/$defs/Missing' does not resolve "
        "(only local references such as '#/$defs/Name' are supported)",
        11,
        "error",
        id="config-bad-ref",
    ),
    pytest.param(
        {"l11": '    config_schema = {"p": {"type": "string", "pattern": "("}}'},
        "config_schema field 'p': \"pattern\" '(' is not a valid regular expression "
        "(missing ) at position 1)",
        11,
        "error",
        id="config-bad-pattern",
    ),
    pytest.param(
        {"l11": '    config_schema = {"tags": {"type": "array", "default": {"a"}}}'},
        "config_schema.tags.default must hold only JSON values (strings, numbers, booleans, None, lists, dicts); "
        "got {'a'}",
        11,
        "error",
        id="config-non-json",
    ),
    pytest.param(
        {"l11": '    config_schema = {"description": {"type": "string"}}'},
        "config_schema field 'description' is ignored: 'description' is a reserved key in the flat form; "
        'use the JSON Schema form ("properties") for a field with this name',
        11,
        "warning",
        id="config-flat-reserved-key",
    ),
    pytest.param(
        {"l11": '    config_schema = {"opts": {"type": "object", "required": ["a"]}}'},
        "config_schema field 'opts': in the flat form \"required\" means true/false for this field and is dropped; "
        "got ['a'] (use the JSON Schema form for nested objects)",
        11,
        "warning",
        id="config-flat-required-list",
    ),
    pytest.param(
        {"l14": '    resources = {"gpu": "T4", "timeout": -5}'},
        "resources.timeout must be a positive number of seconds (or None); got int -5",
        14,
        "error",
        id="resources-timeout",
    ),
    pytest.param(
        {"l14": "    resources = None"}, "resources must be a dict literal", 14, "error", id="resources-not-dict"
    ),
    pytest.param(
        {"l14": '    resources = {"timeout": "soon"}'},
        "resources.timeout must be a positive number of seconds (or None); got str 'soon'",
        14,
        "error",
        id="resources-timeout-text",
    ),
    pytest.param(
        {"l14": '    resources = {"timout": 60}'},
        "resources.timout is not a resource key; did you mean 'timeout'?",
        14,
        "error",
        id="resources-key-typo",
    ),
    pytest.param(
        {"l11": '    config_schema = {"factor": {"type": "number", "minimum": "0"}}'},
        "config_schema field 'factor': \"minimum\" must be a number; got string '0'",
        11,
        "error",
        id="config-minimum-text",
    ),
    pytest.param(
        {"l11": '    config_schema = {"n": {"type": "string", "maxLength": -1, "default": "x"}}'},
        "config_schema field 'n': \"maxLength\" must be a whole number >= 0; got integer -1",
        11,
        "error",
        id="config-maxlength-negative",
    ),
]


class TestChecks:
    @pytest.mark.parametrize(("lines", "message", "line", "severity"), CASES)
    def test_case(self, lines, message, line, severity):
        result = validate_card_source(edit(**lines))
        found = issue(result, message)
        assert found.line == line
        assert found.severity == severity
        # warnings never block; one error fails the card and hides the schema
        assert result.success is (severity == "warning")
        assert (result.extracted_schema is None) is (severity == "error")
        if severity == "warning":
            assert found in result.warnings

    def test_cases_are_numerous(self):
        assert len(CASES) >= 20

    def test_async_preview_is_a_warning(self):
        result = validate_card_source(edit(l18="    async def get_output_preview(self, outputs, storage):"))
        assert result.success
        found = issue(result, "get_output_preview() must be a plain 'def' method; 'async def' is not supported")
        assert (found.line, found.severity) == (18, "warning")

    def test_config_field_lines_in_a_multiline_schema(self):
        source = edit(
            l11=(
                "    config_schema = {\n"
                '        "type": "object",\n'
                '        "properties": {\n'
                '            "ok": {"type": "string"},\n'
                '            "bad": {"type": "int"},\n'
                "        },\n"
                '        "required": ["ok", "missing"],\n'
                "    }"
            ),
            l12=('    input_schema = {\n        "a": "dataframe",\n        "b": "nope",\n    }'),
        )
        result = validate_card_source(source)
        bad = issue(
            result,
            "config_schema field 'bad': unknown type 'int'; must be one of: "
            "string, number, integer, boolean, array, object, null (did you mean 'integer'?)",
        )
        assert bad.line == 15
        assert issue(result, "config_schema: required field 'missing' is not defined in properties").line == 17
        assert issue(result, f"Unknown port type 'nope' for input port 'b'; must be one of: {PORT_LIST}").line == 21

    def test_nested_config_fields_are_checked(self):
        source = edit(
            l11=(
                '    config_schema = {"properties": {"opts": {"type": "object", "properties": '
                '{"seed": {"type": "integer", "default": "x"}}, "required": ["sed"]}}}'
            )
        )
        result = validate_card_source(source)
        assert issue(result, "config_schema field 'opts.seed': default 'x' is not of type integer").line == 11
        assert issue(
            result,
            "config_schema field 'opts': required field 'sed' is not defined in properties (did you mean 'seed'?)",
        )

    def test_all_errors_at_once(self):
        source = textwrap.dedent(
            """\
            import tensorrag as tr
            class Broken(tr.BaseCard):
                card_type = "my-card"
                display_name = f"x{1}"
                category = "misc"
                execution_mode = "remote"
                output_view_type = "chart"
                config_schema = {"a": {"type": "float"}, "b": {"type": "integer", "default": "x"}}
                input_schema = {"in": "tensor"}
                output_schema = ["out"]
                async def execute(self, config):
                    pass
            """
        )
        result = validate_card_source(source, "broken.py")
        got = [(i.line, i.severity, i.message) for i in result.errors]
        valid_json_types = "string, number, integer, boolean, array, object, null"
        assert got == [
            (2, "error", "Missing required attribute: description"),
            (2, "warning", "Missing method: get_output_preview() (a default preview is used)"),
            (
                3,
                "error",
                "card_type 'my-card' must be a valid Python identifier "
                "(ASCII letters, digits and underscores, not starting with a digit)",
            ),
            (4, "error", "Attribute 'display_name' must be a simple literal value"),
            (5, "warning", f"Invalid category 'misc'. Must be one of: {CATEGORY_LIST}"),
            (6, "error", "Invalid execution_mode 'remote'. Must be one of: ['local', 'modal']"),
            (7, "warning", "Invalid output_view_type 'chart'. Must be one of: ['metrics', 'model_summary', 'table']"),
            (
                8,
                "error",
                f"config_schema field 'a': unknown type 'float'; must be one of: {valid_json_types} "
                "(did you mean 'number'?)",
            ),
            (8, "error", "config_schema field 'b': default 'x' is not of type integer"),
            (9, "error", f"Unknown port type 'tensor' for input port 'in'; must be one of: {PORT_LIST}"),
            (10, "error", "output_schema must be a dict literal"),
            (11, "error", "execute() must be a plain 'def' method; 'async def' is not supported"),
        ]
        assert not result.success
        assert result.extracted_schema is None
        assert result.card_type == "my-card"  # still known, for messages

    def test_raise_for_errors(self):
        result = validate_card_source(edit(l5="", l8='    category = "misc"', l9='    execution_mode = "x"'), "c.py")
        with pytest.raises(CardDefinitionError) as info:
            result.raise_for_errors()
        text = str(info.value)
        assert text.splitlines() == [
            "Card file 'c.py' is invalid (2 errors):",
            f"  line {CLASS_LINE}: Missing required attribute: card_type",
            "  line 9: Invalid execution_mode 'x'. Must be one of: ['local', 'modal']",
        ]
        assert isinstance(info.value, TypeError)  # CardDefinitionError is a TypeError too
        ok = validate_card_source(VALID)
        assert ok.raise_for_errors() is ok
        assert ok.raise_for_errors().extracted_schema == ok.extracted_schema

    def test_issue_str(self):
        assert str(ValidationIssue(3, "boom")) == "line 3: boom"
        assert str(ValidationIssue(None, "boom", "warning")) == "warning: boom"


class TestEarlyReturns:
    def test_syntax_error(self):
        result = validate_card_source(edit(l11='    config_schema = {"factor": '))
        assert not result.success
        assert len(result.errors) == 1
        (err,) = result.errors
        assert err.message.startswith("Syntax error: ")
        assert err.line == 11
        assert err.severity == "error"
        assert result.to_dict() == {
            "success": False,
            "errors": [{"line": 11, "message": err.message, "severity": "error"}],
            "extracted_schema": None,
        }

    def test_indentation_error(self):
        result = validate_card_source(edit(l16="  return {}"))
        assert [(e.line, e.message.startswith("Syntax error: ")) for e in result.errors] == [(16, True)]

    def test_null_byte(self):
        result = validate_card_source(VALID.replace('"Scale"', '"Sc\0ale"'))
        assert result.errors[0].message.startswith("Syntax error: ")
        assert result.errors[0].line == 6

    @pytest.mark.parametrize(
        "source",
        [
            "",
            "x = 1\n",
            edit(l4="class ScaleCard:"),
            edit(l4="class ScaleCard(Base):"),
            "def card(x):\n    return x\n",
        ],
        ids=["empty", "no-class", "no-base", "other-base", "function"],
    )
    def test_no_basecard_class(self, source):
        result = validate_card_source(source)
        assert [(e.line, e.message) for e in result.errors] == [(None, "No class extending BaseCard found")]
        assert not result.success

    def test_multiple_classes(self):
        source = VALID + "\n\nclass Other(BaseCard):\n    pass\n"
        result = validate_card_source(source)
        assert [(e.line, e.message) for e in result.errors] == [
            (22, "Multiple BaseCard subclasses found; only one per file is allowed")
        ]

    def test_nested_class_counts(self):
        source = VALID + "\n\nif True:\n    class Other(tr.BaseCard):\n        pass\n"
        result = validate_card_source(source)
        assert result.errors[0].message == "Multiple BaseCard subclasses found; only one per file is allowed"
        assert result.errors[0].line == 23


def _probe_card(probe: Path, *, valid: bool) -> str:
    p = repr(str(probe))
    broken = (
        f"    display_name = open({p}, 'a').write('attr') or 'x'\n    output_schema = {{'out': 'tensor'}}\n"
        if not valid
        else '    display_name = "Probe"\n'
    )
    return (
        "import os, sys\n"
        f"open({p}, 'w').write('module level')\n"
        f"os.makedirs({p} + '_dir', exist_ok=True)\n"
        "sys.modules['probe_injected'] = sys\n"
        "from tensorrag import BaseCard\n"
        "\n"
        f"@(lambda cls: (open({p}, 'a').write('decorator'), cls)[1])\n"
        "class ProbeCard(BaseCard):\n"
        f"    open({p}, 'a').write('class body')\n"
        "    print('class body ran')\n"
        "    import os as _os\n"
        f"    _os.makedirs({p} + '_body', exist_ok=True)\n"
        "    card_type = 'probe'\n"
        f"{broken}"
        "    description = 'Writes files if anyone runs it'\n"
        "    category = 'data'\n"
        "    execution_mode = 'local'\n"
        "    output_view_type = 'table'\n"
        f"    def execute(self, config, inputs, storage, _hook=open({p}, 'a').write('default')):\n"
        f"        open({p}, 'a').write('execute')\n"
        "        return {}\n"
        "    def get_output_preview(self, outputs, storage):\n"
        "        return {}\n"
        f"open({p}, 'a').write('module end')\n"
    )


class TestNeverExecutes:
    @pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
    def test_side_effect_probe(self, tmp_path, capsys, valid):
        probe = tmp_path / "probe.txt"
        card_file = tmp_path / "probe_side_effect_card.py"
        card_file.write_text(_probe_card(probe, valid=valid), encoding="utf-8")
        before = set(sys.modules)

        results = [validate_card_file(card_file), validate_card_source(card_file.read_text(), str(card_file))]

        for result in results:
            assert result.success is valid, result.errors
            if not valid:
                assert issue(result, "Attribute 'display_name' must be a simple literal value").line == 14
                assert (
                    issue(result, f"Unknown port type 'tensor' for output port 'out'; must be one of: {PORT_LIST}").line
                    == 15
                )
        assert not probe.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["probe_side_effect_card.py"]  # no dirs, no __pycache__
        new_modules = set(sys.modules) - before
        assert not {m for m in new_modules if "probe" in m}
        assert "probe_side_effect_card" not in sys.modules
        assert "probe_injected" not in sys.modules
        assert "class body ran" not in capsys.readouterr().out

    def test_the_probe_has_teeth(self, tmp_path, capsys):
        # Running the same source (as an import would) does write the file: the probe is real.
        probe = tmp_path / "ran.txt"
        source = _probe_card(probe, valid=True).replace("sys.modules['probe_injected'] = sys\n", "")
        exec(compile(source, "probe_exec.py", "exec"), {"__name__": "probe_exec"})
        assert probe.read_text().startswith("module level")
        assert "class body ran" in capsys.readouterr().out


class TestEncodings:
    def test_unicode_values(self):
        text = "Données — 日本語 🚀"
        result = validate_card_source(edit(l6=f'    display_name = "{text}"', l7='    description = "ünïcödé ✓"'))
        assert result.success
        assert result.extracted_schema is not None
        assert result.extracted_schema["display_name"] == text
        assert result.extracted_schema["description"] == "ünïcödé ✓"

    def test_crlf_line_endings(self):
        assert validate_card_source(VALID.replace("\n", "\r\n")).success
        broken = edit(l9='    execution_mode = "remote"').replace("\n", "\r\n")
        result = validate_card_source(broken)
        assert issue(result, "Invalid execution_mode 'remote'. Must be one of: ['local', 'modal']").line == 9

    def test_crlf_syntax_error_line(self):
        result = validate_card_source(edit(l11='    config_schema = {"factor": ').replace("\n", "\r\n"))
        assert result.errors[0].line == 11

    def test_bom(self, tmp_path):
        assert validate_card_source("\ufeff" + VALID).success
        path = tmp_path / "bom_card.py"
        path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
        assert validate_card_file(path).success

    def test_file_utf8_unicode_and_crlf(self, tmp_path):
        path = tmp_path / "uni_card.py"
        path.write_bytes(edit(l7='    description = "画像を分類する"').replace("\n", "\r\n").encode("utf-8"))
        result = validate_card_file(str(path))
        assert result.success
        assert result.filename == str(path)
        assert result.extracted_schema is not None
        assert result.extracted_schema["description"] == "画像を分類する"

    def test_file_not_utf8(self, tmp_path):
        path = tmp_path / "latin1_card.py"
        path.write_bytes(edit(l7='    description = "café"').encode("latin-1"))
        result = validate_card_file(path)
        assert not result.success
        (err,) = result.errors
        assert err.line == 7
        assert err.message.startswith("File is not valid UTF-8: invalid continuation byte at byte ")

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            validate_card_file(tmp_path / "nope.py")


class TestScale:
    def test_ten_thousand_lines(self):
        helpers = "".join(f"\n    def helper_{i}(self, x={i}):\n        return x * {i}\n" for i in range(3400))
        source = VALID + helpers
        assert source.count("\n") >= 10_000
        result = validate_card_source(source)
        assert result.success, result.errors[:3]
        assert result.extracted_schema is not None
        assert result.extracted_schema["card_type"] == "scale"


def test_a_bom_before_the_source_is_ignored():
    result = validate_card_source("\ufeff" + VALID)
    assert result.success and result.card_type == "scale"
