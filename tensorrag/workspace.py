"""Workspaces and projects: saved pipelines, custom card files and run history in one store.

A :class:`Workspace` is a storage root plus a user; a :class:`Project` is one folder in it
(design.md §5)::

    {root}/{user}/workspace/{project}/_pipeline.json        the saved graph (+ _history/ versions)
    {root}/{user}/workspace/{project}/cards/**.py            the project's card files
    {root}/{user}/workspace/{project}/runs/{run_id}.json     run manifests
    {root}/{user}/workspace/{project}/artifacts/{key}/...    outputs and cache entries

::

    ws = tr.Workspace("s3://bucket/tensorrag", user="default")   # or a path; None = configured store
    proj = ws.create_project("image-classification")
    proj.write_card("data/load_images.py", source)               # validated by reading its AST
    p = tr.Pipeline("train", project=proj)                         # built-in + this project's cards
    run = p.run()                                                  # artifacts and manifest under the project
    proj.save_pipeline(p); proj.history(); proj.runs()

**Card files are never executed to register them.** Each file under ``cards/`` is validated by
:func:`~tensorrag.cards.validate.validate_card_source` (which only reads the syntax tree); a valid
file becomes a generated :class:`ProjectCard` subclass that carries the literal attributes read
from the file (``card_type``, ports, ``config_schema``, ``resources``, ...) and the file's source.
The source runs only when a node of that type executes — in the worker, in a module namespace of
its own (:func:`tensorrag.executors.runtime.resolve_card`). The card's fingerprint is a hash of
the source, so editing a card file invalidates the cached results of the old code.

Every project has its own registry (a child of the global one), so two projects may define the
same ``card_type`` differently and both work in one process. Every name and path a user gives
(user, project, card path, run id, history version) is checked before it touches storage
(:class:`~tensorrag.errors.UnsafePathError`): nothing typed can escape the project folder.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tensorrag.cards.base import BaseCard
from tensorrag.cards.validate import ValidationIssue, ValidationResult, decode_card_source, validate_card_source
from tensorrag.config import get_settings
from tensorrag.errors import (
    ArgumentError,
    ArtifactNotFoundError,
    CardDefinitionError,
    CardFileTooLargeError,
    SpecError,
    StorageError,
    UnknownCardTypeError,
    UnsafePathError,
)
from tensorrag.executors.liveness import effective_status, run_summary
from tensorrag.pipeline import Pipeline
from tensorrag.registry import Registry, card_registry
from tensorrag.spec import GraphSpec, safe_repr
from tensorrag.storage import ArtifactStore, open_store, safe_name, safe_relpath

if TYPE_CHECKING:
    import os

__all__ = ["MAX_CARD_PATH", "Project", "ProjectCard", "Workspace", "check_card_path"]

log = logging.getLogger(__name__)

#: Longest card path (relative to ``cards/``) accepted by :func:`check_card_path`.
MAX_CARD_PATH = 512
#: Deepest folder nesting of a card path.
MAX_CARD_DEPTH = 16

_CARDS = "cards"
_PIPELINE = "_pipeline.json"


# --------------------------------------------------------------------------- names and paths


def check_card_path(path: str) -> str:
    r"""Check a card file path (relative to the project's ``cards/`` folder) and normalise it.

    Allowed: a relative POSIX path of safe segments (letters, digits, ``.``, ``_``, ``-``, spaces;
    see :func:`tensorrag.storage.safe_relpath`) ending in ``.py``, at most 512 characters and 16
    levels deep. Rejected with a clear message: ``..``, absolute paths, ``\``, drive letters,
    URLs, ``~``, NUL and control characters, hidden files, empty segments, other extensions.

    Returns:
        The normalised path (one trailing ``/`` dropped).

    Raises:
        UnsafePathError: ``path`` is not an acceptable card path.
    """
    if not isinstance(path, str):
        raise UnsafePathError(f"A card path must be a string; got {type(path).__name__} {safe_repr(path)}.")
    if len(path) > MAX_CARD_PATH:
        raise UnsafePathError(
            f"Unsafe card path {path[:60]!r}... ({len(path)} characters): at most {MAX_CARD_PATH} allowed."
        )
    norm = safe_relpath(path, "card path")
    if not norm.endswith(".py") or norm.rsplit("/", 1)[-1] == ".py":
        raise UnsafePathError(
            f"Card path {path!r} must name a .py file (like 'data/load_images.py'); only Python card files "
            "live under cards/."
        )
    if norm.count("/") >= MAX_CARD_DEPTH:
        raise UnsafePathError(f"Card path {path!r} is {norm.count('/') + 1} levels deep; at most {MAX_CARD_DEPTH}.")
    return norm


def _check_folder(path: str) -> str:
    if not isinstance(path, str):
        raise UnsafePathError(f"A card folder must be a string; got {type(path).__name__} {safe_repr(path)}.")
    if len(path) > MAX_CARD_PATH:
        raise UnsafePathError(f"Unsafe card folder ({len(path)} characters): at most {MAX_CARD_PATH} allowed.")
    return safe_relpath(path, "card folder")


# --------------------------------------------------------------------------- cards from files


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
        __tensorrag_project__: the project's name.
    """

    __tensorrag_source__: ClassVar[str] = ""
    __tensorrag_path__: ClassVar[str] = ""
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
                from tensorrag.executors.runtime import resolve_card

                real = resolve_card({"card_type": cls.card_type, "source": cls.__tensorrag_source__})
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
        "__module__": __name__,
        "__qualname__": result.class_name,
        "__doc__": doc or schema["description"],
        "__tensorrag_source__": source,
        "__tensorrag_path__": path,
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


# --------------------------------------------------------------------------- workspace


class Workspace:
    """The projects of one user in one storage root.

    Args:
        url: storage root: a local path, any fsspec URL (``s3://bucket/prefix``), an open
            :class:`~tensorrag.storage.ArtifactStore`, or ``None`` for the configured store
            (``TENSORRAG_STORAGE`` / ``STORAGE_DIR`` / ``S3_*``; see :func:`tensorrag.storage.open_store`).
        user: the user folder (default ``TENSORRAG_USER`` / ``DEFAULT_USER_ID`` / ``"default"``).
        **storage_options: fsspec options (``key``, ``secret``, ``client_kwargs={"endpoint_url": ...}``).

    Raises:
        UnsafePathError: ``user`` is not a safe name.
        StorageError: the storage cannot be opened.
    """

    def __init__(
        self, url: str | os.PathLike[str] | ArtifactStore | None = None, user: str | None = None, **storage_options: Any
    ) -> None:
        self.store: ArtifactStore = open_store(url, **storage_options)
        self.user: str = safe_name(get_settings().user if user is None else user, "user")
        self._projects = self.store.scoped(self.user, "workspace")

    @property
    def url(self) -> str:
        """The storage root URL."""
        return self.store.url

    def __repr__(self) -> str:
        return f"Workspace({self.store.url!r}, user={self.user!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workspace):
            return NotImplemented
        return self.store == other.store and self.user == other.user

    def __hash__(self) -> int:
        return hash((self.store.url, self.user))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return self._projects.exists(safe_name(name, "project"))
        except UnsafePathError:
            return False

    def list_projects(self) -> list[str]:
        """The project names, sorted.

        Raises:
            StorageError: the store could not be listed (typed: unreachable server, no access, ...).
        """
        names = set()
        for name in self._projects.list_folders():
            try:
                names.add(safe_name(name, "project"))
            except UnsafePathError:
                continue  # not made by tensorrag; never offered as a project
        return sorted(names)

    def create_project(self, name: str, *, exist_ok: bool = False) -> Project:
        """Create the project ``name`` (with an empty saved pipeline) and return it.

        Raises:
            UnsafePathError: ``name`` is not a safe project name.
            StorageError: the project exists and ``exist_ok`` is False.
        """
        name = safe_name(name, "project")
        project = Project(self, name)
        if self._projects.exists(name):
            if not exist_ok:
                raise StorageError(
                    f"Project {name!r} already exists in {self._projects.url}. Open it with "
                    "workspace.project(name), or pass exist_ok=True."
                )
            return project
        project.store.write_json(_PIPELINE, Pipeline(name).to_dict(), indent=2)
        return project

    def project(self, name: str, *, create: bool = False) -> Project:
        """Open the existing project ``name`` (``create=True`` creates it when missing).

        Raises:
            UnsafePathError: ``name`` is not a safe project name.
            ArtifactNotFoundError: no such project (the message lists close names).
        """
        name = safe_name(name, "project")
        if self._projects.exists(name):
            return Project(self, name)
        if create:
            return self.create_project(name, exist_ok=True)
        raise self._missing(name)

    def delete_project(self, name: str, *, missing_ok: bool = False) -> None:
        """Delete the project ``name`` and everything in it (cards, pipelines, runs, artifacts).

        Raises:
            UnsafePathError: ``name`` is not a safe project name.
            ArtifactNotFoundError: no such project (unless ``missing_ok``).
        """
        name = safe_name(name, "project")
        try:
            self._projects.delete(name, recursive=True)
        except ArtifactNotFoundError:
            if not missing_ok:
                raise self._missing(name) from None

    def _missing(self, name: str) -> ArtifactNotFoundError:
        known = self.list_projects()
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        listing = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none"
        return ArtifactNotFoundError(
            f"No project {name!r} for user {self.user!r} in {self.store.url}.{hint} Projects: {listing}. "
            "Create it with workspace.create_project(name)."
        )


# --------------------------------------------------------------------------- project


class Project:
    """One project: a saved pipeline (with history), card files, runs and artifacts.

    Open one with :meth:`Workspace.project` or :meth:`Workspace.create_project`. Pass it to
    ``Pipeline(name, project=proj)`` so the pipeline sees this project's cards and runs store
    their artifacts and manifests here.

    Attributes:
        name: the project name.
        workspace: the workspace it belongs to.
        store: the project's store (``{root}/{user}/workspace/{name}``).
    """

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = safe_name(name, "project")
        self.store: ArtifactStore = workspace.store.project(self.name, workspace.user)
        self._registry = card_registry.child()
        self._lock = threading.RLock()
        self._loaded = False
        self._files: dict[str, type[ProjectCard]] = {}  # card path -> class
        self._errors: dict[str, ValidationResult] = {}  # card path -> why it is not registered

    def __repr__(self) -> str:
        return f"Project({self.name!r}, workspace={self.workspace!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Project):
            return NotImplemented
        return self.workspace == other.workspace and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.workspace, self.name))

    @property
    def url(self) -> str:
        """The project folder's URL."""
        return self.store.url

    # ------------------------------------------------------------------ cards

    @property
    def registry(self) -> Registry:
        """A child of the global card registry holding only this project's cards (loaded on first use)."""
        self._ensure_loaded()
        return self._registry

    @property
    def cards(self) -> dict[str, str]:
        """The card types this project defines -> the path of the file defining each, sorted by type."""
        self._ensure_loaded()
        with self._lock:
            return {cls.card_type: path for path, cls in sorted(self._files.items(), key=lambda kv: kv[1].card_type)}

    @property
    def card_errors(self) -> dict[str, ValidationResult]:
        """Card files that could not be registered (invalid, unreadable, duplicate type) -> why."""
        self._ensure_loaded()
        with self._lock:
            return dict(self._errors)

    def card_problem(self, card_type: str) -> str | None:
        """Why ``card_type`` is missing, when a card file of this project that failed to load explains it.

        Pipelines bound to the project add this to their "Unknown card type" problem, so a syntax
        error in a card file shows up with the file, the line and the message.
        """
        errors = self.card_errors
        own = [(p, r) for p, r in errors.items() if r.card_type == card_type]
        if own:
            path, result = own[0]
            return (
                f"It is declared by card file {_CARDS}/{path} of project {self.name!r}, which is not registered: "
                f"{_issues(result)}. Fix the file (check it with `tensorrag validate`), then call "
                "project.reload_cards()."
            )
        unread = [(p, r) for p, r in errors.items() if r.card_type is None]
        if unread:
            listing = "; ".join(f"{_CARDS}/{p}: {_issues(r)}" for p, r in unread[:3])
            return f"These card files of project {self.name!r} failed to load and may define it: {listing}."
        return None

    def card(self, card_type: str) -> type[ProjectCard]:
        """The class of one of this project's card types (not a built-in).

        Raises:
            UnknownCardTypeError: the project defines no such card type.
        """
        self._ensure_loaded()
        with self._lock:
            for cls in self._files.values():
                if cls.card_type == card_type:
                    return cls
            raise UnknownCardTypeError(card_type, [c.card_type for c in self._files.values()])

    def reload_cards(self) -> dict[str, str]:
        """Re-read every card file from storage (after another process changed them); returns :attr:`cards`."""
        with self._lock:
            self._loaded = False
            self._ensure_loaded()
        return self.cards

    def card_files(self) -> list[str]:
        """Card folders (ending with ``/``) and ``.py`` files under ``cards/``, sorted, paths relative to it."""
        out: set[str] = set()
        for full in self.store.list(_CARDS):
            rel = full[len(_CARDS) + 1 :]
            if not rel.endswith(".py"):
                continue
            out.add(rel)
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]) + "/")
        return sorted(out)

    def read_card(self, path: str) -> str:
        """The source of the card file at ``path`` (relative to ``cards/``).

        Raises:
            UnsafePathError: ``path`` is not an acceptable card path.
            ArtifactNotFoundError: no such file.
        """
        path = check_card_path(path)
        try:
            data = self.store.read_bytes(f"{_CARDS}/{path}")
        except ArtifactNotFoundError:
            files = ", ".join(self._file_names()) or "none"
            msg = f"No card file {path!r} in project {self.name!r}. Card files: {files}."
            raise ArtifactNotFoundError(msg) from None
        return data.decode("utf-8-sig")

    def write_card(self, path: str, source: str | bytes) -> ValidationResult:
        """Validate ``source`` and, when valid, save it as ``cards/{path}`` and register its card type.

        The source is read as a syntax tree only; it is not executed. An invalid file is never
        saved: the result lists every error with its line. A card type defined by another file of
        this project is an error; shadowing a built-in card type is allowed (with a warning).

        Returns:
            The :class:`~tensorrag.cards.validate.ValidationResult` (``.success``, ``.errors``).

        Raises:
            UnsafePathError: ``path`` is not an acceptable card path.
            CardFileTooLargeError: ``source`` is over ``TENSORRAG_MAX_CARD_BYTES`` (nothing is saved).
        """
        path = check_card_path(path)
        if isinstance(source, (bytes, bytearray)):
            decoded = decode_card_source(bytes(source), path)
            if isinstance(decoded, ValidationResult):
                return decoded
            source = decoded
        if not isinstance(source, str):
            raise ArgumentError(f"Card source must be str or bytes; got {type(source).__name__}.")
        source = source.removeprefix("\ufeff")  # saved without it, like a decoded file
        result = validate_card_source(source, filename=path)
        if not result.success:
            return result
        self._ensure_loaded()
        with self._lock:
            card_type = result.card_type
            owner = next((p for p, c in self._files.items() if c.card_type == card_type and p != path), None)
            line = result.line_of("card_type")
            if owner is not None:
                return result.with_issue(
                    ValidationIssue(
                        line,
                        f"card_type {card_type!r} is already defined by {owner!r} in project {self.name!r}; "
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
            cls = _build_class(source, result, path, self.name)
            self.store.write_bytes(f"{_CARDS}/{path}", source.encode())
            self._forget(path)
            self._add(path, cls)
        return result

    def delete_card(self, path: str) -> None:
        """Delete the card file at ``path`` and unregister its card type.

        Raises:
            UnsafePathError: ``path`` is not an acceptable card path.
            ArtifactNotFoundError: no such file.
        """
        path = check_card_path(path)
        try:
            self.store.delete(f"{_CARDS}/{path}")
        except ArtifactNotFoundError:
            raise ArtifactNotFoundError(f"No card file {path!r} in project {self.name!r}.") from None
        with self._lock:
            self._forget(path)

    def delete_folder(self, folder: str) -> None:
        """Delete a card folder, every file in it, and unregister their card types.

        Raises:
            UnsafePathError: ``folder`` is not a safe relative path.
            ArtifactNotFoundError: no such folder.
        """
        folder = _check_folder(folder)
        try:
            self.store.delete(f"{_CARDS}/{folder}", recursive=True)
        except ArtifactNotFoundError:
            raise ArtifactNotFoundError(f"No card folder {folder!r} in project {self.name!r}.") from None
        with self._lock:
            for path in [p for p in self._files if p.startswith(folder + "/")]:
                self._forget(path)
            for path in [p for p in self._errors if p.startswith(folder + "/")]:
                self._errors.pop(path, None)

    def _file_names(self) -> list[str]:
        return [f for f in self.card_files() if not f.endswith("/")]

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for path in list(self._files):
                self._forget(path)
            self._errors.clear()
            for full in self.store.list(_CARDS):
                rel = full[len(_CARDS) + 1 :]
                if rel.endswith(".py"):
                    self._load_file(rel)
            self._loaded = True

    def _load_file(self, path: str) -> None:
        try:
            path = check_card_path(path)
            data = self.store.read_bytes(f"{_CARDS}/{path}")
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
            cls = _build_class(source, result, path, self.name)
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
        log.warning("project %r: card file %r is not registered: %s", self.name, path, problems)

    def _add(self, path: str, cls: type[ProjectCard]) -> None:
        self._files[path] = cls
        self._errors.pop(path, None)
        self._registry.register(cls.card_type, cls, clobber=True)

    def _forget(self, path: str) -> None:
        self._errors.pop(path, None)
        old: type[ProjectCard] | None = self._files.pop(path, None)
        if old is not None:
            card_type = old.card_type
            if self._registry.view.get(card_type) is old:
                self._registry.unregister(card_type)

    # ------------------------------------------------------------------ pipelines

    def save_pipeline(self, pipeline: Pipeline | Mapping[str, Any]) -> str:
        """Save a pipeline (or a graph document) as this project's ``_pipeline.json``; returns its URL.

        Every save is also kept in ``_history/``. The write is atomic, so concurrent saves (from
        several processes) never leave a broken file: the last writer wins and history keeps all.

        Raises:
            SpecError: ``pipeline`` is a malformed document.
        """
        if isinstance(pipeline, Pipeline):
            doc = pipeline.to_dict()
        elif isinstance(pipeline, Mapping):
            doc = GraphSpec.from_dict(dict(pipeline)).to_dict()
        else:
            raise TypeError(f"save_pipeline expects a Pipeline or a graph document; got {type(pipeline).__name__}.")
        return self.store.write_pipeline(doc)

    def load_pipeline(self, version: str | None = None) -> Pipeline:
        """The saved pipeline (or a version from :meth:`history`), bound to this project.

        Returns an empty pipeline named after the project when nothing was saved yet.

        Raises:
            ArtifactNotFoundError: no such history version.
            UnsafePathError: ``version`` is not a safe name.
            StorageError: the saved file is not valid JSON (the message names it and how to recover).
            SpecError: it is JSON but not a pipeline document (same).
        """
        fix = (
            "Open an earlier version with project.load_pipeline(project.history()[1]), or replace it with "
            "project.save_pipeline(pipeline). The project's cards and runs are not affected."
        )
        if version is not None:
            try:
                doc = self.store.read_history(version)
            except ArtifactNotFoundError:
                versions = self.history()
                latest = ", ".join(versions[:5]) + (" ..." if len(versions) > 5 else "") if versions else "none"
                raise ArtifactNotFoundError(
                    f"No saved version {version!r} of project {self.name!r}. Latest versions: {latest}."
                ) from None
        else:
            try:
                doc = self.store.read_pipeline()
            except ArtifactNotFoundError:
                return Pipeline(self.name, project=self)
            except StorageError as exc:
                raise StorageError(f"{exc} {fix}") from None
        try:
            name = doc.get("name") if isinstance(doc, dict) else None
            return Pipeline.from_dict(doc, name=name or self.name, project=self)
        except SpecError as exc:
            which = f"_history/{version}" if version is not None else _PIPELINE
            raise SpecError(f"The saved pipeline {self.store.url}/{which} is malformed: {exc} {fix}") from None

    def history(self) -> list[str]:
        """Names of the saved pipeline versions, newest first (pass one to :meth:`load_pipeline`)."""
        return self.store.pipeline_history()

    def pipeline(self, name: str | None = None) -> Pipeline:
        """A new empty pipeline bound to this project (named after the project by default)."""
        return Pipeline(name or self.name, project=self)

    # ------------------------------------------------------------------ runs

    def runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Summaries of this project's runs (running ones too), newest first.

        Each is ``{"run_id", "pipeline", "status", "started_at", "finished_at", "execution_time",
        "nodes": {node_id: status}, "failed": [node_id, ...]}``. A run whose process died shows as
        ``interrupted`` with a ``"reason"`` (see :mod:`tensorrag.executors.liveness`); a manifest that
        cannot be read shows as ``{"run_id", "status": "unreadable", "error"}``. :meth:`run` has the
        full manifest.
        """
        ids = self.store.list_runs()
        if limit is not None:
            ids = ids[: max(0, limit)]
        out: list[dict[str, Any]] = []
        for run_id in ids:
            try:
                manifest = self.store.read_run(run_id)
            except StorageError as exc:  # one bad file must not hide the other runs
                out.append({"run_id": run_id, "status": "unreadable", "error": str(exc)})
            else:
                out.append(run_summary(run_id, manifest))
        return out

    def run(self, run_id: str) -> dict[str, Any]:
        """The manifest of one run: status, node states, timings, artifact refs, events and graph.

        Raises:
            ArtifactNotFoundError: no such run (the message lists the latest ones).
            UnsafePathError: ``run_id`` is not a safe name.
        """
        manifest = self.store.read_run(run_id)
        if isinstance(manifest, dict):
            status, reason = effective_status(manifest)
            if reason:
                manifest = {**manifest, "status": status, "interrupted": reason}
        return manifest
