"""The original's workspace routes: projects, the saved pipeline, card files and folders, activate, execute."""

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tensorrag.cards.catalog import list_cards
from tensorrag.errors import ArtifactNotFoundError
from tensorrag.server.models import CardPath, CardWrite, PipelineState, ProjectCreate
from tensorrag.server.responses import ERROR_RESPONSES, fail
from tensorrag.server.state import State, User
from tensorrag.spec import GraphSpec
from tensorrag.storage import safe_name
from tensorrag.workspace._project import card_rejection

__all__ = ["router"]

router = APIRouter(prefix="/api/workspace", responses=ERROR_RESPONSES)


@router.get("/projects")
def list_projects(user: User, state: State) -> list[str]:
    """The user's project names, sorted."""
    return state.workspace(user).list_projects()


@router.post("/projects")
def create_project(body: ProjectCreate, user: User, state: State
                   ) -> dict[str, Any]:
    """``{success, name}``; 400 when the name is empty or unsafe, 409 when it exists."""
    name = body.name.strip()
    if not name:
        fail(400, "ProjectNameRequired", "Project name is required: send {\"name\": \"my-project\"}.")
    ws = state.workspace(user)
    safe_name(name, "project")
    if name in ws:
        fail(409, "ProjectExists", f"Project {name!r} already exists; open it, or choose another name.")
    ws.create_project(name, exist_ok=True)
    return {"success": True, "name": name}


@router.delete("/projects/{name}")
def delete_project(name: str, user: User, state: State
                   ) -> dict[str, Any]:
    """``{success: true}`` (also when it did not exist, as the original)."""
    state.workspace(user).delete_project(name, missing_ok=True)
    state.forget_project(user, name)
    return {"success": True}


@router.get("/projects/{name}/pipeline")
def get_pipeline(name: str, user: User, state: State
                 ) -> dict[str, Any]:
    """The saved ``_pipeline.json``, or ``{"nodes": [], "edges": [], "nodeCounter": 0}`` when none was saved."""
    project = state.project(user, name)
    try:
        return project.store.read_pipeline()
    except ArtifactNotFoundError:
        return {"nodes": [], "edges": [], "nodeCounter": 0}


@router.put("/projects/{name}/pipeline")
def put_pipeline(name: str, body: PipelineState, user: User,
                 state: State) -> dict[str, Any]:
    """Save the graph (atomic, with a ``_history/`` version); ``{success: true}``; 400 names the bad node or edge."""
    project = state.project(user, name)
    doc = GraphSpec.from_dict(body.model_dump()).to_dict()  # SpecError -> 400 with where and what
    project.save_pipeline(doc)
    return {"success": True}


@router.get("/projects/{name}/cards")
def card_files(name: str, user: User, state: State
               ) -> list[dict[str, str]]:
    """``[{path, type: "folder" | "file"}]``: folders first, then ``.py`` files, each sorted."""
    return state.project(user, name).card_entries()


@router.post("/projects/{name}/cards/source")
def card_source(name: str, body: CardPath, user: User, state: State
                ) -> dict[str, Any]:
    """``{path, source_code}`` of one card file; 404 when there is none."""
    return {"path": body.path, "source_code": state.project(user, name).read_card(body.path)}


@router.post("/projects/{name}/cards", response_model=None)
def save_card(name: str, body: CardWrite, user: User, state: State
              ) -> dict[str, Any] | JSONResponse:
    """Validate (the syntax tree only, never run) and save: ``{success, card_type, errors}``, or 400 with ``errors``."""
    result = state.project(user, name).write_card(body.path, body.source_code)
    if not result.success:
        return JSONResponse({"detail": card_rejection(body.path, result)}, status_code=400)
    return {"success": True, "card_type": result.card_type, "errors": [i.to_dict() for i in result.errors]}


@router.delete("/projects/{name}/cards")
def delete_card(name: str, body: CardPath, user: User, state: State
                ) -> dict[str, Any]:
    """Delete a card file (and unregister its card type); ``{success: true}``."""
    state.project(user, name).delete_card(body.path)
    return {"success": True}


@router.post("/projects/{name}/cards/folder")
def create_folder(name: str, body: CardPath, user: User, state: State
                  ) -> dict[str, Any]:
    """Create an (empty) card folder, marked by ``{folder}/_keep``; ``{success: true, path}``."""
    return {"success": True, "path": state.project(user, name).create_card_folder(body.path)}


@router.delete("/projects/{name}/cards/folder")
def delete_folder(name: str, body: CardPath, user: User, state: State
                  ) -> dict[str, Any]:
    """Delete a card folder and every card in it; ``{success: true}``."""
    state.project(user, name).delete_folder(body.path)
    return {"success": True}


@router.post("/projects/{name}/activate")
def activate(name: str, user: User, state: State) -> dict[str, Any]:
    """Re-read the project's cards and make them the user's ``/api/cards``; ``{registered, cards, errors}``."""
    project = state.activate(user, name)
    registered = [{"card_type": t, "path": p} for t, p in project.cards.items()]
    errors = {path: [i.to_dict() for i in r.errors] for path, r in project.card_errors.items()}
    return {"registered": registered, "cards": list_cards(project.registry), "errors": errors}


@router.post("/projects/{name}/execute")
def execute_project(name: str, user: User, state: State
                    ) -> dict[str, Any]:
    """Run the saved pipeline (the fork's route): ``{pipeline_id, status, run_id, project_name, nodes_count, ...}``."""
    project = state.project(user, name)
    pipeline = state.custom_cards(user).lend(project.load_pipeline())
    if not len(pipeline):
        fail(400, "EmptyPipeline", f"Project {project.name!r} has no saved pipeline to run: save one with "
             f"PUT /api/workspace/projects/{project.name}/pipeline first.")
    pipeline_id = f"{project.name}_{uuid.uuid4()}"
    run = state.start_run(user, project, pipeline_id, pipeline)
    return {"pipeline_id": pipeline_id, "status": "started", "run_id": run.run_id, "project_name": project.name,
            "nodes_count": len(pipeline), "edges_count": len(pipeline.edges)}
