"""The class-body checker: what one ``BaseCard`` subclass binds, read from its syntax tree.

:class:`CardChecker` scans the class body once (assignments, annotated assignments,
augmented assignments and mutations, methods), then checks duplicates, the required
attributes and their values, the methods' signatures, the ports, ``resources``, and hands
``config_schema`` to :class:`~tensorrag.cards.validate._schema.SchemaChecker`.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import CATEGORIES, EXECUTION_MODES, VIEW_TYPES
from tensorrag.cards.resources import resource_problems
from tensorrag.cards.validate._common import NOT_LITERAL, describe, did_you_mean, hashable, key_lines, literal
from tensorrag.cards.validate._result import ValidationIssue, ValidationResult
from tensorrag.cards.validate._schema import SchemaChecker
from tensorrag.spec import PORT_TYPES

if TYPE_CHECKING:
    from tensorrag.cards.validate._common import Report

__all__ = ["REQUIRED_ATTRIBUTES", "REQUIRED_METHODS", "CardChecker"]

#: Class attributes every card file must assign (the original's list).
REQUIRED_ATTRIBUTES = ("card_type", "display_name", "description", "category", "execution_mode", "output_view_type")
#: Methods every card file must define. ``get_output_preview`` is optional in tensorrag.
REQUIRED_METHODS = ("execute",)

_CARD_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Binding:
    line: int
    value: ast.expr | None  # None: bound to something that is not a literal (unpacking, mutation)


class CardChecker:
    """Checks one ``BaseCard`` subclass; :meth:`run` returns the result."""

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
            SchemaChecker(self.error, self.warn).check(*config)
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
        value = literal(bound.value) if bound is not None and bound.value is not None else NOT_LITERAL
        if value is not NOT_LITERAL:
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
            value = literal(bound.value) if bound.value is not None else NOT_LITERAL
            if value is NOT_LITERAL:
                self.error(bound.line, f"Attribute '{name}' must be a simple literal value")
                continue
            if name in self.mutations:
                self.error(self.mutations[name], f"Attribute '{name}' must be a simple literal value")
                continue
            if not isinstance(value, str):
                self.error(bound.line, f"Attribute '{name}' must be a string; got {describe(value)}")
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
        value = literal(bound.value) if bound.value is not None else NOT_LITERAL
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

    def check_signature(self, fn: _FunctionNode, wanted: tuple[str, ...], report: Report) -> None:
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
        lines = key_lines(node, attr, self.warn)
        valid = ", ".join(PORT_TYPES)
        for port, port_type in ports.items():
            at = lines.get(hashable(port), line)
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
                    + did_you_mean(port_type, PORT_TYPES),
                )

    # ------------------------------------------------------------------ resources

    def check_resources(self) -> None:
        bound = self.final("resources")
        if bound is None:
            return
        value = literal(bound.value) if bound.value is not None else NOT_LITERAL
        if not isinstance(value, dict) or "resources" in self.mutations:
            self.error(self.mutations.get("resources", bound.line), "resources must be a dict literal")
            return
        for field_name, message in resource_problems(value):
            self.error(bound.line, f"{field_name} {message}")
