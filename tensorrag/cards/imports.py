"""First imports from card threads, made safe for any module.

**The race.** Cards run in threads of one process. When two threads import a package with
circular imports for the first time at once (``sklearn``, ``torch``, ``transformers``, or any
package whose modules import each other), each holds some of the package's per-module import
locks and waits for the other's. CPython detects that deadlock and breaks it by handing one
thread the *partially initialised* module, so the card fails with ``ImportError: cannot import
name 'clone' from partially initialized module 'sklearn.base'``.

**The guard.** One process-wide re-entrant lock (the *guard*) makes first imports from card
threads mutually exclusive, for every module, with no list of known libraries:

* *Where it hooks.* CPython's import machinery calls two functions of ``importlib._bootstrap``
  by attribute name whenever a module is not yet complete: ``_find_and_load`` (the module is not
  in ``sys.modules``, or is still initialising) and ``_lock_unlock_module`` (the module is in
  ``sys.modules`` but another thread is still running its body). Every way of importing reaches
  them: the ``import`` statement (with or without ``from ... import``, absolute or relative, as
  both resolve to an absolute name first), ``builtins.__import__``, ``importlib.import_module``
  (even a copy bound before the guard was installed), the C API (``PyImport_Import*``, so C and
  Cython extensions), and ``from package import submodule`` (which imports the submodule through
  ``_find_and_load``). :func:`install` wraps the two; the wrappers take the guard and then call the
  originals.
* *Fast path.* An import of a module that is already complete never reaches either function (the
  C code checks ``sys.modules`` and ``__spec__._initializing`` first), so it costs nothing: the
  cards' real work, and their imports of modules already loaded, never wait for the guard. Only
  first imports are serialised.
* *Who waits.* Only threads inside :func:`guard_imports` wait: ``run_task`` enters it for each
  task, so every card thread does. Other threads (the notebook's main thread, threads a card or a
  module starts) import as plain Python does. A thread of your own that imports while cards run
  may enter :func:`heavy_imports` (the same context manager) to join in.
* *Installed once*, on the first task (or :func:`heavy_imports` block), and never removed; a
  no-op when ``TENSORRAG_IMPORT_GUARD=false``.

**Deadlocks.** Guarded threads cannot deadlock on each other: a guarded thread takes the guard
before any module lock (the wrappers run before the original takes one), and takes module locks
only while it holds the guard, so a thread waiting for the guard holds no module lock another
guarded thread could want. Two cases are handled on purpose:

* *Module code that starts a thread which imports* (and waits for it): the new thread is not
  guarded, so it never waits for the guard its starter holds, exactly as without the guard.
* *A guarded thread already inside an import that did not pass through the guard* (``importlib``
  ``reload``, a legacy ``load_module``): it owns a module lock, so waiting for the guard could
  deadlock with the holder waiting for that module lock. Such a thread goes on without the guard
  (the race, not a hang, is the worst case there).

A fork while another thread holds the guard would leave the child's guard locked forever, so
the child gets a fresh one. If a Python version lacks the two hook points, :func:`install` warns
once and cards import without the guard.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["guard_imports", "heavy_imports", "install"]

_bootstrap: Any = sys.modules["_frozen_importlib"]  # what importlib._bootstrap is, and what C calls into
_HOOKS = ("_find_and_load", "_lock_unlock_module")

_lock = threading.RLock()  # the guard
_local = threading.local()  # .depth: guard_imports() nesting; .held: times this thread holds the guard
_install_lock = threading.Lock()
_installed: bool | None = None  # None: not tried yet; False: disabled or unsupported
_original: dict[str, Callable[..., Any]] = {}


def install() -> bool:
    """Put the guard into the import system (once per process); whether it is active.

    Raises:
        ConfigError: ``TENSORRAG_IMPORT_GUARD`` is not a boolean.
    """
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        if not get_settings().import_guard:
            _installed = False
            return False
        if not all(callable(getattr(_bootstrap, name, None)) for name in _HOOKS):
            warnings.warn(
                f"tensorrag cannot guard first imports on Python {sys.version.split()[0]} "
                "(importlib._bootstrap has no _find_and_load/_lock_unlock_module); cards that import "
                "the same package for the first time at once may fail. Import it before the run.",
                RuntimeWarning,
                stacklevel=2,
            )
            _installed = False
            return False
        _original.update({name: getattr(_bootstrap, name) for name in _HOOKS})
        _bootstrap._find_and_load = _find_and_load
        _bootstrap._lock_unlock_module = _lock_unlock_module
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _installed = True
        return True


class guard_imports:  # lower case: used like the context-manager function it was
    """First imports this thread makes in the block wait for the process-wide guard (re-entrant).

    Also a decorator (``run_task`` wears it). Imports of modules already loaded never wait. A
    plain class, not ``@contextmanager``: it wraps every task, and a generator per call costs.
    """

    __slots__ = ("_depth",)

    def __enter__(self) -> None:
        self._depth = _enter()

    def __exit__(self, *exc: object) -> None:
        _local.depth = self._depth

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Guard every call of ``fn``."""

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            depth = _enter()
            try:
                return fn(*args, **kwargs)
            finally:
                _local.depth = depth

        return guarded


def _enter() -> int:
    if _installed is None:
        install()
    depth: int = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    return depth


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Guard this thread's first imports for the block; inside a card it changes nothing.

    Cards no longer need it: every card thread is guarded for any module (see the module
    docstring). It stays for code written against the old opt-in lock, and for threads of your
    own that import while cards run::

        with tensorrag.cards.heavy_imports():
            from sklearn.ensemble import RandomForestClassifier
    """
    with guard_imports():
        yield


def _find_and_load(name: str, import_: Callable[..., Any]) -> Any:
    if getattr(_local, "depth", 0) and not _complete(name):
        with _holding():
            return _original["_find_and_load"](name, import_)
    return _original["_find_and_load"](name, import_)


def _lock_unlock_module(name: str) -> None:
    if getattr(_local, "depth", 0):
        with _holding():  # the thread running the module's body holds the guard: wait for it here
            _original["_lock_unlock_module"](name)
        return
    _original["_lock_unlock_module"](name)


def _complete(name: str) -> bool:
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


@contextmanager
def _holding() -> Iterator[None]:
    held = getattr(_local, "held", 0)
    if held == 0 and _owns_module_lock():
        yield  # inside an import that bypassed the guard: waiting now could deadlock (see docstring)
        return
    _lock.acquire()
    _local.held = held + 1
    try:
        yield
    finally:
        _local.held = held
        _lock.release()


def _owns_module_lock() -> bool:
    me = threading.get_ident()
    try:
        refs = list(getattr(_bootstrap, "_module_locks", {}).values())  # only imports in progress
    except RuntimeError:  # changed while copied (free-threaded builds)
        return False
    return any(getattr(ref(), "owner", None) == me for ref in refs)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread may have held the old one; it does not exist here
    for _ in range(getattr(_local, "held", 0)):
        _lock.acquire()
