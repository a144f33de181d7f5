"""``Workspace``: the projects of one user in one storage root (``{root}/{user}/workspace/``)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import ArtifactNotFoundError, StorageError, UnsafePathError, name_list
from tensorrag.pipeline import Pipeline
from tensorrag.storage import ArtifactStore, open_store, safe_name
from tensorrag.workspace._project import PIPELINE_FILE, Project

if TYPE_CHECKING:
    import os

__all__ = ["Workspace"]


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
        project.store.write_json(PIPELINE_FILE, Pipeline(name).to_dict(), indent=2)
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
        listing = name_list(known, most=20)
        return ArtifactNotFoundError(
            f"No project {name!r} for user {self.user!r} in {self.store.url}.{hint} Projects: {listing}. "
            "Create it with workspace.create_project(name)."
        )
