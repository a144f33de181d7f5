"""Request bodies: the original system's shapes (``PipelineRequest``, ``{name}``, ``{path, source_code}``, ...).

Graph documents stay plain dicts here: :class:`~tensorrag.spec.GraphSpec` parses them, so a bad
node or edge gets the library's message (which node, which field, what was expected).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CardPath",
    "CardSource",
    "CardWrite",
    "CustomCardUpload",
    "PipelineRequest",
    "PipelineState",
    "ProjectCreate",
    "RunRequest",
    "ValidateRequest",
]

_ID = Field(min_length=1, max_length=256)


class PipelineRequest(BaseModel):
    """The original ``PipelineRequest``: nodes ``{id, type, config, position}``, edges ``{source, target, ...}``."""

    model_config = ConfigDict(extra="allow")

    pipeline_id: str = _ID
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)


class PipelineState(BaseModel):
    """A saved ``_pipeline.json`` (React Flow state): ``{nodes, edges, nodeCounter}``, other keys kept."""

    model_config = ConfigDict(extra="allow")

    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    nodeCounter: int = 0  # the original's key


class ProjectCreate(BaseModel):
    """``{name}`` of a new project."""

    name: str = ""


class CardSource(BaseModel):
    """``{source_code}`` to validate."""

    source_code: str


class CardPath(BaseModel):
    """``{path}`` of a card file or folder, relative to the project's ``cards/``."""

    path: str


class CardWrite(BaseModel):
    """``{path, source_code}`` of a card file to save."""

    path: str
    source_code: str


class RunRequest(BaseModel):
    """``/api/v2`` run options: the saved pipeline (or ``pipeline``) with ``p.run()``'s options."""

    model_config = ConfigDict(extra="forbid")

    pipeline: dict[str, Any] | None = None
    pipeline_id: str | None = Field(default=None, min_length=1, max_length=256)
    targets: list[str] | None = None
    rerun: list[str] | None = None
    cache: bool = True
    fail_fast: bool = False


class ValidateRequest(BaseModel):
    """``/api/v2`` validation of a graph document (the saved pipeline when ``pipeline`` is omitted)."""

    model_config = ConfigDict(extra="forbid")

    pipeline: dict[str, Any] | None = None


class CustomCardUpload(BaseModel):
    """``{filename, source_code}`` of a legacy custom card (``POST /api/cards/custom``)."""

    filename: str
    source_code: str
