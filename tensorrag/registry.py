"""Lazy, layered registries of plugins (card types, executors).

An entry is an object or a ``"package.module:Attr"`` string imported on first use (the fsspec
pattern), so registering the built-ins imports nothing heavy. Registries chain: a pipeline's
registry holds the classes registered on it and falls back to its parent (a project's, then the
global one), so two projects may define the same ``card_type`` differently in one process.

Entry points: third-party packages add card types under the group ``tensorrag.cards`` and
executors under ``tensorrag.executors`` (``name = "pkg.module:Attr"``); they are read once, on
the first lookup, and a broken one is skipped with a warning. ``model_format_registry`` maps a
file extension to the reader of a model artifact that is not a pickle (weights + description,
see :mod:`tensorrag.storage.codecs`); it sits here so cards can register and storage can read it.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tensorrag.errors import RegistryError, UnknownCardTypeError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["Registry", "card_registry", "executor_registry", "model_format_registry"]


class Registry:
    """A name -> plugin mapping with lazy imports, install hints and a parent to fall back to.

    Args:
        kind: what the entries are ("card", "executor"), used in messages.
        parent: registry consulted for names this one does not hold.
        entry_point_group: entry-point group read on first use (top-level registries only).
    """

    def __init__(self, kind: str, parent: Registry | None = None, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self._entries: dict[str, Any] = {}  # internal, mutable
        self._hints: dict[str, str] = {}
        self._paths: dict[str, str] = {}  # lazy "module:Attr" strings, kept after they resolve
        self._group = entry_point_group
        self._loaded_eps = entry_point_group is None
        self._lock = threading.RLock()

    def register(self, name: str, obj: Any, *, clobber: bool = False, hint: str | None = None) -> None:
        """Add ``name``; ``obj`` is the plugin or a ``"pkg.mod:Attr"`` string.

        Raises:
            RegistryError: ``name`` is taken by another plugin and ``clobber`` is False.
        """
        with self._lock:
            current = self._entries.get(name)
            same_path = isinstance(obj, str) and self._paths.get(name) == obj
            if current is not None and not clobber and not same_path and current is not obj and current != obj:
                raise RegistryError(
                    f"A {self.kind} named {name!r} is already registered ({_describe(current)}); "
                    f"pass clobber=True to replace it."
                )
            if same_path and not isinstance(current, str):
                return  # the same lazy plugin, already imported: keep the imported object
            self._entries[name] = obj
            if isinstance(obj, str):
                self._paths[name] = obj
            else:
                self._paths.pop(name, None)
            if hint:
                self._hints[name] = hint

    def unregister(self, name: str) -> None:
        """Remove ``name`` from this registry (not from parents)."""
        with self._lock:
            self._entries.pop(name, None)
            self._hints.pop(name, None)
            self._paths.pop(name, None)

    def get(self, name: str) -> Any:
        """The plugin registered as ``name`` here or in a parent, imported if needed.

        Raises:
            UnknownCardTypeError: (for card registries) no such name, with did-you-mean.
            RegistryError: no such name, or its module failed to import (with the install hint).
        """
        reg: Registry | None = self
        while reg is not None:
            reg._load_entry_points()
            with reg._lock:
                entry = reg._entries.get(name)
            if entry is not None:
                if isinstance(entry, str):
                    entry = reg._resolve(name, entry)
                return entry
            reg = reg.parent
        if self.kind == "card":
            raise UnknownCardTypeError(name, self.names())
        raise RegistryError(f"Unknown {self.kind} {name!r}. Available: {', '.join(self.names()) or 'none'}.")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def names(self) -> list[str]:
        """Every registered name, here and in parents, sorted."""
        seen: set[str] = set()
        reg: Registry | None = self
        while reg is not None:
            reg._load_entry_points()
            with reg._lock:
                seen.update(reg._entries)
            reg = reg.parent
        return sorted(seen)

    def own_names(self) -> list[str]:
        """Names registered on this registry itself (not its parents)."""
        self._load_entry_points()
        with self._lock:
            return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, plugin)`` pairs for every name, nearest registry first, imported."""
        for name in self.names():
            yield name, self.get(name)

    @property
    def view(self) -> Mapping[str, Any]:
        """A read-only view of this registry's own entries (strings not yet imported)."""
        self._load_entry_points()
        return MappingProxyType(self._entries)

    def child(self) -> Registry:
        """A new empty registry that falls back to this one."""
        return Registry(self.kind, parent=self)

    def _resolve(self, name: str, path: str) -> Any:
        module_name, _, attr = path.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except ImportError as exc:
            hint = self._hints.get(name)
            raise RegistryError(
                f"The {self.kind} {name!r} needs {exc.name or module_name!r}, which is not installed."
                + (f" Install it with: {hint}" if hint else "")
            ) from exc
        except AttributeError as exc:
            raise RegistryError(f"The {self.kind} {name!r} points to {path!r}, which does not exist.") from exc
        with self._lock:
            if self._entries.get(name) == path:
                self._entries[name] = obj
        return obj

    def _load_entry_points(self) -> None:
        if self._loaded_eps:
            return
        with self._lock:
            if self._loaded_eps:
                return
            self._loaded_eps = True
            from importlib.metadata import entry_points

            for ep in entry_points(group=self._group or ""):
                try:
                    self._entries.setdefault(ep.name, ep.value)
                except Exception as exc:  # a broken plugin must not break tensorrag
                    warnings.warn(f"Skipping {self.kind} entry point {ep.name!r}: {exc}", stacklevel=2)


def _describe(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


#: Global card registry: built-ins, entry points and cards registered with ``tensorrag.register``.
card_registry = Registry("card", entry_point_group="tensorrag.cards")
#: Global executor registry (``local``, ``process``, ``modal``, ``auto`` and plugins).
executor_registry = Registry("executor", entry_point_group="tensorrag.executors")
#: Model artifact formats that are not pickles: file extension -> ``read(data: bytes) -> object``.
model_format_registry = Registry("model format", entry_point_group="tensorrag.model_formats")
