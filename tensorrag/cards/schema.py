"""Config schemas: normalise the two accepted forms and validate configs against them.

Cards declare ``config_schema`` either as JSON Schema (``{"type": "object", "properties": ...,
"required": [...]}``) or in the original's flat form (``{field: {"type", "default", ...}}``).
:func:`normalize_schema` turns both into JSON Schema; :func:`validate_config` checks a config,
fills defaults and coerces values where JSON Schema allows (``"0.2"`` -> ``0.2`` for a number,
``3.0`` -> ``3`` for an integer, ``"true"`` -> ``True``), reporting every bad field at once.

The supported subset: ``type`` (or a list of types), ``enum``, ``const``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``, ``maxLength``,
``pattern``, ``items``, ``minItems``, ``maxItems``, ``properties``, ``required``,
``additionalProperties``, ``anyOf``/``oneOf``, ``default``, and local ``$ref`` into ``$defs``
(what pydantic generates).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from typing import Any

from tensorrag.cards.patterns import PatternTimeout, pattern_matches
from tensorrag.spec import json_problem

__all__ = [
    "BOUND_KEYWORDS",
    "COMBINER_KEYWORDS",
    "FLAT_META",
    "MAX_CONFIG_DEPTH",
    "is_json_type",
    "keyword_problems",
    "normalize_schema",
    "schema_problems",
    "validate_config",
]

#: Keys the flat form treats as metadata, not fields.
FLAT_META = frozenset({"type", "required", "description", "title", "default", "$defs", "definitions"})
#: Deepest nesting of one config value (it must still fit in a saved ``_pipeline.json``).
MAX_CONFIG_DEPTH = 100

_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_COUNT_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems")
#: Keywords that bound a value: numbers for the first four, whole numbers >= 0 for the rest.
BOUND_KEYWORDS = (*_NUMBER_KEYWORDS, *_COUNT_KEYWORDS)
#: Keywords whose value is a list of sub-schemas.
COMBINER_KEYWORDS = ("anyOf", "oneOf", "allOf")
_SCHEMA_MAP_KEYWORDS = ("properties", "$defs", "definitions")


def normalize_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """Return ``schema`` as an object JSON Schema (flat form converted, input untouched)."""
    if not schema:
        return {"type": "object", "properties": {}}
    if "properties" in schema or schema.get("type") == "object":
        out = copy.deepcopy(schema)
        out.setdefault("type", "object")
        out.setdefault("properties", {})
        return out
    props: dict[str, Any] = {}
    required: list[str] = []
    for key, value in schema.items():
        if not isinstance(key, str) or key in FLAT_META or key.startswith("_") or not isinstance(value, dict):
            continue
        prop = copy.deepcopy(value)
        if prop.pop("required", False) is True:
            required.append(key)
        if "label" in prop and "title" not in prop:
            prop["title"] = prop.pop("label")
        props[key] = prop
    flat: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        flat["required"] = required
    return flat


def validate_config(
    schema: dict[str, Any], config: dict[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Check ``config`` against an object JSON Schema.

    Args:
        schema: a schema from :func:`normalize_schema`.
        config: the node's config (not modified).

    Returns:
        ``(filled, problems)``: the config with defaults filled and values coerced, and one
        ``{"field", "message"}`` per problem (empty when valid). Every value must be plain JSON
        (no NaN, no objects); keys starting with ``_`` are private and otherwise pass unchecked.
    """
    ctx = _Ctx(schema)
    value: dict[Any, Any] = {}
    for name, item in dict(config or {}).items():
        if not isinstance(name, str):
            ctx.fail(repr(name), "config field names must be strings")
            continue
        bad = json_problem(item, name, MAX_CONFIG_DEPTH)
        if bad is not None:  # a config (private keys too) must survive a save as JSON; NaN and objects would not
            ctx.fail(bad[0], bad[1])
            continue
        value[name] = item
    filled = ctx.check(value, schema, "")
    return filled, ctx.problems


def schema_problems(schema: Any) -> list[str]:
    """Keywords of a (normalised) config schema whose values have the wrong type, as messages.

    ``{"minimum": "0"}``, ``{"enum": 3}``, ``{"properties": []}`` ... would make every
    config check fail later; :meth:`BaseCard.check_definition` reports them up front.
    """
    out: list[str] = []
    stack: list[tuple[Any, str, int]] = [(schema, "config_schema", 0)]
    while stack:
        node, where, depth = stack.pop()
        if not isinstance(node, dict):
            out.append(f"{where} must be a schema (a dict); got {_describe(node)}")
            continue
        if depth > MAX_CONFIG_DEPTH:
            out.append(f"{where} is nested too deeply")
            continue
        out.extend(f"{where}: {p}" for p in keyword_problems(node))
        for key in _SCHEMA_MAP_KEYWORDS:
            if isinstance(node.get(key), dict):
                stack.extend((v, f"{where}.{key}.{k}", depth + 1) for k, v in node[key].items())
        for key in COMBINER_KEYWORDS:
            if isinstance(node.get(key), list):
                stack.extend((v, f"{where}.{key}[{i}]", depth + 1) for i, v in enumerate(node[key]))
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append((node[key], f"{where}.{key}", depth + 1))
    return out


def keyword_problems(schema: dict[str, Any]) -> list[str]:
    """Wrong-typed keywords of one schema node (not of its sub-schemas), as messages."""
    out = []
    for key in _NUMBER_KEYWORDS:
        v = schema.get(key)
        if key in schema and (isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v)):
            out.append(f'"{key}" must be a number; got {_describe(v)}')
    for key in _COUNT_KEYWORDS:
        v = schema.get(key)
        if key in schema and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            out.append(f'"{key}" must be a whole number >= 0; got {_describe(v)}')
    if "pattern" in schema and not isinstance(schema["pattern"], str):
        out.append(f'"pattern" must be a string (a regular expression); got {_describe(schema["pattern"])}')
    if "enum" in schema and not isinstance(schema["enum"], (list, tuple)):
        out.append(f'"enum" must be a list of allowed values; got {_describe(schema["enum"])}')
    required = schema.get("required", [])
    if not isinstance(required, (list, tuple)) or not all(isinstance(r, str) for r in required):
        out.append(f'"required" must be a list of field names; got {_describe(required)}')
    for key in _SCHEMA_MAP_KEYWORDS:
        if key in schema and not isinstance(schema[key], dict):
            out.append(f'"{key}" must be a dict of schemas; got {_describe(schema[key])}')
    for key in COMBINER_KEYWORDS:
        options = schema.get(key)
        if key in schema and not (isinstance(options, (list, tuple)) and all(isinstance(o, dict) for o in options)):
            out.append(f'"{key}" must be a list of schemas (dicts); got {_describe(schema[key])}')
    if "items" in schema and not isinstance(schema["items"], (dict, bool)):
        out.append(f'"items" must be a schema (a dict); got {_describe(schema["items"])}')
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, (dict, bool)):
        out.append(f'"additionalProperties" must be true, false or a schema; got {_describe(extra)}')
    types = schema.get("type")
    names = types if isinstance(types, list) else [types]
    if "type" in schema and (not names or not all(isinstance(t, str) for t in names)):
        out.append(f'"type" must be a string or a list of strings; got {_describe(types)}')
    if "$ref" in schema and not isinstance(schema["$ref"], str):
        out.append(f'"$ref" must be a string such as "#/$defs/Name"; got {_describe(schema["$ref"])}')
    return out


def _finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


class _Ctx:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.problems: list[dict[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append({"field": path or "(config)", "message": message})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return {k: v for k, v in schema.items() if k != "$ref"}
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            merged = dict(node) if isinstance(node, dict) else {}
            merged.update({k: v for k, v in schema.items() if k != "$ref"})
            schema = merged
            seen += 1
        return schema

    def check(self, value: Any, schema: dict[str, Any], path: str) -> Any:
        schema = self.resolve(schema)
        broken = keyword_problems(schema)
        if broken:  # a card with a malformed schema: say so instead of crashing in a comparison
            self.fail(path, f"cannot be checked: the card's config_schema is invalid here ({broken[0]}); fix the card")
            return value
        for combo in ("anyOf", "oneOf"):
            if combo in schema:
                return self.check_any(value, schema[combo], path, schema)
        types = schema.get("type")
        if types is not None:
            value, ok = _coerce(value, types if isinstance(types, list) else [types])
            if not ok:
                self.fail(path, f"expected {_type_words(types)}, got {_describe(value)}")
                return value
        if "const" in schema and value != schema["const"]:
            self.fail(path, f"must be {schema['const']!r}, got {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            options = ", ".join(repr(v) for v in schema["enum"])
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, [str(v) for v in schema["enum"]], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(path, f"must be one of {options}; got {value!r}{hint}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.check_number(value, schema, path)
        elif isinstance(value, str):
            self.check_string(value, schema, path)
        elif isinstance(value, list):
            value = self.check_array(value, schema, path)
        elif isinstance(value, dict) and ("properties" in schema or schema.get("type") == "object"):
            value = self.check_object(value, schema, path)
        return value

    def check_any(self, value: Any, options: list[dict[str, Any]], path: str, parent: dict[str, Any]) -> Any:
        for option in options:
            trial = _Ctx(self.root)
            out = trial.check(value, option, path)
            if not trial.problems:
                return out
        words = " or ".join(_type_words(self.resolve(o).get("type", "value")) for o in options)
        self.fail(path, f"expected {words}, got {_describe(value)}")
        return value

    def check_number(self, value: float, schema: dict[str, Any], path: str) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            self.fail(path, f"must be >= {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            self.fail(path, f"must be <= {schema['maximum']}, got {value}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            self.fail(path, f"must be > {schema['exclusiveMinimum']}, got {value}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            self.fail(path, f"must be < {schema['exclusiveMaximum']}, got {value}")

    def check_string(self, value: str, schema: dict[str, Any], path: str) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.fail(path, f"must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.fail(path, f"must have at most {schema['maxLength']} characters")
        if "pattern" in schema:
            try:
                ok = pattern_matches(schema["pattern"], value)
            except PatternTimeout as exc:
                self.fail(path, str(exc))
            except ValueError as exc:
                self.fail(path, f"the schema's pattern {schema['pattern']!r} is not a valid regular expression ({exc})")
            else:
                if not ok:
                    self.fail(path, f"must match pattern {schema['pattern']!r}; got {value!r}")

    def check_array(self, value: list[Any], schema: dict[str, Any], path: str) -> list[Any]:
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.fail(path, f"must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.fail(path, f"must have at most {schema['maxItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            return [self.check(v, items, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def check_object(self, value: dict[str, Any], schema: dict[str, Any], path: str) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        out: dict[str, Any] = {}
        prefix = f"{path}." if path else ""
        for name in schema.get("required", []):
            if name not in value and "default" not in self.resolve(props.get(name, {})):
                self.fail(f"{prefix}{name}", "is required")
        for name, sub in props.items():
            if name in value:
                resolved = self.resolve(sub)
                if value[name] is None and "default" in resolved and not _allows_null(resolved, self.root):
                    out[name] = copy.deepcopy(self.resolve(sub)["default"])  # UI cleared it
                    continue
                out[name] = self.check(value[name], sub, f"{prefix}{name}")
            elif "default" in self.resolve(sub):
                out[name] = copy.deepcopy(self.resolve(sub)["default"])
        extra_ok = schema.get("additionalProperties", not props)
        for name, v in value.items():
            if name in props:
                continue
            if name.startswith("_") or extra_ok is True:
                out[name] = v
            elif isinstance(extra_ok, dict):
                out[name] = self.check(v, extra_ok, f"{prefix}{name}")
            else:
                close = difflib.get_close_matches(name, list(props), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(props)}"
                self.fail(f"{prefix}{name}", f"is not a config field of this card{hint}")
        return out


def _allows_null(schema: dict[str, Any], root: dict[str, Any] | None = None) -> bool:
    t = schema.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    ctx = _Ctx(root or {})
    return any(_allows_null(ctx.resolve(o), root) for c in ("anyOf", "oneOf") for o in schema.get(c, []))


def _coerce(value: Any, types: list[str]) -> tuple[Any, bool]:
    for t in types:
        if is_json_type(value, t):
            if t == "integer" and isinstance(value, float):
                return int(value), True
            return value, True
    for t in types:
        if isinstance(value, str):
            raw = value.strip()
            if t == "integer" and re.fullmatch(r"[+-]?\d+", raw):
                return int(raw), True
            if t == "number":
                try:
                    number = float(raw)
                except ValueError:
                    pass
                else:
                    if math.isfinite(number):  # "nan"/"inf" are not JSON numbers
                        return number, True
            if t == "boolean" and raw.lower() in ("true", "false"):
                return raw.lower() == "true", True
        if t == "number" and isinstance(value, int) and not isinstance(value, bool):
            return value, True
    return value, False


def is_json_type(value: Any, t: str) -> bool:
    """Whether ``value`` is of JSON Schema type ``t`` (an integral float counts as an integer)."""
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "array":
        return isinstance(value, (list, tuple))
    if t == "object":
        return isinstance(value, dict)
    if t == "null":
        return value is None
    return True  # unknown type words are not ours to reject


def _type_words(types: Any) -> str:
    if isinstance(types, list):
        return " or ".join(str(t) for t in types)
    return {"integer": "an integer", "array": "an array", "object": "an object"}.get(str(types), f"a {types}")


def _describe(value: Any) -> str:
    name = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
    kind = name.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text if len(text) < 60 else text[:57] + '...'}"
