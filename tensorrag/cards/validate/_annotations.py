"""Annotations read from the syntax tree: port types and config-field JSON Schema, as ``@tr.card`` derives them.

The rules mirror :func:`tensorrag.cards.decorator.port_type_of` and the pydantic schema
:mod:`tensorrag.cards.decorator` builds, for the annotations a card file can state without
running (names are resolved through the file's own top-level imports). A test compares both
derivations on a set of example functions, so they cannot drift.
"""

from __future__ import annotations

import ast
from typing import Any

from tensorrag.cards.validate._common import NOT_LITERAL, literal

__all__ = ["UNSUPPORTED", "Names", "field_schema", "port_type"]

#: Returned by :func:`field_schema` for an annotation no JSON Schema is derived from without running code.
UNSUPPORTED: Any = object()

_ANY = {"typing.Any", "typing_extensions.Any"}
_JSON = {
    "dict", "list", "typing.Dict", "typing.List", "typing.Mapping", "typing.MutableMapping",
    "collections.abc.Mapping", "collections.abc.MutableMapping", "collections.OrderedDict",
    "collections.defaultdict", "collections.Counter", "typing.OrderedDict", "typing.DefaultDict",
}  # fmt: skip
_BYTES = {"bytes", "bytearray"}
_SCALARS = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}
_LISTS = {"list", "typing.List"}
_DICTS = {"dict", "typing.Dict"}
_LITERAL_TYPES = {str: "string", int: "integer", bool: "boolean"}


class Names:
    """The dotted name an annotation expression refers to, through the module's top-level imports."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def of(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.of(node.value)
            return f"{base}.{node.attr}" if base else None
        return None


def _unquote(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "pd.DataFrame": a forward reference
        try:
            return ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return node
    return node


def _members(node: ast.expr, names: Names) -> list[ast.expr] | None:
    """The members of a union annotation (``X | Y``, ``Union[X, Y]``, ``Optional[X]``), else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*(_members(node.left, names) or [node.left]), *(_members(node.right, names) or [node.right])]
    if isinstance(node, ast.Subscript):
        origin = names.of(node.value)
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin in ("typing.Union", "typing_extensions.Union"):
            return list(elts)
        if origin in ("typing.Optional", "typing_extensions.Optional"):
            return [*elts, ast.Constant(None)]
    return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def port_type(node: ast.expr | None, names: Names) -> str:
    """The port type of a parameter or return annotation (``None``: no annotation)."""
    if node is None:
        return "any"
    node = _unquote(node)
    if _is_none(node):
        return "any"
    members = _members(node, names)
    if members is not None:
        kinds = {port_type(m, names) for m in members if not _is_none(m)}
        return kinds.pop() if len(kinds) == 1 else "any"
    if isinstance(node, ast.Subscript):
        origin = names.of(node.value)
        if origin in ("typing.Annotated", "typing_extensions.Annotated") and isinstance(node.slice, ast.Tuple):
            return port_type(node.slice.elts[0], names)
        node = node.value
    name = names.of(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # unparsable string: read its last name
        return "dataframe" if node.value.split(".")[-1] == "DataFrame" else "model"
    if name is None:
        return "model"
    if name in _ANY:
        return "any"
    if name.startswith("pandas.") and name.endswith(".DataFrame"):
        return "dataframe"
    if name in _JSON:
        return "json"
    if name in _BYTES:
        return "bytes"
    return "model"


def field_schema(node: ast.expr | None, names: Names) -> Any:
    """The JSON Schema of a config field's annotation (no title or default), or :data:`UNSUPPORTED`."""
    if node is None:
        return {}
    node = _unquote(node)
    members = _members(node, names)
    if members is not None:
        rest = [m for m in members if not _is_none(m)]
        if len(rest) != 1 or len(rest) == len(members):
            return UNSUPPORTED  # only Optional[X] / X | None
        inner = field_schema(rest[0], names)
        return UNSUPPORTED if inner is UNSUPPORTED else {"anyOf": [inner, {"type": "null"}]}
    if isinstance(node, ast.Subscript):
        return _generic(node, names)
    name = names.of(node)
    if name in _ANY:
        return {}
    if name in _SCALARS:
        return {"type": _SCALARS[name]}
    if name in _LISTS:
        return {"items": {}, "type": "array"}
    if name in _DICTS:
        return {"additionalProperties": True, "type": "object"}
    return UNSUPPORTED


def _generic(node: ast.Subscript, names: Names) -> Any:
    origin = names.of(node.value)
    elts = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if origin in ("typing.Literal", "typing_extensions.Literal"):
        values = [literal(e) for e in elts]
        if any(v is NOT_LITERAL or type(v) not in _LITERAL_TYPES for v in values):
            return UNSUPPORTED
        kinds = {_LITERAL_TYPES[type(v)] for v in values}
        out: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": values}
        if len(kinds) == 1:
            out["type"] = kinds.pop()
        return out
    if origin in _LISTS and len(elts) == 1:
        items = field_schema(elts[0], names)
        return UNSUPPORTED if items is UNSUPPORTED else {"items": items, "type": "array"}
    if origin in _DICTS and len(elts) == 2 and names.of(elts[0]) == "str":
        values_schema = field_schema(elts[1], names)
        if values_schema is UNSUPPORTED:
            return UNSUPPORTED
        return {"additionalProperties": values_schema or True, "type": "object"}
    return UNSUPPORTED
