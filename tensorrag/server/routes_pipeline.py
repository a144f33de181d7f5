"""The original's run routes: health, cards, card validation, pipeline validate/execute/status, output, artifacts."""

import mimetypes
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from tensorrag.cards.catalog import list_cards
from tensorrag.cards.previews import json_safe
from tensorrag.cards.validate import validate_card_source
from tensorrag.errors import NodeFailedError, TensorragError
from tensorrag.pipeline import Pipeline
from tensorrag.run import Run
from tensorrag.server.models import CardSource, PipelineRequest
from tensorrag.server.responses import ERROR_RESPONSES, fail, problem_lines
from tensorrag.server.state import ServerState, State, User
from tensorrag.server.stored import StoredRun

__all__ = ["router"]

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

_MEDIA = {"parquet": "application/octet-stream", "joblib": "application/octet-stream", "json": "application/json",
          "png": "image/png", "csv": "text/csv"}


@router.get("/health")
def health() -> dict[str, str]:
    """``{"status": "ok"}`` (no authentication)."""
    return {"status": "ok"}


@router.get("/cards")
def cards(user: User, state: State) -> list[dict[str, Any]]:
    """Every card's ``CardSchema``: the built-ins, the cards of the user's active project, the user's custom cards."""
    project = state.active(user)
    listed = list_cards(project.registry if project is not None else None)
    known = {c["card_type"] for c in listed}
    custom = [c for c in list_cards(state.custom_cards(user).registry) if c["card_type"] not in known]
    return sorted([*listed, *custom], key=lambda s: (s["category"], s["card_type"]))


@router.post("/cards/validate")
def validate_card(body: CardSource, user: User) -> dict[str, Any]:
    """``{success, errors: [{line, message, severity}], extracted_schema}`` from reading the source's syntax tree."""
    return validate_card_source(body.source_code, filename="<source_code>").to_dict()


def _pipeline(body: PipelineRequest, project: Any, state: ServerState, user: str) -> Pipeline:
    doc = {"nodes": body.nodes, "edges": body.edges}
    return state.custom_cards(user).lend(Pipeline.from_dict(doc, name=body.pipeline_id, project=project))


@router.post("/pipeline/validate")
def validate_pipeline(
    body: PipelineRequest, user: User, state: State
) -> dict[str, Any]:
    """``{errors: [str], problems: [{node_id, field?, message}]}``, always 200 (empty lists when valid)."""
    try:
        problems = _pipeline(body, state.project_for(user, body.pipeline_id), state, user).problems()
    except TensorragError as exc:  # a malformed document: one problem, as the original
        problems = [{"node_id": None, "message": str(exc)}]
    return {"errors": problem_lines(problems), "problems": problems}


@router.post("/pipeline/execute")
def execute(
    body: PipelineRequest, user: User, state: State
) -> dict[str, Any]:
    """Start a run: ``{pipeline_id, status: "started", run_id, project_name}``; 400 ``{detail: {errors}}``."""
    project = state.project_for(user, body.pipeline_id)
    pipeline = _pipeline(body, project, state, user)
    run = state.start_run(user, project, body.pipeline_id, pipeline)
    return {"pipeline_id": body.pipeline_id, "status": "started", "run_id": run.run_id, "project_name": project.name}


def _run(state: ServerState, user: str, pipeline_id: str) -> Run | StoredRun:
    """The latest run of ``pipeline_id``: live when this process started it, else read from storage."""
    live = state.hub.latest(user, pipeline_id)
    if live is not None:
        return live.run
    project = state.project_for(user, pipeline_id)
    stored = state.stored.latest(user, project, pipeline_id)
    if stored is None:
        fail(404, "RunNotFound", f"Pipeline not found: no run of {pipeline_id!r} in project {project.name!r} "
             "(start one with POST /api/pipeline/execute; every run is listed at "
             f"/api/v2/projects/{project.name}/runs).")
    return stored


@router.get("/pipeline/{pipeline_id}/status")
def status(pipeline_id: str, user: User, state: State
           ) -> dict[str, Any]:
    """``{pipeline_id, run_id, status, node_statuses: {node_id: {node_id, status, error, message}}}``."""
    run = _run(state, user, pipeline_id)
    manifest = run.manifest()
    nodes = {}
    for nid, rec in manifest["nodes"].items():
        err = rec.get("error")
        error = f"{err['type']}: {err['message']}" if err else None
        nodes[nid] = {"node_id": nid, "status": rec["status"], "error": error, "message": rec.get("message", "")}
    return {"pipeline_id": pipeline_id, "run_id": run.run_id, "status": manifest["status"], "node_statuses": nodes,
            "execution_time": manifest.get("execution_time")}


def _finished_node(run: Run | StoredRun, pipeline_id: str, node_id: str) -> None:
    if node_id not in run.status:
        fail(404, "NodeNotFound", f"No output for node {node_id!r}: run {run.run_id} of {pipeline_id!r} "
             f"has nodes {', '.join(sorted(run.status)) or 'none'}.")
    st = run.status[node_id]
    if st not in ("completed", "cached"):
        err = run.error(node_id)
        why = f" ({err['message']})" if err else ""
        raise NodeFailedError(f"Node {node_id!r} has not completed successfully: it is {st}{why}.")


@router.get("/card/{pipeline_id}/{node_id}/output")
def output(pipeline_id: str, node_id: str, user: User, state: State
           ) -> dict[str, Any]:
    """The preview envelope ``{node_id, output_type, preview}`` of a finished node of the latest run."""
    run = _run(state, user, pipeline_id)
    _finished_node(run, pipeline_id, node_id)
    preview = run.preview(node_id)
    if preview is None:  # the original's fallback: the refs, shortened
        data = {port: str(ref.get("uri"))[:100] for port, ref in run.outputs(node_id).items()}
        return {"node_id": node_id, "output_type": "table", "preview": {"type": "table", "data": data}}
    return {"node_id": node_id, "output_type": run.output_type(node_id), "preview": json_safe(preview)}


@router.get("/artifacts/{pipeline_id}/{node_id}/{key}")
def artifact(pipeline_id: str, node_id: str, key: str, user: User,
             state: State) -> Response:
    """The bytes of one output (or extra, e.g. a chart) of a finished node, as an attachment."""
    run = _run(state, user, pipeline_id)
    _finished_node(run, pipeline_id, node_id)
    record = run.manifest()["nodes"][node_id]
    refs = {**(record.get("outputs") or {}), **(record.get("extras") or {})}
    ref = refs.get(key)
    if ref is None:
        have = ", ".join(sorted(refs)) or "none"
        fail(404, "ArtifactNotFound", f"Node {node_id!r} has no artifact {key!r}; it has {have}.")
    if ref.get("type") == "directory":
        fail(400, "ArtifactIsDirectory", f"Artifact {key!r} of node {node_id!r} is a directory ({ref.get('count')} "
             "files); read it with run.output() in Python or from the store at its uri.", uri=ref.get("uri"))
    data = run.store.get_bytes(ref)  # checks the sha256: a corrupt file is never served
    ext = str(ref.get("ext") or "bin").lstrip(".")
    media = _MEDIA.get(ext) or mimetypes.guess_type(f"x.{ext}")[0] or "application/octet-stream"
    headers = {"Content-Disposition": f'attachment; filename="{key}.{ext}"'}
    return Response(content=data, media_type=media, headers=headers)

