"""The engine's plan: the selected nodes in order, each with its card, filled config, inputs and children.

Disabled nodes and their descendants (:func:`tensorrag.pipeline._bypass.bypassed`) are left out of
the plan, unchecked; the engine records them ``skipped`` with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.errors import ArgumentError, PipelineValidationError
from tensorrag.executors.caching import refresh_cards
from tensorrag.pipeline._bypass import bypassed
from tensorrag.pipeline._memo import memoised
from tensorrag.spec import json_copy

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tensorrag.cards import BaseCard
    from tensorrag.pipeline import Pipeline

__all__ = ["NodePlan", "make_plan"]


class NodePlan:
    """One node as the engine runs it (a plain class: a dataclass costs a millisecond at import)."""

    __slots__ = ("cache", "card", "children", "config", "config_json", "fingerprint", "inputs", "nested",
                 "node_id", "output_type", "parents", "rank", "resources")

    def __init__(
        self,
        node_id: str,
        rank: int,
        card: type[BaseCard],
        config: dict[str, Any],
        inputs: dict[str, tuple[str, str]],
        children: list[str],
        resources: dict[str, Any],
        output_type: str,
        cache: bool = True,
        fingerprint: str = "",
        config_json: str | None = None,
    ) -> None:
        self.node_id, self.rank, self.card, self.config = node_id, rank, card, config
        self.inputs = inputs  # port -> (source node, source port)
        self.children = children
        self.resources, self.output_type = resources, output_type
        self.cache = cache  # the node's own opt-out (``Node.cache``)
        self.fingerprint = fingerprint
        self.config_json = config_json  # the config as the cache key hashes it (caching.config_text)
        self.parents = 0  # distinct source nodes: the node is ready when that many have finished
        # Plans are kept across runs: a config holding dicts or lists is copied per task (a card may change it).
        self.nested = any(isinstance(v, (dict, list)) for v in config.values())

    def task_config(self) -> dict[str, Any]:
        """The config a task gets: the kept one, or a copy where a card could change it in place."""
        return json_copy(self.config) if self.nested else self.config


def make_plan(
    p: Pipeline, targets: Iterable[str] | None, rerun: Iterable[str] | None
) -> tuple[dict[str, NodePlan], set[str], dict[str, str]]:
    """The plan of the selected nodes, the nodes that must execute even if cached, and the skipped ones.

    The third item maps each selected node a run skips because it or an ancestor is disabled to
    the reason; those nodes are not in the plan.

    Raises:
        PipelineValidationError: the selected part of the pipeline is invalid.
        UnknownNodeError: a target or rerun node that is not in the pipeline.
        ArgumentError: a rerun node outside the part ``targets`` selects.
    """
    fresh_roots = [p.node(n).id for n in rerun] if rerun is not None else []
    fresh = set(fresh_roots) | p.descendants(fresh_roots) if fresh_roots else set()
    if targets is None and rerun is not None:
        targets = fresh  # re-run from these nodes: what is downstream of them, and what that needs
    if targets is None:
        selected = set(p.nodes)
    else:
        wanted = [p.node(t).id for t in targets]
        selected = set(wanted) | p.ancestors(wanted)
    outside = [n for n in fresh_roots if n not in selected]
    if outside:
        raise ArgumentError(
            f"Cannot re-run node(s) {', '.join(map(repr, outside))}: not part of this run, which covers the "
            f"targets {sorted(wanted)} and what they need. Add them to targets, or drop targets."
        )
    skipped = bypassed(p, selected)
    selected -= skipped.keys()
    refresh_cards(p, selected)
    # Kept until the next edit (every run of an unchanged pipeline plans the same); fingerprints are
    # read per run, since a helper redefined in a notebook changes them without an edit.
    partial = targets is not None or bool(skipped)
    name = f"plan:{sorted(selected) if partial else '*'}:{sorted(fresh)}"
    plan, fresh = memoised(p, name, lambda _: _plan(p, partial, selected, fresh))
    fingerprints: dict[type[BaseCard], str] = {}  # once per card class and run
    for item in plan.values():
        card = item.card
        if card not in fingerprints:
            fingerprints[card] = card.fingerprint()
        item.fingerprint = fingerprints[card]
    return plan, fresh, skipped


def _plan(
    p: Pipeline, partial: bool, selected: set[str], fresh: set[str]
) -> tuple[dict[str, NodePlan], set[str]]:
    problems = p.problems()
    if partial:  # a partial run (targets, or disabled nodes left out) needs only its own part to be valid
        problems = [x for x in problems if x.get("node_id") in selected or x.get("node_id") is None]
    if problems:
        raise PipelineValidationError(problems, p.name)
    order = p.topological_order(selected) if partial else p.topological_order()
    plan: dict[str, NodePlan] = {}
    for rank, nid in enumerate(order):
        node = p.nodes[nid]
        card = node.card
        assert card is not None
        resources = {**card.resources, **node.resources} if card.resources and node.resources else dict(
            card.resources or node.resources or {}
        )
        plan[nid] = NodePlan(nid, rank, card, node.resolved_config(), {}, [], resources, card.output_view_type,
                             node.cache, config_json=node.resolved_text())
    for edge in p.edges:
        if edge.source in plan and edge.target in plan:
            plan[edge.target].inputs[edge.target_input] = (edge.source, edge.source_output)
            plan[edge.source].children.append(edge.target)
    for item in plan.values():
        item.parents = len({src for src, _ in item.inputs.values()})
        item.children = list(dict.fromkeys(item.children))  # a child fed twice is released once
    return plan, fresh & selected
