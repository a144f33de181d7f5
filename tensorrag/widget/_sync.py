"""What the canvas shares with the browser: the palette, and edits that arrive as whole documents.

The browser never edits the pipeline directly. It assigns a new ``graph`` document; :func:`apply_document`
works out what changed (nodes removed, edges removed, nodes added, nodes changed, edges added, the
document's own extra keys such as the canvas's ``ui`` groups, in that order) and replays it through
the public :class:`~tensorrag.pipeline.Pipeline` methods, so an edit made on the canvas gets exactly
the checks and the error messages it would get in code.
Every operation that fails is reported; the others still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorrag.cards.catalog import canvas_palette
from tensorrag.errors import TensorragError
from tensorrag.pipeline._document import set_extra
from tensorrag.spec import EdgeSpec, GraphSpec, NodeSpec
from tensorrag.widget._floats import mark_palette, restore_document

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.pipeline import Pipeline
    from tensorrag.registry import Registry

__all__ = ["EditError", "EditResult", "apply_document", "build_palette"]

_ADD_ARGUMENTS = frozenset({"cache", "card", "id", "position", "resources"})


def build_palette(registry: Registry) -> list[dict[str, Any]]:
    """The canvas palette of ``registry`` (:func:`tensorrag.cards.catalog.canvas_palette`), floats marked."""
    return mark_palette(canvas_palette(registry))


@dataclass
class EditError:
    """One operation of a canvas edit that the pipeline refused."""

    op: str
    message: str
    node_id: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The error as a ``problems`` entry (``source`` says it came from an edit)."""
        out: dict[str, Any] = {"node_id": self.node_id, "message": self.message, "source": "edit", "op": self.op}
        if self.field is not None:
            out["field"] = self.field
        return out


@dataclass
class EditResult:
    """What :func:`apply_document` did."""

    applied: list[str] = field(default_factory=list)
    errors: list[EditError] = field(default_factory=list)


def _edge_key(e: EdgeSpec) -> tuple[str, str, str, str]:
    return (e.source, e.source_output, e.target, e.target_input)


def apply_document(pipeline: Pipeline, doc: Any) -> EditResult:
    """Make ``pipeline`` match the graph document ``doc`` through its public methods.

    Args:
        pipeline: the pipeline to edit.
        doc: a ``_pipeline.json`` document, typically the previous one with the user's edits; its
            float marks (:mod:`tensorrag.widget._floats`) make the marked ints floats again.

    Returns:
        The operations applied and, for each one refused, an :class:`EditError` carrying the
        pipeline's own message.
    """
    result = EditResult()
    try:
        new = GraphSpec.from_dict(restore_document(doc))
    except TensorragError as exc:
        result.errors.append(EditError("parse", str(exc)))
        return result
    wanted_nodes: dict[str, NodeSpec] = {}
    for ns in new.nodes:
        if ns.id in wanted_nodes:
            result.errors.append(EditError("add", f"Two nodes share the id {ns.id!r}.", ns.id))
            continue
        wanted_nodes[ns.id] = ns
    wanted_edges = {_edge_key(e): e for e in new.edges}

    def attempt(op: str, node_id: str | None, field: str | None, fn: Callable[..., Any], *args: Any,
                **kwargs: Any) -> bool:
        try:
            fn(*args, **kwargs)
        except TensorragError as exc:
            fields = [p for p in getattr(exc, "problems", None) or [] if p.get("field")]
            if op in ("add", "configure") and fields:  # one entry per bad config field, for the form
                for p in fields:
                    result.errors.append(EditError(op, f"{p['field']}: {p['message']}", node_id, p["field"]))
            else:
                result.errors.append(EditError(op, str(exc), node_id, field))
            return False
        result.applied.append(op if node_id is None else f"{op}:{node_id}")
        return True

    current = {n.id: n for n in pipeline}
    # 1. nodes that are gone (their edges go with them)
    for nid in list(current):
        if nid not in wanted_nodes:
            attempt("remove", nid, None, pipeline.remove, nid)
    # 2. edges that are gone
    for edge in pipeline.edges:
        if _edge_key(edge) not in wanted_edges:
            ends = (edge.source, edge.source_output, edge.target, edge.target_input)
            attempt("disconnect", edge.target, edge.target_input, pipeline.disconnect, *ends)
    # 3. new nodes and 4. changed nodes, in document order
    for nid, ns in wanted_nodes.items():
        node = pipeline.nodes.get(nid)
        if node is None:
            if nid in current:
                continue  # its removal failed; nothing to add
            attempt("add", nid, None, _add, pipeline, ns)
            continue
        if ns.card_type != node.card_type:
            result.errors.append(
                EditError(
                    "change_type",
                    f"Node {nid!r} is a {node.card_type!r} card; a node's card type cannot change "
                    "(remove it and add a new one).",
                    nid,
                )
            )
            continue
        if dict(node.config) != ns.config:
            attempt("configure", nid, None, pipeline.set_config, nid, ns.config)
        pos = _position(ns.position)
        if pos != _position(node.position):
            attempt("move", nid, None, pipeline.move, nid, pos["x"], pos["y"])
        if (node.resources or None) != (ns.resources or None):
            attempt("resources", nid, None, pipeline.set_resources, nid, ns.resources)
        if node.cache != ns.cache:
            attempt("cache", nid, None, pipeline.set_cache, nid, ns.cache)
        if node.disabled != ns.disabled:
            attempt("disable", nid, None, pipeline.set_disabled, nid, ns.disabled)
    # 5. new edges
    have = {_edge_key(e) for e in pipeline.edges}
    for key, edge in wanted_edges.items():
        if key not in have:
            ends = (edge.source, edge.source_output, edge.target, edge.target_input)
            attempt("connect", edge.target, edge.target_input, pipeline.connect, *ends)
    # 6. top-level keys tensorrag does not read (the canvas's "ui": groups, collapsed nodes), verbatim
    if set_extra(pipeline, new.extra):
        result.applied.append("extra")
    return result


def _add(pipeline: Pipeline, ns: NodeSpec) -> None:
    plain = {k: v for k, v in ns.config.items() if k not in _ADD_ARGUMENTS}
    pipeline.add(
        ns.card_type, id=ns.id, position=_position(ns.position), resources=ns.resources, cache=ns.cache, **plain
    )
    if len(plain) != len(ns.config):  # config keys named like add()'s own arguments
        pipeline.set_config(ns.id, ns.config)
    if ns.disabled:
        pipeline.disable(ns.id)


def _position(pos: Any) -> dict[str, float]:
    pos = pos if isinstance(pos, dict) else {}
    out = {}
    for axis in ("x", "y"):
        value = pos.get(axis, 0)
        out[axis] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    return out
