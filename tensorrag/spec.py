"""The two wire contracts: the ``_pipeline.json`` graph document and the task/result payloads.

Graph document (design.md §3) — the React Flow state of the original, plus a version::

    {"schema_version": 1, "name": "...",
     "nodes": [{"id", "type": "cardNode", "position": {"x", "y"},
                "data": {"card_type", "config", "cardSchema"?, "resources"?, "cache"?, "disabled"?}}],
     "edges": [{"id", "source", "target", "sourceHandle", "targetHandle",
                "data": {"source_output", "target_input"}}],
     "nodeCounter": int}

Files saved by the original system (no ``schema_version``; card type only in
``data.cardSchema.card_type``; ports only in handles) load too. Unknown keys anywhere are kept,
so ``GraphSpec.from_dict(doc).to_dict() == doc`` for every document in the current format.

Task / result (design.md §4) — self-contained, JSON-like payloads (bytes, str, numbers, lists,
dicts) shared by every executor and the one worker entry function::

    task   = {"v": 1, "run_id", "node_id", "card": {"card_type", "source"?, "path"?, "module"?},
              "config", "inputs": {port: {"type", "uri"} | {"type", "data"}},
              "storage": {"url", "options"}?, "key", "pipeline_id", "resources"}
    result = {"v": 1, "outputs": {port: {"type", "uri" | "data", "ext", "sha256"}},
              "extras": {...same...}, "preview", "logs", "logs_truncated", "error": {"type",
              "message", "traceback"}?, "timings"}

``card.source`` is a card file's text, run by the worker; ``card.path`` (with ``source`` only) is
the filename it runs under (``cards/data/my_card.py``), so its tracebacks show that path and its
lines. ``card.module`` is an importable ``module:qualname``.

``logs`` holds at most ``TENSORRAG_MAX_LOG_CHARS`` characters; ``logs_truncated`` says some were cut.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from tensorrag._json import MAX_DEPTH, MAX_INT_DIGITS, json_problem, load_json, safe_repr
from tensorrag.errors import SpecError

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "PORT_TYPES",
    "SCHEMA_VERSION",
    "WIRE_VERSION",
    "EdgeSpec",
    "GraphSpec",
    "NodeSpec",
    "Task",
    "TaskResult",
    "check_wire",
    "json_copy",
    "json_problem",
    "load_json",
    "port_compatible",
    "position_problem",
    "safe_repr",
]

SCHEMA_VERSION = 1
WIRE_VERSION = 1

#: Node ids: what ``Pipeline.add`` accepts and what files must use.
NODE_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$"
_NODE_ID = re.compile(NODE_ID_PATTERN)

#: Artifact types a port may declare. Any other string in an original card is read as ``bytes``.
PORT_TYPES = ("dataframe", "model", "json", "bytes", "directory", "any")


def port_compatible(output_type: str, input_type: str) -> bool:
    """Whether an output of ``output_type`` may feed an input of ``input_type``."""
    return output_type == input_type or "any" in (output_type, input_type)


# --------------------------------------------------------------------------- graph document


@dataclass
class NodeSpec:
    """One node of the graph document."""

    id: str
    card_type: str
    config: dict[str, Any] = field(default_factory=dict)
    position: dict[str, float] = field(default_factory=lambda: {"x": 0.0, "y": 0.0})
    resources: dict[str, Any] | None = None
    card_schema: dict[str, Any] | None = None
    node_type: str = "cardNode"
    cache: bool = True  # saved as data.cache = false only when off (older files have no key)
    disabled: bool = False  # saved as data.disabled = true only when on: runs skip it and its descendants
    extra: dict[str, Any] = field(default_factory=dict)  # unknown node keys, kept verbatim
    data_extra: dict[str, Any] = field(default_factory=dict)  # unknown data keys, kept verbatim

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the ``_pipeline.json`` node shape."""
        data: dict[str, Any] = {"card_type": self.card_type, "config": json_copy(self.config)}
        if self.resources is not None:
            data["resources"] = json_copy(self.resources)
        if not self.cache:
            data["cache"] = False
        if self.disabled:
            data["disabled"] = True
        if self.card_schema is not None:
            data["cardSchema"] = json_copy(self.card_schema)
        data.update(json_copy(self.data_extra))
        out = {"id": self.id, "type": self.node_type, "position": dict(self.position), "data": data}
        out.update(json_copy(self.extra))
        return out


@dataclass
class EdgeSpec:
    """One edge of the graph document: ``source.source_output -> target.target_input``."""

    source: str
    source_output: str
    target: str
    target_input: str
    id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    data_extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = f"e-{self.source}-{self.source_output}-{self.target}-{self.target_input}"

    def to_dict(self) -> dict[str, Any]:
        """Serialise to the ``_pipeline.json`` edge shape."""
        data = {"source_output": self.source_output, "target_input": self.target_input}
        data.update(json_copy(self.data_extra))
        out: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "sourceHandle": self.source_output,
            "targetHandle": self.target_input,
            "data": data,
        }
        out.update(json_copy(self.extra))
        return out


@dataclass
class GraphSpec:
    """The whole graph document."""

    nodes: list[NodeSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)
    node_counter: int = 0
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to a ``_pipeline.json`` document (current format)."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if self.name is not None:
            out["name"] = self.name
        out["nodes"] = [n.to_dict() for n in self.nodes]
        out["edges"] = [e.to_dict() for e in self.edges]
        out["nodeCounter"] = self.node_counter
        out.update(json_copy(self.extra))
        return out

    @classmethod
    def from_dict(cls, doc: Any) -> GraphSpec:
        """Parse a graph document in the current or the original format.

        Raises:
            SpecError: the document is malformed; the message says where and what was expected.
        """
        if not isinstance(doc, dict):
            raise SpecError(
                f"A pipeline document must be a JSON object; got {_kind(doc)} "
                '(expected {"nodes": [...], "edges": [...], ...}).'
            )
        bad = json_problem(doc, "", MAX_DEPTH)
        if bad is not None:
            raise SpecError(f"The pipeline document is malformed: {bad[0] or 'the document'} {bad[1]}.")
        version = doc.get("schema_version")
        if version is not None and version != SCHEMA_VERSION:
            raise SpecError(
                f"Unsupported schema_version {version!r}; this tensorrag reads {SCHEMA_VERSION}. "
                "Upgrade tensorrag to open this file."
            )
        nodes_raw = doc.get("nodes", [])
        edges_raw = doc.get("edges", [])
        if not isinstance(nodes_raw, list) or not isinstance(edges_raw, list):
            raise SpecError("'nodes' and 'edges' must be lists.")
        nodes = [_node_from_dict(n, i) for i, n in enumerate(nodes_raw)]
        edges = [_edge_from_dict(e, i) for i, e in enumerate(edges_raw)]
        counter = doc.get("nodeCounter", len(nodes))
        if not isinstance(counter, int) or isinstance(counter, bool):
            raise SpecError(f"'nodeCounter' must be an integer; got {counter!r}.")
        known = {"schema_version", "name", "nodes", "edges", "nodeCounter"}
        extra = {k: json_copy(v) for k, v in doc.items() if k not in known}
        name = doc.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecError(f"'name' must be a string; got {_kind(name)}.")
        return cls(nodes=nodes, edges=edges, node_counter=counter, name=name, extra=extra)


def _node_from_dict(raw: Any, index: int) -> NodeSpec:
    where = f"nodes[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be an object; got {type(raw).__name__}.")
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        raise SpecError(
            f"{where}.id must be 1-128 characters from letters, digits, '_', '-', '.', ':' "
            f"(starting with a letter, digit or '_'); got {node_id!r}."
        )
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise SpecError(f"{where}.data must be an object (node {node_id!r}).")
    schema = data.get("cardSchema")
    card_type = data.get("card_type")
    if card_type is None and isinstance(schema, dict):
        card_type = schema.get("card_type")  # the original kept the type only here
    if card_type is None and raw.get("type") not in (None, "cardNode", "custom"):
        card_type = raw.get("type")  # PipelineRequest shape: node.type is the card type
    if not isinstance(card_type, str) or not card_type:
        raise SpecError(
            f"{where} (node {node_id!r}) has no card type: expected data.card_type or "
            "data.cardSchema.card_type."
        )
    config = data.get("config", raw.get("config", {})) or {}
    if not isinstance(config, dict):
        raise SpecError(f"{where}.data.config must be an object (node {node_id!r}).")
    pos = raw.get("position") or {"x": 0, "y": 0}
    if not isinstance(pos, dict):
        raise SpecError(f"{where}.position must be an object with x and y (node {node_id!r}).")
    bad_pos = position_problem(pos)
    if bad_pos:
        raise SpecError(f"{where}.position (node {node_id!r}): {bad_pos}.")
    resources = data.get("resources")
    cache = data.get("cache", True)
    if not isinstance(cache, bool):
        raise SpecError(f"{where}.data.cache must be true or false (node {node_id!r}); got {cache!r}.")
    disabled = data.get("disabled", False)
    if not isinstance(disabled, bool):
        raise SpecError(f"{where}.data.disabled must be true or false (node {node_id!r}); got {disabled!r}.")
    known_data = {"card_type", "config", "cardSchema", "resources", "cache", "disabled"}
    known_node = {"id", "type", "position", "data", "config"}
    node_type = raw.get("type", "cardNode")
    if node_type not in ("cardNode", "custom"):
        node_type = "cardNode"
    return NodeSpec(
        id=node_id,
        card_type=card_type,
        config=json_copy(config),
        position=json_copy(pos),
        resources=json_copy(resources) if resources is not None else None,
        card_schema=json_copy(schema) if isinstance(schema, dict) else None,
        node_type=node_type,
        cache=cache,
        disabled=disabled,
        extra={k: json_copy(v) for k, v in raw.items() if k not in known_node},
        data_extra={k: json_copy(v) for k, v in data.items() if k not in known_data},
    )


def _edge_from_dict(raw: Any, index: int) -> EdgeSpec:
    where = f"edges[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be an object; got {type(raw).__name__}.")
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise SpecError(f"{where}.data must be an object; got {type(data).__name__}.")
    src, dst = raw.get("source"), raw.get("target")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise SpecError(f"{where} needs string 'source' and 'target'; got {src!r} -> {dst!r}.")
    out = data.get("source_output") or raw.get("source_output") or raw.get("sourceHandle") or "default"
    inp = data.get("target_input") or raw.get("target_input") or raw.get("targetHandle") or "default"
    if not isinstance(out, str) or not isinstance(inp, str):
        raise SpecError(f"{where} ({src} -> {dst}): port names must be strings; got {out!r} -> {inp!r}.")
    if not isinstance(raw.get("id") or "", str):
        raise SpecError(f"{where}.id must be a string; got {_kind(raw['id'])}.")
    known = {"id", "source", "target", "data", "source_output", "target_input"}
    # Handles equal to the ports are derived on save; different ones are kept verbatim.
    if raw.get("sourceHandle") in (None, out):
        known.add("sourceHandle")
    if raw.get("targetHandle") in (None, inp):
        known.add("targetHandle")
    return EdgeSpec(
        id=raw.get("id") or "",
        source=src,
        source_output=out,
        target=dst,
        target_input=inp,
        extra={k: json_copy(v) for k, v in raw.items() if k not in known},
        data_extra={
            k: json_copy(v) for k, v in data.items() if k not in ("source_output", "target_input")
        },
    )


def position_problem(pos: Any) -> str | None:
    """What is wrong with a canvas position ``{"x", "y"}`` (finite numbers), or None when it is fine."""
    if not isinstance(pos, dict):
        return f"a position must be an object {{'x': number, 'y': number}}; got {_kind(pos)}"
    bad = json_problem(pos, "position", 4)  # other keys are kept verbatim in the file: plain JSON only
    if bad is not None:
        return f"{bad[0]} {bad[1]}"
    for axis in ("x", "y"):
        if axis not in pos:
            continue  # files of the original sometimes omit one; it reads as 0
        v = pos[axis]
        try:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
        except OverflowError:
            ok = False
        if not ok:
            return f"{axis} must be a finite number; got {_kind(v)}"
    return None


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {safe_repr(value)}"


# --------------------------------------------------------------------------- task wire format


@dataclass
class Task:
    """One node's work, self-contained: everything a worker needs and nothing global.

    ``card_class``, ``store`` and ``preview`` are transient in-process shortcuts (the local executor
    passes the class and the store object themselves; ``preview=False`` leaves the preview to
    ``Run.preview``); they never go on the wire.
    """

    run_id: str
    node_id: str
    card: dict[str, Any]
    config: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    key: str
    pipeline_id: str = ""
    storage: dict[str, Any] | None = None
    cache_key: str | None = None  # where the worker commits the cache entry (uri mode), if set
    resources: dict[str, Any] = field(default_factory=dict)
    card_class: Any = field(default=None, repr=False, compare=False)
    store: Any = field(default=None, repr=False, compare=False)
    preview: bool = field(default=True, repr=False, compare=False)  # False: the run makes it when asked

    def to_wire(self) -> dict[str, Any]:
        """The JSON-like payload sent to out-of-process workers."""
        out: dict[str, Any] = {
            "v": WIRE_VERSION,
            "run_id": self.run_id,
            "node_id": self.node_id,
            "pipeline_id": self.pipeline_id,
            "key": self.key,
            "cache_key": self.cache_key,
            "card": dict(self.card),
            "config": self.config,
            "inputs": self.inputs,
            "resources": self.resources,
        }
        if self.storage is not None:
            out["storage"] = self.storage
        check_wire(out, "task")
        return out

    @classmethod
    def from_wire(cls, payload: Any) -> Task:
        """Parse and check a task payload (raises :class:`SpecError`)."""
        if not isinstance(payload, dict) or payload.get("v") != WIRE_VERSION:
            raise SpecError(f"Not a v{WIRE_VERSION} task payload: {str(payload)[:200]}")
        for name in ("run_id", "node_id", "key"):
            if not isinstance(payload.get(name), str):
                raise SpecError(f"Task payload field {name!r} must be a string.")
        card = payload.get("card")
        if not isinstance(card, dict) or not isinstance(card.get("card_type"), str):
            raise SpecError("Task payload field 'card' must be {'card_type': str, ...}.")
        for name in ("source", "path", "module"):
            if not isinstance(card.get(name, ""), str):
                raise SpecError(f"Task payload field 'card.{name}' must be a string; got {_kind(card[name])}.")
        inputs = payload.get("inputs", {})
        for name in ("inputs", "config", "resources"):
            if not isinstance(payload.get(name, {}), dict):
                raise SpecError(f"Task payload field {name!r} must be an object; got {type(payload[name]).__name__}.")
        for port, ref in inputs.items():
            if not isinstance(ref, dict) or "type" not in ref or ("uri" not in ref and "data" not in ref):
                raise SpecError(f"Task input {port!r} must be {{'type', 'uri'}} or {{'type', 'data'}}.")
        return cls(
            run_id=payload["run_id"],
            node_id=payload["node_id"],
            pipeline_id=payload.get("pipeline_id", ""),
            key=payload["key"],
            cache_key=payload.get("cache_key"),
            card=card,
            config=payload.get("config", {}),
            inputs=inputs,
            storage=payload.get("storage"),
            resources=payload.get("resources", {}),
        )


@dataclass
class TaskResult:
    """What a worker returns for one task (see the module docstring for the wire shape)."""

    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    preview: dict[str, Any] | None = None
    logs: str = ""
    logs_truncated: bool = False  # ``logs`` is the first and last part of a longer output
    error: dict[str, str] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    committed: bool = False  # the worker already wrote the cache entry (outputs hold uris)
    progress: list[list[int]] = field(default_factory=list)  # [current, total] reports, for replay

    @property
    def ok(self) -> bool:
        """True when the card ran and produced its outputs."""
        return self.error is None

    def to_wire(self) -> dict[str, Any]:
        """The JSON-like payload a worker returns."""
        out: dict[str, Any] = {
            "v": WIRE_VERSION,
            "outputs": self.outputs,
            "extras": self.extras,
            "preview": self.preview,
            "logs": self.logs,
            "logs_truncated": self.logs_truncated,
            "timings": self.timings,
            "committed": self.committed,
            "progress": self.progress,
        }
        if self.error is not None:
            out["error"] = self.error
        check_wire(out, "result")
        return out

    @classmethod
    def from_wire(cls, payload: Any) -> TaskResult:
        """Parse and check a result payload (raises :class:`SpecError`)."""
        if not isinstance(payload, dict) or payload.get("v") != WIRE_VERSION:
            raise SpecError(f"Not a v{WIRE_VERSION} result payload: {str(payload)[:200]}")
        error = payload.get("error")
        if error is not None and not (isinstance(error, dict) and "type" in error and "message" in error):
            raise SpecError("Result field 'error' must be {'type', 'message', 'traceback'}.")
        return cls(
            outputs=payload.get("outputs", {}),
            extras=payload.get("extras", {}),
            preview=payload.get("preview"),
            logs=payload.get("logs", ""),
            logs_truncated=bool(payload.get("logs_truncated", False)),
            error=error,
            timings=payload.get("timings", {}),
            committed=bool(payload.get("committed", False)),
            progress=[list(p) for p in payload.get("progress", [])],
        )


_WIRE_SCALARS = (str, int, float, bool, bytes, type(None))
_EXACT_SCALARS = frozenset(_WIRE_SCALARS)


def json_copy(obj: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), ~10x faster than ``copy.deepcopy``."""
    if isinstance(obj, dict):
        return {k: json_copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_copy(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(json_copy(v) for v in obj)
    return obj  # scalars are immutable; other objects are not ours to copy


def check_wire(obj: Any, where: str = "payload") -> None:
    """Raise :class:`SpecError` unless ``obj`` holds only bytes, str, numbers, lists and dicts.

    This is what keeps pickled objects out of payloads: the orchestrator never unpickles.
    """
    if _plain(obj):
        return
    # Something cannot travel: walk again, this time keeping paths, to say where.
    stack: list[tuple[Any, str]] = [(obj, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _WIRE_SCALARS):
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise SpecError(f"{path}: keys must be strings; got {k!r}.")
                stack.append((v, f"{path}.{k}"))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
        else:
            raise SpecError(
                f"{path}: {type(value).__name__} cannot travel in a payload; "
                "only bytes, str, numbers, lists and dicts can."
            )


def _plain(obj: Any) -> bool:
    """Whether ``obj`` is wire data: :func:`check_wire`'s walk without the path of every value (every task pays it)."""
    stack = [obj]
    while stack:
        value = stack.pop()
        if type(value) in _EXACT_SCALARS:  # the common case, before any isinstance
            continue
        if isinstance(value, dict):
            for k in value:
                if type(k) is not str and not isinstance(k, str):
                    return False
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif not isinstance(value, _WIRE_SCALARS):
            return False
    return True
