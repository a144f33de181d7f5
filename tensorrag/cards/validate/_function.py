"""The ``@tr.card`` function checker: the card a decorated function makes, read from its syntax tree.

:class:`FunctionChecker` derives what :func:`tensorrag.cards.decorator.card` derives at run time
(card type, ports, config schema, outputs, resources, palette text) from the decorator's literal
arguments and the function's signature, without running anything. What cannot be read without
running code (a default that is not a literal, an annotation with no JSON Schema from its name,
``cache_token=``) is an error naming its line.
"""

from __future__ import annotations

import ast
import keyword
from typing import Any

from tensorrag.cards.base import CATEGORIES, EXECUTION_MODES, VIEW_TYPES
from tensorrag.cards.resources import resource_problems
from tensorrag.cards.validate._annotations import UNSUPPORTED, Names, field_schema, port_type
from tensorrag.cards.validate._body import _CARD_TYPE
from tensorrag.cards.validate._common import NOT_LITERAL, describe, did_you_mean, literal
from tensorrag.cards.validate._result import ValidationIssue, ValidationResult
from tensorrag.spec import PORT_TYPES

__all__ = ["FunctionChecker", "card_functions"]

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_DEFAULT_VIEW = {"dataframe": "table", "json": "metrics", "model": "model_summary"}  # as decorator.py
_STRINGS = ("card_type", "display_name", "description", "category", "execution_mode", "output_view_type")
_KEYWORDS = (*_STRINGS, "outputs", "resources", "version", "cache_token")


def _decorator(fn: _FunctionNode) -> ast.expr | None:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if (isinstance(target, ast.Name) and target.id == "card") or (
            isinstance(target, ast.Attribute) and target.attr == "card"
        ):
            return d
    return None


def card_functions(tree: ast.Module) -> list[_FunctionNode]:
    """The top-level functions decorated with ``@card`` / ``@tr.card`` / ``@tensorrag.card`` (in file order)."""
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _decorator(n)]


class FunctionChecker:
    """Checks one ``@card`` function; :meth:`run` returns the result."""

    def __init__(self, fn: _FunctionNode, tree: ast.Module, filename: str) -> None:
        self.fn = fn
        self.names = Names(tree)
        self.filename = filename
        self.issues: list[ValidationIssue] = []
        self.options: dict[str, Any] = {}
        self.lines: dict[str, int] = {"class": fn.lineno}

    def error(self, line: int | None, message: str) -> None:
        self.issues.append(ValidationIssue(line, message, "error"))

    def warn(self, line: int | None, message: str) -> None:
        self.issues.append(ValidationIssue(line, message, "warning"))

    def run(self) -> ValidationResult:
        fn = self.fn
        if isinstance(fn, ast.AsyncFunctionDef):
            self.error(fn.lineno, f"@card function {fn.name}() must be a plain 'def'; 'async def' is not supported")
        self.read_decorator()
        inputs, config = self.read_parameters()
        outputs = self.read_outputs()
        card_type = self.options.get("card_type", fn.name)
        self.check_card_type(card_type)
        self.issues.sort(key=lambda i: i.line or 0)
        success = not any(i.severity == "error" for i in self.issues)
        first = next(iter(outputs.values()), "json")
        doc = ast.get_docstring(fn, clean=False)
        schema = {
            "card_type": card_type,
            "display_name": self.options.get("display_name") or card_type.replace("_", " ").title(),
            "description": self.options.get("description") or (ast.get_docstring(fn) or "").split("\n\n")[0],
            "category": self.options.get("category", "data"),
            "execution_mode": self.options.get("execution_mode", "local"),
            "config_schema": {"properties": config, "type": "object"} if config else {},
            "input_schema": inputs,
            "output_schema": outputs,
            "output_view_type": self.options.get("output_view_type") or _DEFAULT_VIEW.get(first, "json"),
        }
        literals: dict[str, Any] = {"resources": dict(self.options.get("resources") or {})}
        if "version" in self.options:
            literals["version"] = self.options["version"]
        if doc:
            literals["__doc__"] = doc
        return ValidationResult(
            success,
            self.issues,
            schema if success else None,
            self.filename,
            f"{fn.name}_card",  # the name of the class @card generates
            card_type if isinstance(card_type, str) else None,
            literals=literals,
            lines=self.lines,
        )

    # ------------------------------------------------------------------ decorator

    def read_decorator(self) -> None:
        deco = _decorator(self.fn)
        if not isinstance(deco, ast.Call):
            return
        if deco.args:
            self.error(deco.lineno, "@card(...) takes keyword arguments only (card_type=..., outputs=..., ...)")
        for kw in deco.keywords:
            line = kw.value.lineno
            if kw.arg is None:
                self.error(line, "@card(**...) is not supported in a card file; write each argument as a literal")
                continue
            self.lines[kw.arg] = line
            if kw.arg == "cache_token":
                self.error(
                    line,
                    "cache_token= is not supported in a project card file: it runs in the orchestrator, where "
                    "card files never run. Remove it, and bump version= when the data the card reads changes",
                )
                continue
            if kw.arg not in _KEYWORDS:
                self.error(
                    line,
                    f"@card() got an unknown argument '{kw.arg}'; accepted: {', '.join(_KEYWORDS)}"
                    + did_you_mean(kw.arg, _KEYWORDS),
                )
                continue
            value = literal(kw.value)
            if value is NOT_LITERAL:
                self.error(line, f"@card({kw.arg}=...) must be a simple literal value")
                continue
            self.check_option(kw.arg, value, line)

    def check_option(self, name: str, value: Any, line: int) -> None:
        if name in _STRINGS:
            if value is None and name in ("display_name", "description", "output_view_type", "card_type"):
                return  # None: the decorator's default
            if not isinstance(value, str):
                self.error(line, f"@card({name}=...) must be a string; got {describe(value)}")
                return
            if name == "category" and value not in CATEGORIES:
                self.warn(line, f"Invalid category '{value}'. Must be one of: {sorted(CATEGORIES)}")
            elif name == "execution_mode" and value not in EXECUTION_MODES:
                self.error(line, f"Invalid execution_mode '{value}'. Must be one of: {sorted(EXECUTION_MODES)}")
                return
            elif name == "output_view_type" and value not in VIEW_TYPES:
                self.warn(line, f"Invalid output_view_type '{value}'. Must be one of: {sorted(VIEW_TYPES)}")
        elif name == "resources":
            if value is not None and not isinstance(value, dict):
                self.error(line, "resources must be a dict literal")
                return
            for field_name, message in resource_problems(value or {}):
                self.error(line, f"{field_name} {message}")
        elif name == "version" and not (value is None or isinstance(value, (str, int))):
            self.error(line, f"@card(version=...) must be a string or an integer; got {describe(value)}")
            return
        elif name == "outputs" and value is not None:
            self.check_outputs(value, line)
        self.options[name] = value

    def check_outputs(self, value: Any, line: int) -> None:
        valid = ", ".join(PORT_TYPES)
        if not isinstance(value, dict):
            self.error(line, f'@card(outputs=...) must be a dict literal {{"port": "type"}}; got {describe(value)}')
            return
        for port, kind in value.items():
            if not isinstance(port, str) or not port.isidentifier():
                self.error(line, f"outputs: port name {port!r} must be a valid identifier")
            elif kind not in PORT_TYPES:
                self.error(
                    line,
                    f"Unknown port type {kind!r} for output port '{port}'; must be one of: {valid}"
                    + (did_you_mean(kind, PORT_TYPES) if isinstance(kind, str) else ""),
                )

    def check_card_type(self, value: str) -> None:
        line = self.lines.get("card_type", self.fn.lineno)
        if not _CARD_TYPE.fullmatch(value):
            self.error(line, f"card_type '{value}' must be a valid Python identifier")
        elif keyword.iskeyword(value):
            self.error(line, f"card_type '{value}' is a Python keyword; choose another name")

    # ------------------------------------------------------------------ signature

    def read_parameters(self) -> tuple[dict[str, str], dict[str, Any]]:
        args = self.fn.args
        where = f"@card function {self.fn.name}()"
        if args.vararg is not None or args.kwarg is not None:
            extra = args.vararg or args.kwarg
            self.error(
                extra.lineno if extra else self.fn.lineno,
                f"{where}: *args/**kwargs are not allowed; declare each input and config field by name. "
                "Format should be: def f(input: pd.DataFrame, option: int = 1) -> pd.DataFrame",
            )
        if args.posonlyargs:
            self.error(args.posonlyargs[0].lineno, f"{where}: positional-only parameters are not allowed")
        positional = [*args.posonlyargs, *args.args]
        first_default = len(positional) - len(args.defaults)
        params = [
            (a, args.defaults[i - first_default] if i >= first_default else None) for i, a in enumerate(positional)
        ]
        params += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        inputs: dict[str, str] = {}
        config: dict[str, Any] = {}
        for arg, default in params:
            if default is None:
                inputs[arg.arg] = port_type(arg.annotation, self.names)
                continue
            field = self.config_field(arg, default)
            if field is not None:
                config[arg.arg] = field
        return inputs, config

    def config_field(self, arg: ast.arg, default: ast.expr) -> dict[str, Any] | None:
        value = literal(default)
        if value is NOT_LITERAL:
            self.error(
                default.lineno,
                f"Config field '{arg.arg}': its default must be a literal value (a number, string, bool, None, "
                f"list or dict of those); got `{ast.unparse(default)}`",
            )
            return None
        value = _jsonable(value)
        if value is NOT_LITERAL:
            self.error(default.lineno, f"Config field '{arg.arg}': its default must be a JSON value")
            return None
        schema = field_schema(arg.annotation, self.names)
        if schema is UNSUPPORTED:
            assert arg.annotation is not None
            self.error(
                arg.lineno,
                f"Config field '{arg.arg}': annotation `{ast.unparse(arg.annotation)}` is not supported in a card "
                "file; use int, float, str, bool, list, list[X], dict, dict[str, X], Literal[...] or Optional[X]",
            )
            return None
        return dict(sorted({**schema, "default": value, "title": arg.arg.title().replace("_", " ")}.items()))

    def read_outputs(self) -> dict[str, str]:
        outputs = self.options.get("outputs")
        if isinstance(outputs, dict):
            return {str(k): str(v) for k, v in outputs.items()}
        returns = self.fn.returns
        if returns is not None and isinstance(returns, ast.Constant) and returns.value is None:
            return {}  # -> None: a sink card
        return {"output": port_type(returns, self.names)}


def _jsonable(value: Any) -> Any:
    """``value`` as pydantic writes a default into JSON Schema (tuples become lists), or NOT_LITERAL."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return NOT_LITERAL if any(v is NOT_LITERAL for v in items) else items
    if isinstance(value, dict):
        pairs = {k: _jsonable(v) for k, v in value.items()}
        ok = all(isinstance(k, str) and v is not NOT_LITERAL for k, v in pairs.items())
        return pairs if ok else NOT_LITERAL
    return NOT_LITERAL
