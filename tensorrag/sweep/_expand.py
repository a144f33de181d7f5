"""A sweep as ONE pipeline: the shared upstream once, a copy of the swept part per branch.

The swept nodes and everything downstream of them form the *branch part*; every other node is
*shared* and appears once. Branch ``i`` gets a copy of each branch-part node with the id
``{node}:{i}`` (``define:3``: a valid node id, readable in events and manifests), its config
patched with the branch's values, and its edges rewired to the shared nodes or to its own
copies. The engine then schedules the whole thing at once; each copy's cache key is its card,
config and inputs, so a branch whose config ran before is served from the cache.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tensorrag.errors import SweepError
from tensorrag.pipeline import Pipeline

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tensorrag.sweep._space import Field

__all__ = ["apply_config", "branch_id", "branch_part", "expand"]

#: Vertical gap between a node's branch copies in the expanded graph's layout.
_ROW = 140.0


def branch_id(node_id: str, index: int) -> str:
    """The id of ``node_id``'s copy in branch ``index``."""
    return f"{node_id}:{index}"


def branch_part(pipeline: Pipeline, fields: Iterable[Field]) -> list[str]:
    """The swept nodes and their descendants, in the pipeline's topological order."""
    swept = {f.node_id for f in fields}
    part = swept | pipeline.descendants(swept)
    return [nid for nid in pipeline.topological_order() if nid in part]


def patched(config: Mapping[str, Any], path: tuple[str, ...], value: Any, default: Any = None) -> dict[str, Any]:
    """A copy of ``config`` with ``value`` at ``path`` (``("hyperparameters", "alpha")``); other keys kept."""
    out = copy.deepcopy(dict(config))
    if len(path) == 1:
        out[path[0]] = copy.deepcopy(value)
        return out
    holder = out.setdefault(path[0], copy.deepcopy(default) if isinstance(default, dict) else {})
    for name in path[1:-1]:
        holder = holder.setdefault(name, {})
    holder[path[-1]] = copy.deepcopy(value)
    return out


def _node_config(pipeline: Pipeline, node_id: str, config: dict[str, Any], fields: Mapping[str, Field],
                 values: Mapping[str, Any]) -> dict[str, Any]:
    node = pipeline.node(node_id)
    props = (node.card.json_schema().get("properties") or {}) if node.card is not None else {}
    for key, field in fields.items():
        if field.node_id == node_id:
            config = patched(config, field.path, values[key], (props.get(field.path[0]) or {}).get("default"))
    return config


def apply_config(pipeline: Pipeline, fields: Mapping[str, Field], values: Mapping[str, Any]) -> Pipeline:
    """A copy of ``pipeline`` with one branch's ``values`` (``{space key: value}``) filled in.

    Raises:
        CardConfigError: a value does not fit its card's schema.
    """
    out = pipeline.copy()
    for node_id in dict.fromkeys(f.node_id for f in fields.values()):
        out.set_config(node_id, _node_config(pipeline, node_id, dict(pipeline.node(node_id).config), fields, values))
    return out


def expand(pipeline: Pipeline, fields: Mapping[str, Field], branches: list[dict[str, Any]]) -> Pipeline:
    """The one pipeline the engine runs (see the module docstring).

    Raises:
        SweepError: a branch's values do not fit the card schemas (each bad branch named with its values),
            or a node id ``{node}:{i}`` is already taken.
    """
    doc = pipeline.to_dict()
    part = branch_part(pipeline, fields.values())
    inside = set(part)
    by_id = {n["id"]: n for n in doc["nodes"]}
    nodes = [n for n in doc["nodes"] if n["id"] not in inside]
    edges = [e for e in doc["edges"] if e["target"] not in inside]
    taken = set(by_id)
    for i, values in enumerate(branches):
        for nid in part:
            node = copy.deepcopy(by_id[nid])
            node["id"] = branch_id(nid, i)
            if node["id"] in taken:
                raise SweepError(f"Cannot copy node {nid!r} for branch {i}: the pipeline already has a node "
                                 f"{node['id']!r}. Rename that node.")
            node["data"]["config"] = _node_config(pipeline, nid, node["data"].get("config") or {}, fields, values)
            pos = node.get("position") or {}
            node["position"] = {"x": float(pos.get("x", 0)), "y": float(pos.get("y", 0)) + _ROW * (i + 1)}
            nodes.append(node)
        for edge in doc["edges"]:
            if edge["target"] in inside:
                wired = copy.deepcopy(edge)
                wired.pop("id", None)  # derived from the new ends
                wired["target"] = branch_id(edge["target"], i)
                if edge["source"] in inside:
                    wired["source"] = branch_id(edge["source"], i)
                edges.append(wired)
    combined = Pipeline.from_dict({**doc, "nodes": nodes, "edges": edges}, name=pipeline.name,
                                  registry=pipeline.registry, project=pipeline.project)
    problems = combined.problems()  # the pipeline itself was valid: what is left is the branches' values
    bad = [p for p in problems if isinstance(p.get("node_id"), str) and p["node_id"] not in by_id]
    if bad:
        lines = []
        for p in bad[:10]:
            nid, _, index = str(p["node_id"]).rpartition(":")
            shown = ", ".join(f"{k}={v!r}" for k, v in branches[int(index)].items())
            field = f".{p['field']}" if p.get("field") else ""
            lines.append(f"  - branch {index} ({shown}): [{nid}{field}] {p['message']}")
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise SweepError(f"{len(bad)} branch problem(s) in the sweep of pipeline {pipeline.name!r}:\n"
                         + "\n".join(lines) + more)
    return combined
