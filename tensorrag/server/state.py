"""What one app holds: the storage root, the auth callable, the executor, per-user projects and the run hub."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request  # FastAPI reads the annotations at run time

from tensorrag.config import get_settings
from tensorrag.errors import ArtifactNotFoundError, UnsafePathError
from tensorrag.run import run_pipeline
from tensorrag.server.auth import Auth, resolve_user
from tensorrag.server.custom import CustomCards
from tensorrag.server.hub import RunHub
from tensorrag.server.stored import WORKSPACE_PREFIX, StoredRuns, run_name
from tensorrag.storage import ArtifactStore, safe_name
from tensorrag.workspace import Project, Workspace

if TYPE_CHECKING:
    from tensorrag.executors import Executor
    from tensorrag.pipeline import Pipeline
    from tensorrag.run import Run

__all__ = ["WORKSPACE_PREFIX", "ServerState", "State", "User", "current_user", "get_state"]

#: The fork's ``POST /api/workspace/projects/{name}/execute`` answers ``pipeline_id = "{name}_{uuid4}"``.
_FORK_ID = re.compile(r"(?P<name>.+)_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ServerState:
    """The app's shared state (``app.state.tensorrag``)."""

    def __init__(
        self,
        root: ArtifactStore,
        auth: Auth,
        executor: str | Executor | None,
        *,
        heartbeat_s: float,
        default_project: str,
    ) -> None:
        self.root = root
        self.auth = auth
        self.executor = executor
        self.heartbeat_s = heartbeat_s
        self.default_project = safe_name(default_project, "project")
        self.hub = RunHub()
        self.stored = StoredRuns()
        self._lock = threading.Lock()
        self._workspaces: dict[str, Workspace] = {}
        self._projects: dict[tuple[str, str], Project] = {}
        self._active: dict[str, str] = {}  # user -> the project activated last (its cards are in /api/cards)
        self._custom: dict[str, CustomCards] = {}

    # ------------------------------------------------------------------ workspaces and projects

    def workspace(self, user: str) -> Workspace:
        """The workspace of ``user`` (``{root}/{user}/workspace/``): a user never reaches another's."""
        with self._lock:
            ws = self._workspaces.get(user)
            if ws is None:
                ws = self._workspaces[user] = Workspace(self.root, user=user)
            return ws

    def project(self, user: str, name: str, *, create: bool = False) -> Project:
        """An existing project of ``user`` (kept open, so its card registry is read once).

        Raises:
            UnsafePathError: ``name`` is not a safe project name.
            ArtifactNotFoundError: no such project (the message lists close names).
        """
        name = safe_name(name, "project")
        with self._lock:
            project = self._projects.get((user, name))
        if project is not None and (name in project.workspace or create):
            return project
        project = self.workspace(user).project(name, create=create)
        with self._lock:
            return self._projects.setdefault((user, name), project)

    def custom_cards(self, user: str) -> CustomCards:
        """The user's legacy custom cards (``/api/cards/custom``), kept open so they are read once."""
        with self._lock:
            cards = self._custom.get(user)
            if cards is None:
                cards = self._custom[user] = CustomCards(self.root, user)
            return cards

    def forget_project(self, user: str, name: str) -> None:
        """Drop what is held for a deleted project."""
        with self._lock:
            self._projects.pop((user, name), None)
            if self._active.get(user) == name:
                del self._active[user]
        self.hub.forget_project(user, name)
        self.stored.forget(user, name)

    def activate(self, user: str, name: str) -> Project:
        """Re-read the project's card files and make it the user's active project."""
        project = self.project(user, name)
        project.reload_cards()
        with self._lock:
            self._active[user] = project.name
        return project

    def active(self, user: str) -> Project | None:
        """The user's active project, if it still exists."""
        with self._lock:
            name = self._active.get(user)
        if name is None:
            return None
        try:
            return self.project(user, name)
        except ArtifactNotFoundError:
            return None

    def project_for(self, user: str, pipeline_id: str) -> Project:
        """The project a run of the original's ``/api/pipeline/execute`` belongs to.

        ``workspace__{name}`` (what the original frontend sends) and ``{name}_{uuid4}`` (what the
        fork's project execute answers) are project ``name`` when it exists; any other id runs in the
        user's active project, else in the default project (created when missing).
        """
        fork = _FORK_ID.fullmatch(pipeline_id)
        named = pipeline_id[len(WORKSPACE_PREFIX):] if pipeline_id.startswith(WORKSPACE_PREFIX) else (
            fork.group("name") if fork else None)
        if named is not None:
            try:
                return self.project(user, named)
            except (ArtifactNotFoundError, UnsafePathError):
                pass
        return self.active(user) or self.project(user, self.default_project, create=True)

    # ------------------------------------------------------------------ runs

    def start_run(self, user: str, project: Project, pipeline_id: str, pipeline: Pipeline, **options: Any) -> Run:
        """Run ``pipeline`` in the background through :func:`~tensorrag.run.run_pipeline`; events go to the hub.

        Raises:
            PipelineValidationError: the pipeline (or the part ``targets`` needs) is invalid: nothing runs.
        """
        options.setdefault("save_pipeline", False)  # a run request may be a part of the graph: never overwrite it
        # The manifest's "pipeline" then names the id, so status finds the run after a restart (stored.py).
        pipeline.name = run_name(pipeline_id, project.name, pipeline.name)

        def begin(listener: Any) -> Run:
            return run_pipeline(
                pipeline, executor=self.executor, wait=False, on_event=listener, echo=False, progress=False, **options
            )

        return self.hub.start(user, project.name, pipeline_id, begin)


async def get_state(request: Request) -> ServerState:
    """Dependency: the app's state (and the event loop the run events are handed to)."""
    state: ServerState = request.app.state.tensorrag
    state.hub.bind(asyncio.get_running_loop())
    return state


async def current_user(request: Request) -> str:
    """Dependency: the user id from the app's ``auth`` callable.

    Raises:
        UnauthorizedError: from the auth callable (answered 401).
    """
    state = await get_state(request)
    return await resolve_user(state.auth, request)


def default_user() -> str:
    """The single user of an app without ``auth``: ``TENSORRAG_USER`` / ``DEFAULT_USER_ID`` / ``"default"``."""
    return get_settings().user


#: Route parameter types: the app's state, and the user the ``auth`` callable named.
State = Annotated[ServerState, Depends(get_state)]
User = Annotated[str, Depends(current_user)]
