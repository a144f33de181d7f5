"""``Project``: one project folder of a workspace: its card files, saved pipeline (with history) and runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tensorrag.cards.validate import ValidationResult, decode_card_source, validate_card_source
from tensorrag.errors import (
    ArgumentError,
    ArtifactNotFoundError,
    CardDefinitionError,
    SpecError,
    StorageError,
    name_list,
)
from tensorrag.executors.liveness import effective_status, run_summary
from tensorrag.pipeline import Pipeline
from tensorrag.spec import GraphSpec
from tensorrag.storage import ArtifactStore, safe_name
from tensorrag.storage.paths import check_card_folder, check_card_path
from tensorrag.workspace._cards import CARDS, ProjectCard, ProjectCardFiles

if TYPE_CHECKING:
    from tensorrag.registry import Registry
    from tensorrag.workspace._workspace import Workspace

__all__ = ["KEEP", "PIPELINE_FILE", "Project", "card_rejection"]

#: The project's saved pipeline, relative to its folder.
PIPELINE_FILE = "_pipeline.json"
#: Marks an empty card folder (the original wrote ``.keep``; the store refuses dot names).
KEEP = "_keep"


def card_rejection(path: str, result: ValidationResult) -> dict[str, Any]:
    """Why a card file was not saved, as the server and the notebook editor answer it.

    ``{"type": "CardDefinitionError", "message", "errors": [{"line", "message", "severity"}]}``.
    """
    first = next((i for i in result.errors if i.severity == "error"), None)
    message = f"Card file {path!r} is invalid: {first}" if first else f"Card file {path!r} is invalid."
    return {"type": "CardDefinitionError", "message": message, "errors": [i.to_dict() for i in result.errors]}


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
        self._cards = ProjectCardFiles(self.store, self.name)

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
        self._cards.ensure_loaded()
        return self._cards.registry

    @property
    def cards(self) -> dict[str, str]:
        """The card types this project defines -> the path of the file defining each, sorted by type."""
        return self._cards.cards()

    @property
    def card_errors(self) -> dict[str, ValidationResult]:
        """Card files that could not be registered (invalid, unreadable, duplicate type) -> why."""
        return self._cards.errors()

    def card_problem(self, card_type: str) -> str | None:
        """Why ``card_type`` is missing, when a card file of this project that failed to load explains it.

        Pipelines bound to the project add this to their "Unknown card type" problem, so a syntax
        error in a card file shows up with the file, the line and the message.
        """
        return self._cards.problem(card_type)

    def card(self, card_type: str) -> type[ProjectCard]:
        """The class of one of this project's card types (not a built-in).

        Raises:
            UnknownCardTypeError: the project defines no such card type.
        """
        return self._cards.card(card_type)

    def reload_cards(self) -> dict[str, str]:
        """Re-read every card file from storage (after another process changed them); returns :attr:`cards`."""
        self._cards.reload()
        return self.cards

    def card_files(self) -> list[str]:
        """Card folders (ending with ``/``) and ``.py`` files under ``cards/``, sorted, paths relative to it."""
        out: set[str] = set()
        for full in self.store.list(CARDS):
            rel = full[len(CARDS) + 1 :]
            if not rel.endswith(".py"):
                continue
            out.add(rel)
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]) + "/")
        return sorted(out)

    def card_entries(self) -> list[dict[str, str]]:
        """The card editor's listing: ``[{"path", "type": "folder" | "file"}]``, folders first, each sorted.

        Folders come from the paths of ``.py`` files and from empty folders made by
        :meth:`create_card_folder` (marked by a ``_keep`` file, which is not listed).
        """
        files: list[str] = []
        folders: set[str] = set()
        for full in self.store.list(CARDS):
            rel = full[len(CARDS) + 1 :]
            parts = rel.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
            if rel.endswith(".py"):
                files.append(rel)
        return [{"path": f, "type": "folder"} for f in sorted(folders)] + [
            {"path": f, "type": "file"} for f in sorted(files)
        ]

    def create_card_folder(self, folder: str) -> str:
        """Create an (empty) card folder under ``cards/``; returns its checked path.

        Raises:
            UnsafePathError: ``folder`` is not a safe relative path.
        """
        folder = check_card_folder(folder)
        self.store.write_bytes(f"{CARDS}/{folder}/{KEEP}", b"")
        return folder

    def read_card(self, path: str) -> str:
        """The source of the card file at ``path`` (relative to ``cards/``).

        Raises:
            UnsafePathError: ``path`` is not an acceptable card path.
            ArtifactNotFoundError: no such file.
        """
        path = check_card_path(path)
        try:
            data = self.store.read_bytes(f"{CARDS}/{path}")
        except ArtifactNotFoundError:
            files = ", ".join(self._file_names()) or "none"
            msg = f"No card file {path!r} in project {self.name!r}. Card files: {files}."
            raise ArtifactNotFoundError(msg) from None
        decoded = decode_card_source(data, path)  # the one decoder: typed errors, the BOM dropped
        if isinstance(decoded, ValidationResult):
            problem = decoded.errors[0]
            raise CardDefinitionError(
                f"Card file {path!r} of project {self.name!r} cannot be read: line {problem.line}: {problem.message}. "
                "Save it again as UTF-8 with project.write_card(path, source)."
            )
        return decoded

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
        return self._cards.write(path, source, result)

    def delete_card(self, path: str) -> None:
        """Delete the card file at ``path`` and unregister its card type.

        Raises:
            UnsafePathError: ``path`` is not an acceptable card path.
            ArtifactNotFoundError: no such file.
        """
        path = check_card_path(path)
        try:
            self.store.delete(f"{CARDS}/{path}")
        except ArtifactNotFoundError:
            raise ArtifactNotFoundError(f"No card file {path!r} in project {self.name!r}.") from None
        self._cards.forget(path)

    def delete_folder(self, folder: str) -> None:
        """Delete a card folder, every file in it, and unregister their card types.

        Raises:
            UnsafePathError: ``folder`` is not a safe relative path.
            ArtifactNotFoundError: no such folder.
        """
        folder = check_card_folder(folder)
        try:
            self.store.delete(f"{CARDS}/{folder}", recursive=True)
        except ArtifactNotFoundError:
            raise ArtifactNotFoundError(f"No card folder {folder!r} in project {self.name!r}.") from None
        self._cards.forget_folder(folder)

    def _file_names(self) -> list[str]:
        return [f for f in self.card_files() if not f.endswith("/")]

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
                latest = name_list(versions)
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
            which = f"_history/{version}" if version is not None else PIPELINE_FILE
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
