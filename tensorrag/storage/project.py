"""``ProjectStore``: the store of one project, ``{root}/{user}/workspace/{project}`` (design.md §5).

:meth:`ArtifactStore.project <tensorrag.storage.store.ArtifactStore.project>` returns one, so
callers tell a project store from a plain root with ``isinstance(store, ProjectStore)`` instead of
guessing from its URL. The layout inside it (cache entries, previews, runs, ``_pipeline.json``,
``_history/``) is :class:`~tensorrag.storage._layout.StoreLayout`, which every store shares.
"""

from __future__ import annotations

from typing import Any

from tensorrag.storage.store import ArtifactStore

__all__ = ["ProjectStore"]


class ProjectStore(ArtifactStore):
    """The store of one project, made by :meth:`ArtifactStore.project`.

    Attributes:
        project_name: the project's name (its folder under ``{user}/workspace/``).
    """

    project_name: str

    def scoped(self, *parts: str) -> ArtifactStore:
        """A plain child store rooted at ``root/part/...`` (a folder inside a project is not a project).

        Raises:
            UnsafePathError: a part is not a safe relative path.
        """
        return self._child(ArtifactStore, parts) if parts else self

    def __reduce__(self) -> tuple[Any, ...]:
        # The wire form is URL + options, which names no project: it reopens as a plain store.
        return (ArtifactStore, (self.url, self.options))
