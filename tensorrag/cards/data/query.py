r"""Check a pandas ``query`` string before it runs: a small expression language over column names.

Allowed: column names (backticks for names with spaces: ``\`sepal length (cm)\```), numbers,
strings, ``True`` / ``False`` / ``None``, lists and tuples of those, comparisons (``== != < <= > >=``,
``in``, ``not in``), ``and`` / ``or`` / ``not`` (or ``&`` / ``|`` / ``~``) and arithmetic. Not
allowed: calls, attributes, subscripts, ``@`` variables — anything that would reach past the table.
"""

from __future__ import annotations

import ast
import difflib
import re

__all__ = ["QueryError", "check_query"]

_BACKTICK = re.compile(r"`([^`]*)`")
_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
)  # fmt: skip
_DESCRIBE = {
    ast.Call: "a function call",
    ast.Attribute: "an attribute (a.b)",
    ast.Subscript: "a subscript (a[...])",
    ast.Lambda: "a lambda",
}


class QueryError(ValueError):
    """The query is not a valid filter; the message says where and how to fix it."""


def check_query(query: str, columns: list[str]) -> list[str]:
    """Check ``query`` against the table's ``columns``; return the columns it uses.

    Args:
        query: a pandas ``DataFrame.query`` expression.
        columns: the table's column names.

    Returns:
        The column names the query refers to, in order of first use.

    Raises:
        QueryError: empty, not an expression, a construct outside the allowed set, or an unknown
            column (with did-you-mean).
    """
    text = (query or "").strip()
    if not text:
        raise QueryError("query is empty; write a condition such as \"age > 30 and city == 'Paris'\".")
    quoted: dict[str, str] = {}

    def _placeholder(match: re.Match[str]) -> str:
        name = f"__col{len(quoted)}__"
        quoted[name] = match.group(1)
        return name

    source = _BACKTICK.sub(_placeholder, text)
    if "`" in source:
        raise QueryError(f"query {text!r} has an unmatched backtick; quote a column name as `name with spaces`.")
    if "@" in source.replace("'@'", "").replace('"@"', ""):
        raise QueryError(f"query {text!r} uses '@' (a Python variable); write the value into the query instead.")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise QueryError(f"query {text!r} is not a valid expression: {exc.msg} (column {exc.offset}).") from exc
    used: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            what = _DESCRIBE.get(type(node), type(node).__name__)
            snippet = ast.get_source_segment(source, node) or ""
            raise QueryError(
                f"query {text!r} contains {what} ({snippet!r}); only column names, literals, comparisons, "
                "and/or/not and arithmetic are allowed."
            )
        if isinstance(node, ast.Name):
            name = quoted.get(node.id, node.id)
            if name not in columns and name != "index":
                close = difflib.get_close_matches(name, columns, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                spaces = " Quote names with spaces in backticks: `my column`." if " " in "".join(columns) else ""
                raise QueryError(
                    f"query {text!r} refers to {name!r}, which is not a column.{hint} Columns: "
                    f"{', '.join(columns[:50])}.{spaces} Quote string values: city == 'Paris'."
                )
            if name not in used:
                used.append(name)
    return used
