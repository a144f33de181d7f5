"""The config-schema checker: ``config_schema`` in JSON Schema or flat form, read as a literal.

It reports what would make the card's config check fail later or silently lose a field: a
field without a known JSON type, a ``$ref`` that does not resolve, a ``pattern`` that does not
compile, a default that does not fit its field, ``required`` names that are not fields, values
JSON cannot hold, and flat-form fields that the flat form drops.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tensorrag.cards.patterns import compile_pattern
from tensorrag.cards.schema import (
    BOUND_KEYWORDS,
    COMBINER_KEYWORDS,
    FLAT_META,
    MAX_CONFIG_DEPTH,
    is_json_type,
    keyword_problems,
    normalize_schema,
    validate_config,
)
from tensorrag.cards.validate._common import describe, dict_value, did_you_mean, key_lines

if TYPE_CHECKING:
    import ast

    from tensorrag.cards.validate._common import Report

__all__ = ["SchemaChecker"]

_JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_TYPE_ALIASES = {
    "float": "number",
    "double": "number",
    "int": "integer",
    "str": "string",
    "text": "string",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "none": "null",
}
_MAX_DEPTH = 32


class SchemaChecker:
    """Checks ``config_schema`` (JSON Schema or flat form), reporting through ``error`` and ``warn``."""

    def __init__(self, error: Report, warn: Report) -> None:
        self.error = error
        self.warn = warn
        self.root: dict[str, Any] = {}

    def check(self, schema: dict[Any, Any], node: ast.Dict, line: int) -> None:
        problem = _json_problem(schema, "config_schema")
        if problem:
            self.error(line, problem)
            return
        top = key_lines(node, "config_schema", self.warn)
        self.root = normalize_schema(schema)
        if "properties" in schema or schema.get("type") == "object":
            self.check_json_form(schema, node, top, line)
        else:
            self.check_flat_form(schema, top, line)

    def check_json_form(self, schema: dict[str, Any], node: ast.Dict, top: dict[Any, int], line: int) -> None:
        if schema.get("type", "object") != "object":
            self.error(
                top.get("type", line),
                f'config_schema: a JSON Schema with "properties" must have "type": "object"; got {schema["type"]!r}',
            )
        for key in ("$defs", "definitions"):
            if key in schema and not isinstance(schema[key], dict):
                self.error(top.get(key, line), f'config_schema: "{key}" must be a dict')
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            self.error(top.get("properties", line), 'config_schema: "properties" must be a dict of field schemas')
            return
        props_node = dict_value(node, "properties")
        lines = key_lines(props_node, "config_schema properties", self.warn) if props_node else {}
        self.check_required(schema, props, "config_schema", top.get("required", line))
        self.check_additional(schema, "config_schema", top.get("additionalProperties", line))
        for name, prop in props.items():
            self.check_field(name, prop, lines.get(name, top.get("properties", line)), 0)

    def check_flat_form(self, schema: dict[str, Any], top: dict[Any, int], line: int) -> None:
        for key, value in schema.items():
            at = top.get(key, line)
            if key in FLAT_META or key.startswith("_"):
                if key in FLAT_META and isinstance(value, dict) and "type" in value:
                    self.warn(
                        at,
                        f"config_schema field '{key}' is ignored: '{key}' is a reserved key in the flat "
                        'form; use the JSON Schema form ("properties") for a field with this name',
                    )
                continue
            if not isinstance(value, dict):
                self.error(
                    at,
                    f"config_schema field '{key}' must be a dict such as "
                    f'{{"type": "number", "default": 1}}; got {describe(value)}',
                )
                continue
            if not isinstance(value.get("required", False), bool):
                self.warn(
                    at,
                    f"config_schema field '{key}': in the flat form \"required\" means true/false for this field "
                    f"and is dropped; got {value['required']!r} (use the JSON Schema form for nested objects)",
                )
            self.check_field(key, normalize_schema({key: value})["properties"][key], at, 0)

    def check_required(self, schema: dict[str, Any], props: dict[str, Any], where: str, line: int) -> None:
        if "required" not in schema:
            return
        required = schema["required"]
        if not isinstance(required, (list, tuple)) or not all(isinstance(r, str) for r in required):
            self.error(line, f'{where}: "required" must be a list of field names; got {required!r}')
            return
        for name in required:
            if name not in props:
                self.error(
                    line,
                    f"{where}: required field '{name}' is not defined in properties" + did_you_mean(name, list(props)),
                )

    def check_additional(self, schema: dict[str, Any], where: str, line: int) -> None:
        extra = schema.get("additionalProperties", True)
        if not isinstance(extra, (bool, dict)):
            self.error(line, f'{where}: "additionalProperties" must be true, false or a schema; got {extra!r}')

    def check_field(self, path: str, prop: Any, line: int, depth: int) -> None:
        where = f"config_schema field '{path}'"
        if not isinstance(prop, dict):
            self.error(line, f'{where} must be a dict (a JSON Schema such as {{"type": "string"}}); got {prop!r}')
            return
        if depth > _MAX_DEPTH:
            return
        types = self.check_types(where, prop, line)
        bounds = keyword_problems({k: prop[k] for k in BOUND_KEYWORDS if k in prop})
        for problem in bounds:
            self.error(line, f"{where}: {problem}")
        if "enum" in prop and (not isinstance(prop["enum"], (list, tuple)) or not prop["enum"]):
            self.error(line, f'{where}: "enum" must be a non-empty list; got {prop["enum"]!r}')
        for combo in COMBINER_KEYWORDS:
            if combo not in prop:
                continue
            options = prop[combo]
            if not isinstance(options, (list, tuple)) or not options:
                self.error(line, f'{where}: "{combo}" must be a non-empty list of schemas')
                continue
            for option in options:
                self.check_field(path, option, line, depth + 1)
        ref_ok = self.check_ref(where, prop, line)
        pattern_ok = self.check_pattern(where, prop, line)
        if "items" in prop:
            if isinstance(prop["items"], dict):
                self.check_field(f"{path}[]", prop["items"], line, depth + 1)
            else:
                self.error(line, f'{where}: "items" must be a schema (a dict); got {prop["items"]!r}')
        if "properties" in prop:
            nested = prop["properties"]
            if not isinstance(nested, dict):
                self.error(line, f'{where}: "properties" must be a dict of field schemas')
            else:
                self.check_required(prop, nested, where, line)
                for name, sub in nested.items():
                    self.check_field(f"{path}.{name}", sub, line, depth + 1)
        if "additionalProperties" in prop:
            self.check_additional(prop, where, line)
        if "default" in prop and types is not None and ref_ok and pattern_ok and not bounds:
            self.check_default(where, prop, types, line)

    def check_types(self, where: str, prop: dict[str, Any], line: int) -> list[str] | None:
        """The declared JSON types (``[]`` when none); ``None`` when they are invalid."""
        declared = prop.get("type")
        if declared is None:
            if not any(k in prop for k in ("enum", "const", "$ref", *COMBINER_KEYWORDS)):
                self.error(
                    line,
                    f'{where} needs a "type" (one of: {", ".join(_JSON_TYPES)}) or enum/const/anyOf/oneOf/$ref',
                )
                return None
            return []
        names = declared if isinstance(declared, (list, tuple)) else [declared]
        if not names or not all(isinstance(t, str) for t in names):
            self.error(line, f'{where}: "type" must be a string or a list of strings; got {declared!r}')
            return None
        ok = True
        for t in names:
            if t not in _JSON_TYPES:
                alias = _TYPE_ALIASES.get(t.lower())
                hint = f" (did you mean '{alias}'?)" if alias else did_you_mean(t, _JSON_TYPES)
                self.error(line, f"{where}: unknown type '{t}'; must be one of: {', '.join(_JSON_TYPES)}{hint}")
                ok = False
        return list(names) if ok else None

    def check_ref(self, where: str, prop: dict[str, Any], line: int) -> bool:
        if "$ref" not in prop:
            return True
        ref = prop["$ref"]
        node: Any = self.root
        if isinstance(ref, str) and ref.startswith("#/"):
            for part in ref[2:].split("/"):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                return True
        self.error(
            line,
            f"{where}: $ref {ref!r} does not resolve (only local references such as '#/$defs/Name' are supported)",
        )
        return False

    def check_pattern(self, where: str, prop: dict[str, Any], line: int) -> bool:
        if "pattern" not in prop:
            return True
        pattern = prop["pattern"]
        try:
            compile_pattern(pattern)  # the engine that matches it (bounded), so both agree on the syntax
        except ValueError as exc:
            self.error(line, f'{where}: "pattern" {pattern!r} is not a valid regular expression ({exc})')
            return False
        return True

    def check_default(self, where: str, prop: dict[str, Any], types: list[str], line: int) -> None:
        default = prop["default"]
        if default is None:  # "no default": the UI leaves the field empty
            return
        if types and not any(is_json_type(default, t) for t in types):
            self.error(line, f"{where}: default {default!r} is not of type {' or '.join(types)}")
            return
        probe = {
            "type": "object",
            "properties": {"value": prop},
            **{k: v for k, v in self.root.items() if k in ("$defs", "definitions")},
        }
        try:
            _, problems = validate_config(probe, {"value": default})
        except Exception:  # the structural checks above report what matters
            return
        for problem in problems:
            self.error(line, f"{where}: default {default!r} {problem['message']}")


def _json_problem(value: Any, path: str) -> str | None:
    """Describe the first value that JSON cannot hold (sets, bytes, complex, non-string keys)."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            return f"{path} is nested too deeply"
        if isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    return f"{where} must have string keys (JSON); got key {k!r}"
                stack.append((v, f"{where}.{k}", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{where}: {item!r} is not a JSON number"
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            return f"{where} must hold only JSON values (strings, numbers, booleans, None, lists, dicts); got {item!r}"
    return None
