"""Card classes built from a project's card files, and the per-project bookkeeping of those files.

A valid card file becomes a generated :class:`ProjectCard` subclass carrying the literals the
validator read from its syntax tree; the file's source runs only when a node of that type executes.
:class:`ProjectCardFiles` holds one project's registered files, the files that failed (and why) and
the project's registry, and keeps the three consistent under one lock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tensorrag.cards.base import BaseCard
from tensorrag.cards.validate import ValidationIssue, ValidationResult, decode_card_source, validate_card_source
from tensorrag.errors import (
    CardDefinitionError,
    CardFileTooLargeError,
    StorageError,
    UnknownCardTypeError,
    UnsafePathError,
)
from tensorrag.registry import Registry, card_registry
from tensorrag.storage.paths import check_card_path

if TYPE_CHECKING:
    from tensorrag.storage import ArtifactStore

__all__ = ["CARDS", "ProjectCard", "ProjectCardFiles", "card_class_from_source"]

log = logging.getLogger("tensorrag.workspace")  # the package's logger, the name it had before the split

#: The folder of a project holding its card files.
CARDS = "cards"
#: ``__module__`` of the generated classes: the public package, where they have always claimed to live.
_MODULE = "tensorrag.workspace"


class ProjectCard(BaseCard):
    """Base of the card classes generated from a project's card files (never instantiated by users).

    A subclass carries the literal attributes read from the file's syntax tree and the file's
    source; nothing in the file runs until a node of this type executes. Then :meth:`execute`
    builds the real class from the source (once per process, in a namespace of its own) and
    delegates to it. Out-of-process workers get the source through the task's card reference and
    build the real class themselves.

    Attributes:
        __tensorrag_source__: the card file's source.
        __tensorrag_path__: the file's path under ``cards/``.
        __tensorrag_file__: the file's path in the project (``cards/...``): the filename its code
            runs under, shown in its tracebacks.
        __tensorrag_project__: the project's name.
    """

    __tensorrag_source__: ClassVar[str] = ""
    __tensorrag_path__: ClassVar[str] = ""
    __tensorrag_file__: ClassVar[str] = ""
    __tensorrag_project__: ClassVar[str] = ""

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Run the card file's ``execute`` (the file's source runs now, the first time)."""
        return self._impl().execute(config, inputs, storage)  # type: ignore[no-any-return]

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The card file's ``get_output_preview`` (or the default preview when it defines none)."""
        return self._impl().get_output_preview(outputs, storage)  # type: ignore[no-any-return]

    def _impl(self) -> Any:
        impl = self.__dict__.get("_tr_impl")
        if impl is None:
            impl = self._tr_impl = type(self).real_class()()
        return impl

    @classmethod
    def real_class(cls) -> type[BaseCard]:
        """The class defined by the source: **executes the card file** (once per process).

        Raises:
            CardDefinitionError: the source does not define the class it declared, or its ports
                differ from the ones read from the file (changed at import time).
        """
        real = cls.__dict__.get("_tr_real")
        if real is not None:
            return real  # type: ignore[no-any-return]
        with _REAL_LOCK:
            real = cls.__dict__.get("_tr_real")
            if real is None:
                from tensorrag.executors.runtime import card_ref, resolve_card

                real = resolve_card(card_ref(cls))
                if real.inputs() != cls.inputs() or real.outputs() != cls.outputs():
                    raise CardDefinitionError(
                        f"Card {cls.card_type!r} ({cls.__tensorrag_path__}) changes its ports when it runs: "
                        f"the file declares inputs {cls.inputs()} and outputs {cls.outputs()}, the class has "
                        f"{real.inputs()} and {real.outputs()}. Declare ports as literals in the class body only.",
                        card_type=cls.card_type,
                    )
                cls._tr_real = real  # type: ignore[attr-defined]
        return real  # type: ignore[no-any-return]

    @classmethod
    def _code_identity(cls) -> str:
        digest = hashlib.sha256(cls.__tensorrag_source__.encode()).hexdigest()
        return f"{cls.card_type}\nproject-card-source:{digest}"


ProjectCard.__module__ = _MODULE  # shown and pickled as tensorrag.workspace.ProjectCard, its public name

_REAL_LOCK = threading.RLock()


def card_class_from_source(source: str, path: str = "<card>", project: str = "") -> type[ProjectCard]:
    """Validate card source (by its syntax tree only) and build its :class:`ProjectCard` class.

    Nothing in ``source`` is executed.

    Raises:
        CardDefinitionError: the source is not a valid card file (every error listed with its line).
    """
    result = validate_card_source(source, filename=path).raise_for_errors()
    return _build_class(source, result, path, project)


def _build_class(source: str, result: ValidationResult, path: str, project: str) -> type[ProjectCard]:
    source = source.removeprefix("\ufeff")  # the validator skips a BOM; so must ast.parse and exec here
    schema = result.extracted_schema
    assert schema is not None and result.class_name is not None
    extra = dict(result.literals)  # read by the validator's parse; the source is not parsed again
    doc = extra.pop("__doc__", None)
    namespace: dict[str, Any] = {
        **schema,
        **extra,
        "__module__": _MODULE,
        "__qualname__": result.class_name,
        "__doc__": doc or schema["description"],
        "__tensorrag_source__": source,
        "__tensorrag_path__": path,
        "__tensorrag_file__": f"{CARDS}/{path}",
        "__tensorrag_project__": project,
    }
    cls = cast("type[ProjectCard]", type(result.class_name, (ProjectCard,), namespace))
    cls.check_definition()
    return cls


#: ``card_type = "name"`` at the start of a line, found in files too broken for the validator to read.
_CARD_TYPE_LINE = re.compile(r"""^[ \t]+card_type\s*(?::[^=\n]*)?=\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1""", re.MULTILINE)


def _issues(result: ValidationResult) -> str:
    text = "; ".join(str(i) for i in result.errors if i.severity == "error")
    return text if len(text) <= 300 else text[:297] + "..."


class ProjectCardFiles:
    """One project's card files: the registered classes, the files that failed and why, the registry.

    Files are read from ``store`` on first use (:meth:`ensure_loaded`); every change to the three
    maps happens under one lock, so a registered card type always has exactly one file.

    Args:
        store: the project's store (card files live under ``cards/``).
        project: the project's name, for messages and the generated classes.

    Attributes:
        registry: a child of the global card registry holding only this project's cards.
    """

    def __init__(self, store: ArtifactStore, project: str) -> None:
        self._store = store
        self._project = project
        self.registry: Registry = card_registry.child()
        self._lock = threading.RLock()
        self._loaded = False
        self._files: dict[str, type[ProjectCard]] = {}  # card path -> class
        self._errors: dict[str, ValidationResult] = {}  # card path -> why it is not registered

    def cards(self) -> dict[str, str]:
        """The card types defined -> the path of the file defining each, sorted by type."""
        self.ensure_loaded()
        with self._lock:
            return {cls.card_type: path for path, cls in sorted(self._files.items(), key=lambda kv: kv[1].card_type)}

    def errors(self) -> dict[str, ValidationResult]:
        """Card files that could not be registered -> why (a copy)."""
        self.ensure_loaded()
        with self._lock:
            return dict(self._errors)

    def problem(self, card_type: str) -> str | None:
        """Why ``card_type`` is missing, when a card file that failed to load explains it (else None)."""
        errors = self.errors()
        own = [(p, r) for p, r in errors.items() if r.card_type == card_type]
        if own:
            path, result = own[0]
            return (
                f"It is declared by card file {CARDS}/{path} of project {self._project!r}, which is not registered: "
                f"{_issues(result)}. Fix the file (check it with `tensorrag validate`), then call "
                "project.reload_cards()."
            )
        unread = [(p, r) for p, r in errors.items() if r.card_type is None]
        if unread:
            listing = "; ".join(f"{CARDS}/{p}: {_issues(r)}" for p, r in unread[:3])
            return f"These card files of project {self._project!r} failed to load and may define it: {listing}."
        return None

    def card(self, card_type: str) -> type[ProjectCard]:
        """The class of one of the project's card types.

        Raises:
            UnknownCardTypeError: the project defines no such card type.
        """
        self.ensure_loaded()
        with self._lock:
            for cls in self._files.values():
                if cls.card_type == card_type:
                    return cls
            raise UnknownCardTypeError(card_type, [c.card_type for c in self._files.values()])

    def reload(self) -> None:
        """Forget what was read and read every card file from storage again."""
        with self._lock:
            self._loaded = False
            self.ensure_loaded()

    def write(self, path: str, source: str, result: ValidationResult) -> ValidationResult:
        """Save and register a card file whose ``source`` validated as ``result`` (``path`` already checked).

        Returns:
            ``result``, with an error when another file of the project defines the same card type
            (nothing is saved then) or a warning when it shadows a built-in card type.
        """
        self.ensure_loaded()
        with self._lock:
            card_type = result.card_type
            owner = next((p for p, c in self._files.items() if c.card_type == card_type and p != path), None)
            line = result.line_of("card_type")
            if owner is not None:
                return result.with_issue(
                    ValidationIssue(
                        line,
                        f"card_type {card_type!r} is already defined by {owner!r} in project {self._project!r}; "
                        "rename it or delete that file first",
                    ),
                )
            if card_type in card_registry:
                result = result.with_issue(
                    ValidationIssue(
                        line,
                        f"card_type {card_type!r} shadows a built-in card in this project's pipelines",
                        "warning",
                    ),
                )
            cls = _build_class(source, result, path, self._project)
            self._store.write_bytes(f"{CARDS}/{path}", source.encode())
            self._forget(path)
            self._add(path, cls)
        return result

    def forget(self, path: str) -> None:
        """Unregister the card file at ``path`` (after it was deleted)."""
        with self._lock:
            self._forget(path)

    def forget_folder(self, folder: str) -> None:
        """Unregister every card file under ``folder`` (after it was deleted), failed ones included."""
        with self._lock:
            for path in [p for p in self._files if p.startswith(folder + "/")]:
                self._forget(path)
            for path in [p for p in self._errors if p.startswith(folder + "/")]:
                self._errors.pop(path, None)

    def ensure_loaded(self) -> None:
        """Read every card file from storage, once."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for path in list(self._files):
                self._forget(path)
            self._errors.clear()
            for full in self._store.list(CARDS):
                rel = full[len(CARDS) + 1 :]
                if rel.endswith(".py"):
                    self._load_file(rel)
            self._loaded = True

    def _load_file(self, path: str) -> None:
        try:
            path = check_card_path(path)
            data = self._store.read_bytes(f"{CARDS}/{path}")
        except (UnsafePathError, StorageError) as exc:
            self._reject(path, ValidationResult(False, [ValidationIssue(None, str(exc))], None, path))
            return
        try:
            source = decode_card_source(data, path)
        except CardFileTooLargeError as exc:
            self._reject(path, ValidationResult(False, [ValidationIssue(None, str(exc))], None, path))
            return
        if isinstance(source, ValidationResult):
            self._reject(path, source, data.decode("utf-8", "replace"))
            return
        result = validate_card_source(source, filename=path)
        if not result.success:
            self._reject(path, result, source)
            return
        owner = next((p for p, c in self._files.items() if c.card_type == result.card_type), None)
        if owner is not None:
            issue = ValidationIssue(
                result.line_of("card_type"),
                f"card_type {result.card_type!r} is already defined by {owner!r}; this file is ignored",
            )
            self._reject(path, result.with_issue(issue))
            return
        try:
            cls = _build_class(source, result, path, self._project)
        except CardDefinitionError as exc:
            self._reject(path, result.with_issue(ValidationIssue(None, str(exc))))
            return
        self._add(path, cls)

    def _reject(self, path: str, result: ValidationResult, text: str | None = None) -> None:
        if result.card_type is None and text is not None:  # a file that does not parse: read its card_type line
            match = _CARD_TYPE_LINE.search(text)
            if match:
                result = dataclasses.replace(result, _card_type=match.group(2))
        self._errors[path] = result
        problems = "; ".join(str(i) for i in result.errors if i.severity == "error")
        log.warning("project %r: card file %r is not registered: %s", self._project, path, problems)

    def _add(self, path: str, cls: type[ProjectCard]) -> None:
        self._files[path] = cls
        self._errors.pop(path, None)
        self.registry.register(cls.card_type, cls, clobber=True)

    def _forget(self, path: str) -> None:
        self._errors.pop(path, None)
        old: type[ProjectCard] | None = self._files.pop(path, None)
        if old is not None:
            card_type = old.card_type
            if self.registry.view.get(card_type) is old:
                self.registry.unregister(card_type)
