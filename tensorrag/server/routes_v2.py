"""``/api/v2``: what the original's API is too weak for: run list, manifests, cancel, resume, problems, history."""

from typing import Any

from fastapi import APIRouter

from tensorrag.errors import TensorragError
from tensorrag.pipeline import Pipeline
from tensorrag.run import Run
from tensorrag.server.models import RunRequest, ValidateRequest
from tensorrag.server.responses import ERROR_RESPONSES, fail, problem_lines
from tensorrag.server.state import WORKSPACE_PREFIX, State, User
from tensorrag.storage import safe_name
from tensorrag.workspace import Project

__all__ = ["router"]

router = APIRouter(prefix="/api/v2/projects/{name}", responses=ERROR_RESPONSES)


def _started(run: Run, pipeline_id: str, project: Project, **extra: Any) -> dict[str, Any]:
    return {"run_id": run.run_id, "pipeline_id": pipeline_id, "project_name": project.name, "status": run.state,
            **extra}


@router.get("/runs")
def runs(name: str, user: User, state: State, limit: int | None = None) -> list[dict[str, Any]]:
    """The project's runs, newest first: ``[{run_id, pipeline, status, started_at, finished_at, nodes, failed}]``."""
    return state.project(user, name).runs(limit=limit)


@router.post("/runs", status_code=202)
def start(name: str, user: User, state: State, body: RunRequest | None = None) -> dict[str, Any]:
    """Run the saved pipeline (or ``pipeline``) with ``targets``/``rerun``/``cache``/``fail_fast``.

    Events go to ``/ws/pipeline/{pipeline_id}`` (default ``workspace__{name}``, the original
    frontend's channel). 400 with ``problems`` when the pipeline is invalid.
    """
    body = body or RunRequest()
    project = state.project(user, name)
    if body.pipeline is not None:
        pipeline = Pipeline.from_dict(body.pipeline, name=project.name, project=project)
    else:
        pipeline = project.load_pipeline()
    if not len(pipeline):
        fail(400, "EmptyPipeline", f"Project {project.name!r} has no saved pipeline to run: save one first or send "
             "{\"pipeline\": {...}}.")
    pipeline_id = body.pipeline_id or f"{WORKSPACE_PREFIX}{project.name}"
    run = state.start_run(user, project, pipeline_id, pipeline, targets=body.targets, rerun=body.rerun,
                          cache=body.cache, fail_fast=body.fail_fast)
    return _started(run, pipeline_id, project)


@router.get("/runs/{run_id}")
def manifest(name: str, run_id: str, user: User, state: State
             ) -> dict[str, Any]:
    """The run's manifest (live while it runs here; else ``runs/{run_id}.json``, interrupted runs marked)."""
    project = state.project(user, name)
    live = state.hub.get(user, safe_name(run_id, "run id"))
    if live is not None and live.project == project.name:
        return live.run.manifest()
    return project.run(run_id)


@router.post("/runs/{run_id}/cancel")
def cancel(name: str, run_id: str, user: User, state: State
           ) -> dict[str, Any]:
    """Cancel a running run: nothing new starts, running nodes are abandoned; 409 when it already ended."""
    project = state.project(user, name)
    live = state.hub.get(user, safe_name(run_id, "run id"))
    if live is None or live.project != project.name:
        status = project.run(run_id).get("status")  # 404 when there is no such run at all
        fail(409, "RunNotRunning", f"Run {run_id} is {status} and not running on this server; nothing to cancel.")
    if live.run.done:
        fail(409, "RunNotRunning", f"Run {run_id} already ended {live.run.state}; nothing to cancel.")
    live.run.cancel()
    return {"run_id": run_id, "status": "cancelling"}


@router.post("/runs/{run_id}/resume", status_code=202)
def resume(name: str, run_id: str, user: User, state: State
           ) -> dict[str, Any]:
    """Run the same graph again with the cache: only failed, skipped and changed nodes execute."""
    project = state.project(user, name)
    live = state.hub.get(user, safe_name(run_id, "run id"))
    if live is not None and live.project == project.name:
        if not live.run.done:
            fail(409, "RunStillRunning", f"Run {run_id} is still running; wait for it or cancel it first.")
        old = live.run
        new = state.hub.start(user, project.name, live.pipeline_id,
                              lambda listener: old.resume(wait=False, on_event=listener, echo=False, progress=False))
        return _started(new, live.pipeline_id, project, resumed_from=run_id)
    stored = project.run(run_id)  # a run of an earlier server process: its manifest holds the graph that ran
    graph, nodes = stored.get("graph"), list(stored.get("nodes") or {})
    if not isinstance(graph, dict):
        fail(409, "RunNotResumable", f"Run {run_id}'s manifest has no graph (it was written before the run started).")
    pipeline = Pipeline.from_dict(graph, name=project.name, project=project)
    pipeline_id = f"{WORKSPACE_PREFIX}{project.name}"
    new = state.start_run(user, project, pipeline_id, pipeline, targets=nodes or None, cache=True)
    return _started(new, pipeline_id, project, resumed_from=run_id)


@router.post("/validate")
def validate(name: str, user: User, state: State, body: ValidateRequest | None = None) -> dict[str, Any]:
    """``{valid, problems: [{node_id, field?, message}], errors: [str]}`` of ``pipeline`` or the saved one."""
    project = state.project(user, name)
    try:
        if body is not None and body.pipeline is not None:
            pipeline = Pipeline.from_dict(body.pipeline, name=project.name, project=project)
        else:
            pipeline = project.load_pipeline()
        problems = pipeline.problems()
    except TensorragError as exc:  # a malformed document: one problem naming where
        problems = [{"node_id": None, "message": str(exc)}]
    return {"valid": not problems, "problems": problems, "errors": problem_lines(problems)}


@router.get("/history")
def history(name: str, user: User, state: State) -> list[str]:
    """The saved pipeline's versions, newest first."""
    return state.project(user, name).history()


@router.get("/history/{version}")
def version(name: str, version: str, user: User, state: State
            ) -> dict[str, Any]:
    """One saved version of the pipeline document; 404 lists the latest versions."""
    return state.project(user, name).load_pipeline(version).to_dict()
