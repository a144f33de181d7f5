"""The checks behind ``Pipeline.validate`` and ``Pipeline.connect``, and the messages they give.

:func:`problems` lists everything wrong with a whole graph (what a loaded file can get wrong);
:func:`edge_problem` and :func:`pick_ports` judge one new edge before ``connect`` adds it. Both
word port problems through :func:`port_problem`, so a file and a call get the same text.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from tensorrag.cards.resources import resource_problems
from tensorrag.errors import CardConfigError, UnknownCardTypeError, WiringError
from tensorrag.pipeline._graph import find_cycle
from tensorrag.spec import NODE_ID_PATTERN, port_compatible, safe_repr

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tensorrag.pipeline._index import EdgeIndex
    from tensorrag.pipeline._pipeline import Node, Pipeline

__all__ = [
    "check_node_id",
    "config_error",
    "edge_problem",
    "pick_ports",
    "port_problem",
    "ports_of_type",
    "problems",
    "unknown_type",
]

_NODE_ID = re.compile(NODE_ID_PATTERN)  # the pattern spec.py checks files with


def problems(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every problem of the graph, as ``[{"node_id", "field"?, "message"}]`` (call under its lock)."""
    nodes, edges = pipeline._nodes, pipeline._edges
    out: list[dict[str, Any]] = []
    known = pipeline.registry.names()
    for node in nodes.values():
        if node.card is None and node.load_error:
            out.append({"node_id": node.id, "message": node.load_error})
            continue
        for field, message in resource_problems(node.resources):
            out.append({"node_id": node.id, "field": field, "message": message})
        if node.card is None:  # one wording for unknown types, here and in add()
            out.append({"node_id": node.id, "message": str(unknown_type(pipeline, node.card_type, known))})
            continue
        for bad in node._config_problems():
            out.append({"node_id": node.id, "field": bad["field"], "message": bad["message"]})
    fed: dict[tuple[str, str], str] = {}
    for edge in edges:
        src, dst = nodes.get(edge.source), nodes.get(edge.target)
        if src is None or dst is None:
            missing = edge.source if src is None else edge.target
            present = dst.id if src is None and dst is not None else src.id if src is not None else None
            out.append({"node_id": present, "message": f"Edge {edge.id!r} refers to missing node {missing!r}."})
            continue
        problem = port_problem(src, edge.source_output, dst, edge.target_input)
        if problem:
            out.append({"node_id": dst.id, "field": edge.target_input, "message": problem})
        key = (dst.id, edge.target_input)
        if key in fed:
            out.append(
                {
                    "node_id": dst.id,
                    "field": edge.target_input,
                    "message": f"Input {edge.target_input!r} has two incoming edges ({fed[key]!r} and "
                    f"{edge.source!r}); an input takes exactly one.",
                }
            )
        fed.setdefault(key, edge.source)
    for node in nodes.values():
        for port, port_type in node.inputs.items():
            if (node.id, port) not in fed:
                out.append(
                    {
                        "node_id": node.id,
                        "field": port,
                        "message": f"Required input {port!r} ({port_type}) is not connected.",
                    }
                )
    cycle = find_cycle(nodes, edges)
    if cycle:
        path = " -> ".join([*cycle, cycle[0]])
        out.append({"node_id": cycle[0], "message": f"The pipeline contains a cycle: {path}."})
    return out


def unknown_type(pipeline: Pipeline, card_type: str, known: list[str]) -> UnknownCardTypeError:
    """The error for a card type the pipeline's registry does not have."""
    # The project knows when one of its card files should define this type but failed to load.
    explain = getattr(pipeline.project, "card_problem", None)
    note = explain(card_type) if callable(explain) else None
    return UnknownCardTypeError(card_type, known, note)


def port_problem(src: Node, out: str, dst: Node, inp: str) -> str | None:
    """What is wrong with the ports of an edge ``src.out -> dst.inp``, or None."""
    if src.card is None or dst.card is None:
        return None  # reported as an unknown card type
    outputs, inputs = src.outputs, dst.inputs  # each builds a dict: once per edge
    if out not in outputs:
        return f"Node {src.id!r} ({src.card_type}) has no output {out!r}.{_did_you_mean(out, outputs)}"
    if inp not in inputs:
        return f"Node {dst.id!r} ({dst.card_type}) has no input {inp!r}.{_did_you_mean(inp, inputs)}"
    out_t, in_t = outputs[out], inputs[inp]
    if not port_compatible(out_t, in_t):
        return (
            f"Type mismatch: {src.id}.{out} gives {out_t!r} but {dst.id}.{inp} expects {in_t!r}."
            + ports_of_type(inputs, out_t, f"inputs of {dst.id!r}")
        )
    return None


def edge_problem(edges: EdgeIndex, src: Node, out: str, dst: Node, inp: str) -> str | None:
    """Why the new edge ``src.out -> dst.inp`` cannot join ``edges``, or None (looks only near its ends)."""
    if src.card is None or dst.card is None:
        bad = src if src.card is None else dst
        return f"Node {bad.id!r} has unknown card type {bad.card_type!r}; fix it before connecting."
    if src.id == dst.id:
        return f"Cannot connect node {src.id!r} to itself."
    problem = port_problem(src, out, dst, inp)
    if problem:
        return problem
    for edge in edges.into.get(dst.id, ()):
        if edge.target_input == inp:
            return (
                f"Input {dst.id}.{inp} is already fed by {edge.source}.{edge.source_output}; "
                "disconnect that edge first."
            )
    if edges.reaches(dst.id, src.id):
        return f"Connecting {src.id} -> {dst.id} would create a cycle."
    return None


def pick_ports(edges: EdgeIndex, src: Node, dst: Node, out: str | None, inp: str | None) -> tuple[str, str]:
    """The one compatible free (output, input) pair for ``connect(src, dst)`` with ports left out.

    Raises:
        WiringError: no pair, or several (the message lists the ports to choose from).
    """
    taken = {e.target_input for e in edges.into.get(dst.id, ())}
    pairs = [
        (o, i)
        for o, ot in src.outputs.items()
        for i, it in dst.inputs.items()
        if (out in (None, o)) and (inp in (None, i)) and i not in taken and port_compatible(ot, it)
    ]
    named = [(o, i) for o, i in pairs if o == i]
    if len(named) == 1 or len(pairs) == 1:
        return (named or pairs)[0]
    what = "no" if not pairs else f"{len(pairs)}"
    raise WiringError(
        f"Cannot choose ports for {src.id} -> {dst.id}: {what} compatible (output, input) pairs "
        f"{pairs if pairs else ''}. Name them: connect({src.id!r}, OUTPUT, {dst.id!r}, INPUT); "
        f"outputs {dict(src.outputs)}, inputs {dict(dst.inputs)}."
    )


def check_node_id(node_id: str) -> str:
    """``node_id`` when it is a valid node id.

    Raises:
        WiringError: it is not (the message gives the rule).
    """
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        raise WiringError(
            f"Invalid node id {safe_repr(node_id)}: use 1-128 characters from letters, digits, '_', '-', '.', ':' "
            "(starting with a letter, digit or '_')."
        )
    return node_id


def config_error(node: Node, problems: list[dict[str, str]]) -> CardConfigError:
    """The error for a node whose config breaks its card's schema (every bad field listed)."""
    lines = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return CardConfigError(
        f"Invalid config for node {node.id!r} ({node.card_type}): {lines}",
        node_id=node.id,
        card_type=node.card_type,
        problems=[{"node_id": node.id, **p} for p in problems],
    )


def ports_of_type(ports: Mapping[str, str], wanted: str, where: str) -> str:
    """A sentence naming the ``ports`` that accept ``wanted`` ("" when none do)."""
    fits = [p for p, t in ports.items() if port_compatible(wanted, t)]
    return f" Compatible {where}: {', '.join(fits)}." if fits else ""


def _did_you_mean(word: str, options: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    if close:
        return f" Did you mean {close[0]!r}?"
    return f" It has: {', '.join(options) or 'none'}."
