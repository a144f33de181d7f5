"""The one table ``overhead.py`` prints: a row per figure, with its baseline, target and verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    """One figure.

    Attributes:
        case: what was run.
        value: tensorrag's measurement, as text (``"237 ms (475 µs/node)"``).
        baseline: the reference measured in the same run, as text.
        figure: the number judged against ``target``; ``None`` when it could not be measured.
        unit: ``figure``'s unit (``"×"``, ``"ms over"``, ``"ops/node"``, ...).
        target: the most ``figure`` may be; ``None`` for an informational row.
        note: why ``figure`` is missing, or anything the reader needs (shown after the verdict).
    """

    case: str
    value: str = ""
    baseline: str = ""
    figure: float | None = None
    unit: str = ""
    target: float | None = None
    note: str = ""

    @property
    def ok(self) -> str:
        """``yes`` when the figure meets its target, ``NO`` when not, ``-`` when either is missing."""
        if self.figure is None or self.target is None:
            return "-"
        return "yes" if self.figure <= self.target else "NO"


def number(x: float) -> str:
    """``x`` with three significant digits, and never in exponent notation."""
    if x == 0 or abs(x) >= 1000:
        return f"{x:.0f}"
    text = f"{x:.3g}"
    return f"{x:.6f}".rstrip("0") if "e" in text else text


def duration(seconds: float) -> str:
    """A duration in the unit that keeps it readable (µs, ms or s)."""
    if seconds < 1e-3:
        return f"{number(seconds * 1e6)} µs"
    if seconds < 1:
        return f"{number(seconds * 1e3)} ms"
    return f"{number(seconds)} s"


HEADERS = ("case", "tensorrag", "baseline (same run)", "figure", "target", "ok")


def cells(row: Row) -> tuple[str, ...]:
    """The row's cells under :data:`HEADERS` (its note is printed after them)."""
    missing = "n/a" if row.unit else ""  # a row without a unit is a sub-row of text, not a figure
    figure = missing if row.figure is None else f"{number(row.figure)} {row.unit}".rstrip()
    target = "" if row.target is None else f"≤ {number(row.target)} {row.unit}".rstrip()
    return row.case, row.value, row.baseline, figure, target, row.ok if row.unit else ""


def render(rows: list[Row]) -> str:
    """The table as text: a header, a rule, one line per row; columns as wide as their widest cell, notes last."""
    body = [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in [HEADERS, *body]) for i in range(len(HEADERS))]
    width = sum(widths) + len(widths) - 1

    def line(values: tuple[str, ...], note: str = "") -> str:
        text = " ".join(f"{cell:<{w}}" for cell, w in zip(values, widths, strict=True))
        return f"{text}  {note}".rstrip() if note else text.rstrip()

    return "\n".join([line(HEADERS), "-" * width, *(line(c, row.note) for c, row in zip(body, rows, strict=True))])
