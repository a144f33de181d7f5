"""The original system's ``cards.base`` imports in a card file: accepted (the worker provides them), with a note.

Cards ported from the original start with ``from cards.base import BaseCard``. Workers run card
source with a ``cards.base`` module whose ``BaseCard`` is tensorrag's
(:mod:`tensorrag.cards.legacy`), so such a file runs unchanged; validation says which line to
write instead. Importing anything else from ``cards.base`` is an error: only ``BaseCard`` exists.
"""

from __future__ import annotations

import ast

from tensorrag.cards.legacy import LEGACY_NAMES
from tensorrag.cards.validate._result import ValidationIssue

__all__ = ["legacy_import_issues"]

_SUGGEST = "from tensorrag import BaseCard"


def legacy_import_issues(tree: ast.Module) -> list[ValidationIssue]:
    """A warning per ``cards.base`` import (anywhere in the file), an error per name it cannot provide."""
    issues: list[ValidationIssue] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module in ("cards", "cards.base"):
            names = [a.name for a in node.names]
            allowed = LEGACY_NAMES if node.module == "cards.base" else ("base",)
            missing = [n for n in names if n != "*" and n not in allowed]
            if missing:
                issues.append(
                    ValidationIssue(
                        node.lineno,
                        f"`{ast.unparse(node)}`: module {node.module} provides only {', '.join(allowed)} "
                        f"(not {', '.join(missing)}); write `{_SUGGEST}` and import the rest from tensorrag",
                    )
                )
                continue
        elif isinstance(node, ast.Import) and any(a.name == "cards.base" for a in node.names):
            pass
        else:
            continue
        issues.append(
            ValidationIssue(
                node.lineno,
                f"`{ast.unparse(node)}` is the original system's import; it works (tensorrag provides cards.base), "
                f"but write `{_SUGGEST}` instead",
                "warning",
            )
        )
    return issues
