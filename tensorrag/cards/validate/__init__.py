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

A file may instead hold one top-level ``@card`` / ``@tr.card`` function (not both a class and a
function): its card type, ports, config schema (JSON Schema, as pydantic writes it), outputs
and resources are derived from the decorator's literal arguments and the signature exactly as
:func:`tensorrag.cards.decorator.card` derives them at run time (``_function``,
``_annotations``). A default that is not a literal, a config annotation with no JSON Schema
(``Annotated[...]``, a pydantic model) and ``cache_token=`` are errors naming their line.

``from cards.base import BaseCard`` (the original's import, also ``import cards.base`` and
``from cards.base import *``) is a *warning* suggesting ``from tensorrag import BaseCard``: the
worker provides ``cards.base`` (:mod:`tensorrag.cards.legacy`), so the file runs unchanged.
Importing any other name from ``cards.base`` is an error (``_imports``).

Not checked (as in the original): inheritance through an intermediate class, other imports, and
whether the ``card_type`` is already taken.

A card file larger than ``TENSORRAG_MAX_CARD_BYTES`` (1 MiB) is refused with
:class:`~tensorrag.errors.CardFileTooLargeError` before it is parsed. :func:`decode_card_source`
is the one place that turns a file's bytes into its text. The result carries what the parse
already read (``literals``: ``resources`` and the class docstring; ``lines``: where each class
attribute is bound), so callers never parse the file again.

The package: ``_result`` (the result types), ``_body`` (the class-body checker), ``_function``
and ``_annotations`` (the ``@card`` function checker), ``_imports`` (``cards.base`` imports),
``_schema`` (the config-schema checker) and ``_common`` (literal and wording helpers they share).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from tensorrag.cards.validate._body import REQUIRED_ATTRIBUTES, REQUIRED_METHODS, CardChecker
from tensorrag.cards.validate._function import FunctionChecker, card_functions
from tensorrag.cards.validate._imports import legacy_import_issues
from tensorrag.cards.validate._result import Severity, ValidationIssue, ValidationResult, failed
from tensorrag.config import get_settings
from tensorrag.errors import CardFileTooLargeError

if TYPE_CHECKING:
    import os

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
        return failed(filename, line, f"File is not valid UTF-8: {exc.reason} at byte {exc.start}")


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
        return failed(filename, line, f"Syntax error: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes (older Pythons), absurd nesting
        return failed(filename, None, f"Syntax error: {exc or type(exc).__name__}")

    classes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and any(_is_basecard(b) for b in n.bases)),
        key=lambda n: n.lineno,
    )
    functions = card_functions(tree)
    if not classes and not functions:
        return failed(filename, None, "No class extending BaseCard found")
    if len(classes) > 1:
        return failed(filename, classes[1].lineno, "Multiple BaseCard subclasses found; only one per file is allowed")
    if len(functions) > 1:
        return failed(filename, functions[1].lineno, "Multiple @card functions found; only one per file is allowed")
    if classes and functions:
        later = max(classes[0].lineno, functions[0].lineno)
        return failed(
            filename,
            later,
            f"Both a BaseCard subclass ({classes[0].name}, line {classes[0].lineno}) and an @card function "
            f"({functions[0].name}, line {functions[0].lineno}) found; only one card per file is allowed",
        )
    result = CardChecker(classes[0], filename).run() if classes else FunctionChecker(functions[0], tree, filename).run()
    for issue in legacy_import_issues(tree):
        result = result.with_issue(issue)
    return result


def _is_basecard(base: ast.expr) -> bool:
    if isinstance(base, ast.Name):
        return base.id == "BaseCard"
    return isinstance(base, ast.Attribute) and base.attr == "BaseCard"
