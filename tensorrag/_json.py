"""Plain JSON, strictly: the one reader of documents and the one walk that checks JSON-like values.

:func:`load_json` parses ``_pipeline.json`` files and other documents (UTF-8, bounded nesting and
integers, no NaN/Infinity, no lone surrogates); :func:`json_problem` checks values built in Python
the same way, iteratively; :func:`safe_repr` prints any user value in a message without raising.
Re-exported by :mod:`tensorrag.spec`.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from typing import Any

from tensorrag.errors import SpecError

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "canonical_json", "json_problem", "load_json", "safe_repr"]

#: Deepest nesting a graph document may have (a node's config starts 4 levels down).
MAX_DEPTH = 128
#: Longest integer a document may hold, in digits (Python refuses to print longer ones).
MAX_INT_DIGITS = 4000


def load_json(data: str | bytes | bytearray | memoryview, where: str = "the document") -> Any:
    """Parse JSON text strictly: the one reader of ``_pipeline.json`` files and other documents.

    Bytes must be UTF-8 (a leading BOM is allowed). ``NaN``/``Infinity``, numbers out of float
    range, integers over :data:`MAX_INT_DIGITS` digits, lone surrogates and nesting deeper than
    :data:`MAX_DEPTH` are refused, so what loads can always be saved again.

    Args:
        data: the JSON text.
        where: what ``data`` is (a file name or URL), for the messages.

    Raises:
        SpecError: the text is not such JSON; the message says where and why.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise SpecError(
                f"{where} is not valid UTF-8 ({exc.reason} at byte {exc.start}, line {line}); save it as UTF-8."
            ) from None
    elif isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        raise SpecError(f"{where}: expected JSON text (str or bytes); got {_kind(data)}.")
    # Only a large exponent or a 200-digit literal can overflow a float: skip the per-number hook otherwise.
    floats = _parse_float if _BIG_FLOAT.search(text) else None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int, parse_float=floats)
    except RecursionError:
        raise SpecError(f"{where} is nested too deeply (at most {MAX_DEPTH} levels).") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except _NotJson as exc:
        raise SpecError(f"{where} is not valid JSON: {exc}.") from None
    walk = _walk_needed(text, from_bytes=not isinstance(data, str))
    bad = json_problem(value, "", MAX_DEPTH) if walk else None
    if bad is not None:
        raise SpecError(f"{where} is not valid JSON: {bad[0] or 'the document'} {bad[1]}.")
    return value


def canonical_json(value: Any) -> str:
    """``value`` as compact JSON with sorted keys (anything else as ``str``): the text a cache key hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def json_problem(value: Any, path: str = "", max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """The first part of ``value`` that is not plain JSON, as ``(path, what is wrong)``; None when all is.

    Plain JSON: dicts with string keys, lists (tuples too), strings without lone surrogates,
    booleans, None, integers up to :data:`MAX_INT_DIGITS` digits and finite floats, nested at
    most ``max_depth`` levels. Walks iteratively, so no input can exhaust the stack.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            bad = _surrogate(item)
            if bad:
                return where, bad
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if item.bit_length() > MAX_INT_DIGITS * 3.32:
                return where, f"is an integer with more than {MAX_INT_DIGITS} digits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return where, f"is {item!r}, which is not a JSON number (use a finite number or null)"
        elif isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                return _short(where), f"is nested too deeply (at most {max_depth} levels)"
            if isinstance(item, dict):
                for k, v in item.items():
                    if not isinstance(k, str):
                        return where, f"has the key {k!r}; JSON object keys must be strings"
                    bad = _surrogate(k)
                    if bad:
                        return f"{where}.{k!a}", f"(a key) {bad}"
                    stack.append((v, f"{where}.{k}" if where else k, depth + 1))
            else:
                stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
        else:
            return where, (
                f"holds {_kind(item)}, which is not a JSON value (strings, numbers, booleans, null, lists, objects)"
            )
    return None


class _NotJson(ValueError):
    pass


# A float overflows only at a magnitude of 1e308: an exponent of 100 or more, or (with an exponent
# under 100) at least 209 integer digits. Only such text needs the per-number check.
_BIG_FLOAT = re.compile(r"\d[eE]\+?0*[1-9]\d{2}|\d{200}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _walk_needed(text: str, *, from_bytes: bool) -> bool:
    r"""Whether the parsed value could break a rule ``json.loads`` itself does not check.

    Those are depth and lone surrogates: no value nests deeper than the text has brackets, and a
    lone surrogate comes only from a ``\udXXX`` escape or (in str input) the text itself. Cache
    entries and manifests pass both tests, so the store reads them without a second walk.
    """
    if text.count("{") + text.count("[") > MAX_DEPTH or _SURROGATE_ESCAPE.search(text):
        return True
    return not from_bytes and _surrogate(text) is not None


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number (use a finite number or null)")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NotJson(f"an integer has {len(text)} digits; at most {MAX_INT_DIGITS} are allowed")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"the number {text[:40]} is out of range")
    return value


def _short(path: str) -> str:
    return path if len(path) <= 80 else f"{path[:40]}...{path[-30:]}"


def _surrogate(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode text (a lone surrogate {text[exc.start]!a} at index {exc.start})"
    return None


def safe_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for messages: shortened, and never raising (deep nesting, 5000-digit ints, bad ``__repr__``)."""
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother, short.maxlong = 3, limit, limit, limit
    try:
        text = short.repr(value)
    except Exception:  # an int too long to print, or a user object whose __repr__ fails
        text = f"<{value.bit_length()}-bit number>" if isinstance(value, int) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {safe_repr(value)}"
