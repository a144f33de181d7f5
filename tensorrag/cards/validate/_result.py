"""The result types of card-file validation: one issue, and the outcome for one file."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from tensorrag.errors import CardDefinitionError

__all__ = ["Severity", "ValidationIssue", "ValidationResult", "failed"]

Severity = Literal["error", "warning"]


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


def failed(filename: str, line: int | None, message: str) -> ValidationResult:
    """A failed result holding one error (for the checks that stop the validation)."""
    return ValidationResult(False, [ValidationIssue(line, message)], None, filename)
