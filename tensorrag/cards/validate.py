"""Validate a card file by reading its syntax tree; the file is never imported or executed.

:func:`validate_card_source` (and :func:`validate_card_file`) parse the source with
:func:`ast.parse` and read values only with :func:`ast.literal_eval`. Nothing in the file
runs: not its module level, not its class body, not its default arguments, not its imports.
No module is added to :data:`sys.modules` and no bytecode is written. A file that would wipe
a disk when imported is validated like any other file.

The result has the original system's shape (``{"success", "errors": [{"line", "message",
"severity"}], "extracted_schema"}``); ``success`` is false when at least one issue has
severity ``"error"``. Warnings do not block registration. Every issue carries the best line
number available (``None`` only when no line applies).

Checks, in the original's words where it had them:

* the source parses (``Syntax error: <msg>``, with its line);
* exactly one class extends ``BaseCard`` (``class X(BaseCard)``, ``class X(tr.BaseCard)`` or
  any attribute chain ending in ``BaseCard``): ``No class extending BaseCard found`` /
  ``Multiple BaseCard subclasses found; only one per file is allowed``. These two stop the
  validation; every later problem is collected, so a file with five mistakes gets five errors;
* the class body assigns ``card_type``, ``display_name``, ``description``, ``category``,
  ``execution_mode`` and ``output_view_type`` (``Missing required attribute: X``), each to a
  literal string (``Attribute 'X' must be a simple literal value``). Annotated assignments
  (``card_type: str = "x"``) count, unlike in the original;
* ``card_type`` is a valid (ASCII) Python identifier and not a keyword;
* ``execution_mode`` is ``local`` or ``modal`` (error); a ``category`` outside
  ``data/model/training/evaluation/inference`` or an ``output_view_type`` outside
  ``table/metrics/model_summary`` is a *warning* (tensorrag accepts any, the original did not);
* ``execute`` is defined, is not ``async`` and accepts ``(self, config, inputs, storage)``;
  ``get_output_preview`` is optional (a default preview is used), a warning when absent or
  when its signature cannot take ``(self, outputs, storage)``;
* ``config_schema``, ``input_schema`` and ``output_schema`` are dict literals
  (``X must be a dict literal``); port names are identifiers and port types are known
  (``dataframe``, ``model``, ``json``, ``bytes``, ``any``);
* ``config_schema`` is JSON Schema (``{"type": "object", "properties": ..., "required": ...}``)
  or the flat form (``{field: {"type", "default", ...}}``): every field has a known JSON type
  (or ``enum``/``const``/``anyOf``/``oneOf``/``allOf``/``$ref``), local ``$ref`` targets
  exist, ``pattern`` compiles, defaults match their field (type, enum, bounds), ``required``
  names exist, and only JSON values are used; a flat-form field that the flat form would
  silently drop (named ``description``/``title``/..., or with a list as ``required``) is a warning;
* ``resources``, when given, is a dict literal with a positive ``timeout``;
* an attribute or method defined twice in the class body is a warning (the last one wins).

Not checked (as in the original): inheritance through an intermediate class, imports, and
whether the ``card_type`` is already taken.

A card file larger than ``TENSORRAG_MAX_CARD_BYTES`` (1 MiB) is refused with
:class:`~tensorrag.errors.CardFileTooLargeError` before it is parsed. :func:`decode_card_source`
is the one place that turns a file's bytes into its text. The result carries what the parse
already read (``literals``: ``resources`` and the class docstring; ``lines``: where each class
attribute is bound), so callers never parse the file again.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tensorrag.cards.base import CATEGORIES, EXECUTION_MODES, VIEW_TYPES
from tensorrag.cards.patterns import compile_pattern
from tensorrag.cards.resources import resource_problems
from tensorrag.cards.schema import (
    BOUND_KEYWORDS,
    FLAT_META,
    is_json_type,
    keyword_problems,
    normalize_schema,
    validate_config,
)
from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, CardFileTooLargeError
from tensorrag.spec import PORT_TYPES

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    _Report = Callable[[int | None, str], None]

__all__ = [
    "REQUIRED_ATTRIBUTES",
    "REQUIRED_METHODS",
    "Severity",
    "ValidationIssue",
    "ValidationResult",
    "check_card_size",
    "decode_card_source",
    "validate_card_file",
    "validate_card_source",
]

Severity = Literal["error", "warning"]

#: Class attributes every card file must assign (the original's list).
REQUIRED_ATTRIBUTES = ("card_type", "display_name", "description", "category", "execution_mode", "output_view_type")
#: Methods every card file must define. ``get_output_preview`` is optional in tensorrag.
REQUIRED_METHODS = ("execute",)

_SCHEMA_ATTRIBUTES = ("config_schema", "input_schema", "output_schema")
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
_COMBINERS = ("anyOf", "oneOf", "allOf")
_CARD_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_DEPTH = 32

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a card file.

    Attributes:
        line: 1-based line number, or ``None`` when no line applies.
        message: what is wrong, in words a card author can act on.
        severity: ``"error"`` (the card cannot be registered) or ``"warning"``.
    """

    line: int | None
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """The original's JSON shape: ``{"line", "message", "severity"}``."""
        return {"line": self.line, "message": self.message, "severity": self.severity}

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}" if self.severity == "error" else f"{where}warning: {self.message}"


@dataclass
class ValidationResult:
    """The outcome of validating one card file.

    Attributes:
        success: no issue has severity ``"error"``.
        errors: every issue, errors and warnings, sorted by line.
        extracted_schema: the original ``CardSchema`` JSON (``card_type``, ``display_name``,
            ``description``, ``category``, ``execution_mode``, ``config_schema``,
            ``input_schema``, ``output_schema``, ``output_view_type``) when ``success``,
            else ``None``.
        filename: the name used in messages.
        class_name: the name of the ``BaseCard`` subclass, when exactly one was found.
        literals: literal values read from the class: ``resources`` (when a literal) and the
            class docstring (``"__doc__"``, when it has one).
        lines: the line of each class attribute's last binding, and ``"class"``: the class's line.
    """

    success: bool
    errors: list[ValidationIssue] = field(default_factory=list)
    extracted_schema: dict[str, Any] | None = None
    filename: str = "<card>"
    class_name: str | None = None
    _card_type: str | None = field(default=None, repr=False, compare=False)
    literals: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def card_type(self) -> str | None:
        """The card type the file declares (also when invalid, if it is a literal string)."""
        if self.extracted_schema is not None:
            return str(self.extracted_schema["card_type"])
        return self._card_type

    @property
    def warnings(self) -> list[ValidationIssue]:
        """The issues with severity ``"warning"``."""
        return [i for i in self.errors if i.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        """The original's JSON: ``{"success", "errors": [{"line", "message", "severity"}], "extracted_schema"}``."""
        return {
            "success": self.success,
            "errors": [i.to_dict() for i in self.errors],
            "extracted_schema": copy.deepcopy(self.extracted_schema),
        }

    def line_of(self, attr: str) -> int | None:
        """The line binding class attribute ``attr``, else the class's line (None without a class)."""
        return self.lines.get(attr, self.lines.get("class"))

    def with_issue(self, issue: ValidationIssue) -> ValidationResult:
        """A copy with ``issue`` added (an error makes it unsuccessful and drops the schema)."""
        issues = sorted([*self.errors, issue], key=lambda i: i.line or 0)
        success = self.success and issue.severity != "error"
        schema = self.extracted_schema if success else None
        return dataclasses.replace(self, success=success, errors=issues, extracted_schema=schema)

    def raise_for_errors(self) -> ValidationResult:
        """Raise if the file is invalid; return ``self`` otherwise (for chaining).

        Raises:
            CardDefinitionError: listing every error (not the warnings) with its line.
        """
        problems = [i for i in self.errors if i.severity == "error"]
        if not problems:
            return self
        count = f"{len(problems)} error{'s' if len(problems) != 1 else ''}"
        lines = [f"Card file {self.filename!r} is invalid ({count}):"]
        lines += [f"  {i}" for i in problems]
        raise CardDefinitionError("\n".join(lines), card_type=self.card_type)


def check_card_size(size: int, filename: str = "<card>") -> None:
    """Refuse a card file of ``size`` bytes when it is over ``TENSORRAG_MAX_CARD_BYTES``.

    Raises:
        CardFileTooLargeError: it is.
    """
    limit = get_settings().max_card_bytes
    if size > limit:
        raise CardFileTooLargeError(filename, size, limit)


def decode_card_source(data: bytes, filename: str = "<card>") -> str | ValidationResult:
    """The text of a card file's bytes (UTF-8, a leading BOM dropped), or a failed result saying where it is not.

    Raises:
        CardFileTooLargeError: ``data`` is over ``TENSORRAG_MAX_CARD_BYTES``.
    """
    check_card_size(len(data), filename)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _failed(filename, line, f"File is not valid UTF-8: {exc.reason} at byte {exc.start}")


def validate_card_file(path: str | os.PathLike[str]) -> ValidationResult:
    """Validate the card file at ``path`` (read as UTF-8; never imported or executed).

    Raises:
        OSError: the file cannot be read.
        CardFileTooLargeError: the file is over ``TENSORRAG_MAX_CARD_BYTES`` (it is not read).
    """
    file = Path(path)
    check_card_size(file.stat().st_size, str(path))
    source = decode_card_source(file.read_bytes(), str(path))
    if isinstance(source, ValidationResult):
        return source
    return validate_card_source(source, filename=str(path))


def validate_card_source(source: str, filename: str = "<card>") -> ValidationResult:
    """Validate the source of a card file by reading its AST (nothing in it is executed).

    Args:
        source: the text of the ``.py`` file.
        filename: the name used in messages.

    Returns:
        The :class:`ValidationResult`; call ``.raise_for_errors()`` to turn errors into a
        :class:`~tensorrag.errors.CardDefinitionError`.

    Raises:
        CardFileTooLargeError: ``source`` is over ``TENSORRAG_MAX_CARD_BYTES`` in UTF-8.
    """
    if len(source) * 4 > get_settings().max_card_bytes:  # could be over: measure (a char is 1-4 bytes)
        check_card_size(len(source.encode("utf-8", "surrogatepass")), filename)
    source = source.removeprefix("\ufeff")
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        line = exc.lineno
        if line is None and "\0" in source:
            line = source[: source.index("\0")].count("\n") + 1
        return _failed(filename, line, f"Syntax error: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes (older Pythons), absurd nesting
        return _failed(filename, None, f"Syntax error: {exc or type(exc).__name__}")

    classes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and any(_is_basecard(b) for b in n.bases)),
        key=lambda n: n.lineno,
    )
    if not classes:
        return _failed(filename, None, "No class extending BaseCard found")
    if len(classes) > 1:
        return _failed(filename, classes[1].lineno, "Multiple BaseCard subclasses found; only one per file is allowed")
    return _CardChecker(classes[0], filename).run()


# --------------------------------------------------------------------------- implementation


def _failed(filename: str, line: int | None, message: str) -> ValidationResult:
    return ValidationResult(False, [ValidationIssue(line, message)], None, filename)


def _is_basecard(base: ast.expr) -> bool:
    if isinstance(base, ast.Name):
        return base.id == "BaseCard"
    return isinstance(base, ast.Attribute) and base.attr == "BaseCard"


class _Unset:
    """Marks a value that is not a literal."""


_NOT_LITERAL = _Unset()


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return _NOT_LITERAL


@dataclass
class _Binding:
    line: int
    value: ast.expr | None  # None: bound to something that is not a literal (unpacking, mutation)


class _CardChecker:
    def __init__(self, cls: ast.ClassDef, filename: str) -> None:
        self.cls = cls
        self.filename = filename
        self.issues: list[ValidationIssue] = []
        self.bindings: dict[str, list[_Binding]] = {}
        self.mutations: dict[str, int] = {}
        self.methods: dict[str, list[_FunctionNode]] = {}
        self.values: dict[str, Any] = {}

    def error(self, line: int | None, message: str) -> None:
        self.issues.append(ValidationIssue(line, message, "error"))

    def warn(self, line: int | None, message: str) -> None:
        self.issues.append(ValidationIssue(line, message, "warning"))

    # ------------------------------------------------------------------ driver

    def run(self) -> ValidationResult:
        self.scan_body()
        self.check_duplicates()
        self.check_required_attributes()
        self.check_methods()
        for name, kind in (("input_schema", "input"), ("output_schema", "output")):
            ports = self.dict_attribute(name)
            if ports is not None:
                self.check_ports(name, kind, *ports)
        config = self.dict_attribute("config_schema")
        if config is not None:
            _SchemaChecker(self).check(*config)
        self.check_resources()
        self.issues.sort(key=lambda i: i.line or 0)
        success = not any(i.severity == "error" for i in self.issues)
        card_type = self.values.get("card_type")
        return ValidationResult(
            success,
            self.issues,
            self.extracted_schema() if success else None,
            self.filename,
            self.cls.name,
            card_type if isinstance(card_type, str) else None,
            literals=self.literals(),
            lines={"class": self.cls.lineno, **{name: b[-1].line for name, b in self.bindings.items()}},
        )

    def literals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        bound = self.final("resources")
        value = _literal(bound.value) if bound is not None and bound.value is not None else _NOT_LITERAL
        if value is not _NOT_LITERAL:
            out["resources"] = value
        doc = ast.get_docstring(self.cls)
        if doc:
            out["__doc__"] = doc
        return out

    def extracted_schema(self) -> dict[str, Any]:
        return {
            "card_type": self.values["card_type"],
            "display_name": self.values["display_name"],
            "description": self.values["description"],
            "category": self.values["category"],
            "execution_mode": self.values["execution_mode"],
            "config_schema": self.values.get("config_schema") or {},
            "input_schema": self.values.get("input_schema") or {},
            "output_schema": self.values.get("output_schema") or {},
            "output_view_type": self.values["output_view_type"],
        }

    # ------------------------------------------------------------------ class body

    def scan_body(self) -> None:
        for stmt in self.cls.body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self.bind(target, stmt.value, stmt.lineno)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is not None:  # `x: str` alone declares, it does not assign
                    self.bind(stmt.target, stmt.value, stmt.lineno)
            elif isinstance(stmt, ast.AugAssign):
                self.mutate(stmt.target, stmt.lineno)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.methods.setdefault(stmt.name, []).append(stmt)

    def bind(self, target: ast.expr, value: ast.expr | None, line: int) -> None:
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append(_Binding(line, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            pairs = (
                isinstance(value, (ast.Tuple, ast.List))
                and len(value.elts) == len(elts)
                and not any(isinstance(e, ast.Starred) for e in (*elts, *value.elts))
            )
            for i, elt in enumerate(elts):
                sub = value.elts[i] if pairs and isinstance(value, (ast.Tuple, ast.List)) else None
                self.bind(elt.value if isinstance(elt, ast.Starred) else elt, sub, line)
        else:  # x["k"] = ... / x.k = ...: changes x after its literal
            self.mutate(target, line)

    def mutate(self, target: ast.expr, line: int) -> None:
        while isinstance(target, (ast.Subscript, ast.Attribute)):
            target = target.value
        if isinstance(target, ast.Name):
            self.mutations.setdefault(target.id, line)

    def check_duplicates(self) -> None:
        for name, binds in self.bindings.items():
            for later in binds[1:]:
                self.warn(
                    later.line,
                    f"Attribute '{name}' is defined more than once (first on line {binds[0].line}); "
                    "the last definition is used",
                )
        for name, defs in self.methods.items():
            for again in defs[1:]:
                self.warn(
                    again.lineno,
                    f"Method '{name}()' is defined more than once (first on line {defs[0].lineno}); "
                    "the last definition is used",
                )

    def final(self, name: str) -> _Binding | None:
        binds = self.bindings.get(name)
        return binds[-1] if binds else None

    # ------------------------------------------------------------------ attributes

    def check_required_attributes(self) -> None:
        for name in REQUIRED_ATTRIBUTES:
            bound = self.final(name)
            if bound is None:
                self.error(self.cls.lineno, f"Missing required attribute: {name}")
                continue
            value = _literal(bound.value) if bound.value is not None else _NOT_LITERAL
            if value is _NOT_LITERAL:
                self.error(bound.line, f"Attribute '{name}' must be a simple literal value")
                continue
            if name in self.mutations:
                self.error(self.mutations[name], f"Attribute '{name}' must be a simple literal value")
                continue
            if not isinstance(value, str):
                self.error(bound.line, f"Attribute '{name}' must be a string; got {_describe(value)}")
                continue
            self.values[name] = value
            self.check_enum(name, value, bound.line)

    def check_enum(self, name: str, value: str, line: int) -> None:
        if name == "card_type":
            if not _CARD_TYPE.fullmatch(value):
                self.error(
                    line,
                    f"card_type '{value}' must be a valid Python identifier "
                    "(ASCII letters, digits and underscores, not starting with a digit)",
                )
            elif keyword.iskeyword(value):
                self.error(line, f"card_type '{value}' is a Python keyword; choose another name")
        elif name == "category" and value not in CATEGORIES:
            self.warn(line, f"Invalid category '{value}'. Must be one of: {sorted(CATEGORIES)}")
        elif name == "execution_mode" and value not in EXECUTION_MODES:
            self.error(line, f"Invalid execution_mode '{value}'. Must be one of: {sorted(EXECUTION_MODES)}")
        elif name == "output_view_type" and value not in VIEW_TYPES:
            self.warn(line, f"Invalid output_view_type '{value}'. Must be one of: {sorted(VIEW_TYPES)}")

    def dict_attribute(self, name: str) -> tuple[dict[Any, Any], ast.Dict, int] | None:
        """The literal dict assigned to ``name`` with its node and line; reports a non-dict."""
        bound = self.final(name)
        if bound is None:
            return None
        value = _literal(bound.value) if bound.value is not None else _NOT_LITERAL
        line = self.mutations.get(name, bound.line)
        if not isinstance(value, dict) or not isinstance(bound.value, ast.Dict) or name in self.mutations:
            self.error(line, f"{name} must be a dict literal")
            return None
        self.values[name] = value
        return value, bound.value, bound.line

    # ------------------------------------------------------------------ methods

    def check_methods(self) -> None:
        execute = self.methods.get("execute")
        if not execute:
            self.error(self.cls.lineno, "Missing required method: execute()")
        else:
            self.check_signature(execute[-1], ("self", "config", "inputs", "storage"), self.error)
        preview = self.methods.get("get_output_preview")
        if not preview:
            self.warn(self.cls.lineno, "Missing method: get_output_preview() (a default preview is used)")
        else:
            self.check_signature(preview[-1], ("self", "outputs", "storage"), self.warn)

    def check_signature(self, fn: _FunctionNode, wanted: tuple[str, ...], report: _Report) -> None:
        name = fn.name
        if isinstance(fn, ast.AsyncFunctionDef):
            report(fn.lineno, f"{name}() must be a plain 'def' method; 'async def' is not supported")
            return
        count = len(wanted)
        if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list):
            count -= 1  # no self
        args = fn.args
        positional = [*args.posonlyargs, *args.args]
        required = len(positional) - len(args.defaults)
        fits = (
            required <= count
            and (len(positional) >= count or args.vararg is not None)
            and all(d is not None for d in args.kw_defaults)
        )
        if not fits:
            report(fn.lineno, f"{name}() must accept ({', '.join(wanted)}); found ({ast.unparse(args)})")

    # ------------------------------------------------------------------ ports

    def check_ports(self, attr: str, kind: str, ports: dict[Any, Any], node: ast.Dict, line: int) -> None:
        lines = _key_lines(node, attr, self.warn)
        valid = ", ".join(PORT_TYPES)
        for port, port_type in ports.items():
            at = lines.get(_hashable(port), line)
            if not isinstance(port, str):
                self.error(at, f"{attr}: port name {port!r} must be a string")
                continue
            if not port.isidentifier():
                self.error(
                    at,
                    f"{attr}: port name '{port}' must be a valid identifier "
                    "(letters, digits and underscores, not starting with a digit)",
                )
            if not isinstance(port_type, str):
                self.error(at, f"{attr}: the type of {kind} port '{port}' must be a string, one of: {valid}")
            elif port_type not in PORT_TYPES:
                self.error(
                    at,
                    f"Unknown port type '{port_type}' for {kind} port '{port}'; must be one of: {valid}"
                    + _did_you_mean(port_type, PORT_TYPES),
                )

    # ------------------------------------------------------------------ resources

    def check_resources(self) -> None:
        bound = self.final("resources")
        if bound is None:
            return
        value = _literal(bound.value) if bound.value is not None else _NOT_LITERAL
        if not isinstance(value, dict) or "resources" in self.mutations:
            self.error(self.mutations.get("resources", bound.line), "resources must be a dict literal")
            return
        for field_name, message in resource_problems(value):
            self.error(bound.line, f"{field_name} {message}")


class _SchemaChecker:
    """Checks ``config_schema`` (JSON Schema or flat form)."""

    def __init__(self, card: _CardChecker) -> None:
        self.card = card
        self.root: dict[str, Any] = {}

    def error(self, line: int, message: str) -> None:
        self.card.error(line, message)

    def check(self, schema: dict[Any, Any], node: ast.Dict, line: int) -> None:
        problem = _json_problem(schema, "config_schema")
        if problem:
            self.error(line, problem)
            return
        top = _key_lines(node, "config_schema", self.card.warn)
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
        props_node = _dict_value(node, "properties")
        lines = _key_lines(props_node, "config_schema properties", self.card.warn) if props_node else {}
        self.check_required(schema, props, "config_schema", top.get("required", line))
        self.check_additional(schema, "config_schema", top.get("additionalProperties", line))
        for name, prop in props.items():
            self.check_field(name, prop, lines.get(name, top.get("properties", line)), 0)

    def check_flat_form(self, schema: dict[str, Any], top: dict[Any, int], line: int) -> None:
        for key, value in schema.items():
            at = top.get(key, line)
            if key in FLAT_META or key.startswith("_"):
                if key in FLAT_META and isinstance(value, dict) and "type" in value:
                    self.card.warn(
                        at,
                        f"config_schema field '{key}' is ignored: '{key}' is a reserved key in the flat "
                        'form; use the JSON Schema form ("properties") for a field with this name',
                    )
                continue
            if not isinstance(value, dict):
                self.error(
                    at,
                    f"config_schema field '{key}' must be a dict such as "
                    f'{{"type": "number", "default": 1}}; got {_describe(value)}',
                )
                continue
            if not isinstance(value.get("required", False), bool):
                self.card.warn(
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
                    f"{where}: required field '{name}' is not defined in properties" + _did_you_mean(name, list(props)),
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
        for combo in _COMBINERS:
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
            if not any(k in prop for k in ("enum", "const", "$ref", *_COMBINERS)):
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
                hint = f" (did you mean '{alias}'?)" if alias else _did_you_mean(t, _JSON_TYPES)
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


# --------------------------------------------------------------------------- helpers


def _dict_value(node: ast.Dict, key: str) -> ast.Dict | None:
    found: ast.expr | None = None
    for k, v in zip(node.keys, node.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key:
            found = v  # the last one wins, as in the dict
    return found if isinstance(found, ast.Dict) else None


def _key_lines(node: ast.Dict, where: str, warn: _Report) -> dict[Any, int]:
    """Line of each literal key of a dict display; warns about keys given twice."""
    lines: dict[Any, int] = {}
    for k in node.keys:
        if k is None:  # **spread: not a literal anyway
            continue
        key = _hashable(_literal(k))
        if key is _NOT_LITERAL:
            continue
        if key in lines:
            warn(
                k.lineno,
                f"{where}: key {key!r} is given more than once (first on line {lines[key]}); the last one is used",
            )
        lines[key] = k.lineno
    return lines


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return _NOT_LITERAL
    return value




def _json_problem(value: Any, path: str) -> str | None:
    """Describe the first value that JSON cannot hold (sets, bytes, complex, non-string keys)."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > 100:
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


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _did_you_mean(word: str, options: Any) -> str:
    lowered = {str(o).lower(): str(o) for o in options}
    if word.lower() in lowered:
        return f" (did you mean '{lowered[word.lower()]}'?)"
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
