"""What a card's code is: the code fingerprint in every cache key, and a card's current definition.

**Code fingerprint.** :func:`code_text` walks from a card's roots (the class of a ``BaseCard``,
the function of an ``@card``) to the functions and classes they reference by name, transitively
(at most :data:`MAX_OBJECTS`): the names in each function's bytecode (``co_names``, nested code
objects included) and closure, resolved in the function's ``__globals__``. Only objects defined
in the card's own module are followed; module-level constants it reads (numbers, strings,
bytes, booleans, None) are included by value. Everything else a card imports (pandas, a
library of yours in another module) is not covered: see docs/cache.md.

Each object contributes its source (when Python can find it) and a digest of its bytecode (see
:func:`_text`). Nothing is cached per class: a helper redefined in a notebook is a new
function object, found by name on the next walk. Only the text of each object is memoised, keyed by the object itself
(a function by its code object), so a walk costs dictionary lookups once the sources are read.

**Current definition.** A notebook cell that is run again defines a *new* class under the same
module and name; nodes added before still hold the old one. :func:`current_definition` returns
the class that the module-level name refers to now, so a run (or ``Run.resume()``) runs the
code the user sees.
"""

from __future__ import annotations

import inspect
import sys
import types
import weakref
from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import card_class_of, code_digest
from tensorrag.cards.decorator import CardFunction
from tensorrag.errors import CardDefinitionError

if TYPE_CHECKING:
    from tensorrag.cards.base import BaseCard

__all__ = ["MAX_OBJECTS", "code_text", "current_definition"]

#: How many functions/classes one fingerprint follows at most (a bound, not a budget anyone hits).
MAX_OBJECTS = 64

_TEXT: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_CONSTANTS = (int, float, complex, str, bytes, bool, type(None))


def code_text(roots: list[Any], module: str) -> str:
    """The text that identifies ``roots`` and the same-module code they reference (see the module docstring)."""
    seen: set[int] = set()
    parts: list[str] = []
    queue = [_unwrap(r) for r in roots]
    while queue and len(seen) < MAX_OBJECTS:
        obj = queue.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        parts.append(_text(obj))
        for name, value in _references(obj):
            value = _unwrap(value)
            if isinstance(value, _CONSTANTS):
                parts.append(f"{name} = {value!r}"[:10_000])
            elif _followed(value, module) and id(value) not in seen:
                queue.append(value)
    return "\n".join(parts)


def current_definition(cls: type[BaseCard]) -> type[BaseCard] | None:
    """The class now bound to ``cls``'s module-level name, when it differs from ``cls``; else None.

    Classes defined inside functions (``<locals>`` in the qualname) have no such name: None.
    """
    qual = cls.__qualname__
    module = sys.modules.get(cls.__module__)
    if module is None or "<locals>" in qual:
        return None
    obj: Any = module
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    try:
        new = card_class_of(obj)
    except CardDefinitionError:
        return None
    if new is cls or new.card_type != cls.card_type:
        return None
    return new


def _unwrap(obj: Any) -> Any:
    # An @card function stands for its plain function; static/class methods for theirs.
    if isinstance(obj, CardFunction):
        return obj.__wrapped__  # type: ignore[attr-defined]
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__
    return obj


def _followed(value: Any, module: str) -> bool:
    if not (inspect.isfunction(value) or inspect.isclass(value)):
        return False
    return getattr(value, "__module__", None) == module


def _text(obj: Any) -> str:
    # Source *and* bytecode: the source alone can lie (a class's source is found by name in its
    # module's file, so a class redefined in a cell reads as the old one; a file edited on disk
    # without a reload reads as the new code while the old code runs).
    if inspect.isfunction(obj):
        return _memo(obj.__code__, lambda: f"{_source(obj)}\n{code_digest(obj)}")
    methods = [_text(f) for f in _functions_of(obj)]  # per method: a method assigned later counts too
    return "\n".join([_memo(obj, lambda: _source(obj)), *methods])


def _memo(key: Any, compute: Any) -> str:
    try:
        cached = _TEXT.get(key)
    except TypeError:  # not weak-referenceable: compute every time
        return str(compute())
    if cached is None:
        cached = _TEXT[key] = compute()
    return cached


def _source(obj: Any) -> str:
    name = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', '?')}"
    source = getattr(obj, "__tensorrag_source__", None) if inspect.isclass(obj) else None
    if not source:
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError):  # no source file (exec'd code): the bytecode says it all
            source = ""
    return f"{name}\n{source}"


def _functions_of(cls: type) -> list[types.FunctionType]:
    out: list[types.FunctionType] = []
    for value in vars(cls).values():
        if isinstance(value, property):
            out += [f for f in (value.fget, value.fset, value.fdel) if inspect.isfunction(f)]
            continue
        value = _unwrap(value)
        if inspect.isfunction(value):
            out.append(value)
    return out


def _references(obj: Any) -> list[tuple[str, Any]]:
    """(name, object) for each global or closure name the functions of ``obj`` use."""
    functions = _functions_of(obj) if inspect.isclass(obj) else [obj] if inspect.isfunction(obj) else []
    found: list[tuple[str, Any]] = []
    for fn in functions:
        scope = fn.__globals__
        for name in _names(fn.__code__):
            if name in scope:
                found.append((name, scope[name]))
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            try:
                found.append((name, cell.cell_contents))
            except ValueError:  # an empty cell (not assigned yet)
                continue
    return found


def _names(code: types.CodeType) -> list[str]:
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _names(const)
    return names
