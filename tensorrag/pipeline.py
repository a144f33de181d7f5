"""``Pipeline``: a mutable, observable DAG of card nodes.

Build it in code, load it from ``_pipeline.json``, or let the canvas edit it — every edit goes
through the methods here, so all three get the same checks and the same errors::

    p = Pipeline("regression")
    p.add("data_load", id="load", source="sample", sample_name="diabetes")
    p.add("data_split", id="split", test_ratio=0.2)
    p.connect("load", "dataset", "split", "dataset")
    p.validate()                      # raises PipelineValidationError listing every problem
    run = p.run()

``connect`` refuses a bad edge at once (unknown node or port, incompatible types, an input that
is already fed). ``validate`` reports everything a loaded file can get wrong, all together.
Subscribers (``p.subscribe(fn)``) are called with ``{"op": ..., ...}`` after every change.
"""

from __future__ import annotations

import difflib
import heapq
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tensorrag._args import check_path, check_position, check_resources, check_text
from tensorrag.cards import BaseCard, card_class_of
from tensorrag.cards.resources import resource_problems
from tensorrag.cards.schema import validate_config
from tensorrag.errors import (
    ArgumentError,
    ArtifactNotFoundError,
    CardConfigError,
    ConfigError,
    DuplicateNodeError,
    PipelineValidationError,
    RegistryError,
    SpecError,
    StorageError,
    TensorragError,
    UnknownCardTypeError,
    UnknownNodeError,
    WiringError,
    check_keywords,
)
from tensorrag.registry import Registry, card_registry
from tensorrag.spec import (
    NODE_ID_PATTERN,
    EdgeSpec,
    GraphSpec,
    NodeSpec,
    json_copy,
    load_json,
    port_compatible,
    safe_repr,
)

if TYPE_CHECKING:  # through run, the one module above that pipeline may name
    from tensorrag.run import ArtifactStore, Executor, Run
    from tensorrag.run import Listener as RunListener

__all__ = ["Edge", "Node", "Pipeline"]

Edge = EdgeSpec
"""An edge ``source.source_output -> target.target_input`` (see :class:`tensorrag.spec.EdgeSpec`)."""

_NODE_ID = re.compile(NODE_ID_PATTERN)  # the pattern spec.py checks files with
Listener = Callable[[dict[str, Any]], None]


class Node:
    """One card instance in a pipeline. Change it through the pipeline (or ``node.configure``).

    Attributes:
        id: stable node id.
        card_type: the card's registry name.
        card: the card class, or None when the type is unknown (``validate`` reports it).
        cache: False when the node never uses the cache (always runs, never commits an entry).
    """

    __slots__ = (
        "_config",
        "_memo",
        "_pipeline",
        "_spec_extra",
        "cache",
        "card",
        "card_type",
        "id",
        "load_error",
        "position",
        "resources",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        id: str,
        card_type: str,
        card: type[BaseCard] | None,
        config: dict[str, Any],
        position: dict[str, float],
        resources: dict[str, Any] | None,
        spec_extra: dict[str, Any] | None = None,
        cache: bool = True,
    ) -> None:
        self._pipeline = pipeline
        self.id = id
        self.card_type = card_type
        self.card = card
        self._config = config
        self.position = position
        self.resources = resources
        self.cache = cache
        self._spec_extra = spec_extra or {}
        self.load_error: str | None = None  # why a registered card type could not be loaded
        self._memo: tuple[Any, Any, dict[str, Any], list[dict[str, str]]] | None = None

    @property
    def config(self) -> Mapping[str, Any]:
        """The config as given (read-only; defaults are filled at validation)."""
        return MappingProxyType(self._config)

    @property
    def inputs(self) -> dict[str, str]:
        """Input ports -> types ({} for an unknown card type)."""
        return self.card.inputs() if self.card else {}

    @property
    def outputs(self) -> dict[str, str]:
        """Output ports -> types ({} for an unknown card type)."""
        return self.card.outputs() if self.card else {}

    def configure(self, **values: Any) -> Node:
        """Merge ``values`` into the config (validated; see :meth:`Pipeline.configure`)."""
        return self._pipeline.configure(self.id, **values)

    def resolved_config(self) -> dict[str, Any]:
        """The config with defaults filled and values coerced.

        Raises:
            CardConfigError: the config does not fit the card's schema.
        """
        filled, problems = self._check_config()
        if problems:
            raise _config_error(self, problems)
        return filled

    def _check_config(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        if self.card is None:
            return dict(self._config), []
        # Configs are replaced, never mutated in place, so (config object, card) identifies a result.
        memo = self._memo
        if memo is None or memo[0] is not self._config or memo[1] is not self.card:
            filled, problems = validate_config(self.card.json_schema(), self._config)
            memo = self._memo = (self._config, self.card, filled, problems)
        return json_copy(memo[2]), list(memo[3])

    def to_spec(self) -> NodeSpec:
        """This node as a graph-document node."""
        return NodeSpec(
            id=self.id,
            card_type=self.card_type,
            config=json_copy(self._config),
            position=dict(self.position),
            resources=json_copy(self.resources) if self.resources else None,
            cache=self.cache,
            **json_copy(self._spec_extra),
        )

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.card_type!r}, config={dict(self._config)!r})"


class Pipeline:
    """A DAG of card nodes; see the module docstring.

    Args:
        name: the pipeline's name (also the default project folder for its runs).
        registry: where card types are looked up; defaults to a child of the global registry,
            so classes registered on this pipeline shadow nothing elsewhere.
        project: a workspace project whose registry (and storage) the pipeline uses.
    """

    def __init__(self, name: str = "pipeline", *, registry: Registry | None = None, project: Any = None) -> None:
        self.name: str = check_text(name, "A pipeline name")
        self.project = project
        parent = registry or getattr(project, "registry", None) or card_registry
        self.registry: Registry = parent.child() if registry is None else registry
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._counter = 0
        self._doc_extra: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ reading

    @property
    def nodes(self) -> Mapping[str, Node]:
        """Node id -> :class:`Node`, in insertion order (read-only view)."""
        return MappingProxyType(self._nodes)

    @property
    def edges(self) -> list[Edge]:
        """The edges, in insertion order (a copy)."""
        return list(self._edges)

    def node(self, node: str | Node) -> Node:
        """The node with this id.

        Raises:
            UnknownNodeError: no such node (with did-you-mean).
        """
        node_id = node.id if isinstance(node, Node) else node
        if not isinstance(node_id, str):
            got = f"{type(node_id).__name__} {safe_repr(node_id)}"
            raise ArgumentError(f"A node must be given as a Node or its id (a string); got {got}.")
        try:
            return self._nodes[node_id]
        except KeyError:
            raise UnknownNodeError(node_id, list(self._nodes)) from None

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes.values()))

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, {len(self._nodes)} nodes, {len(self._edges)} edges)"

    def __eq__(self, other: object) -> bool:
        # Same graph: nodes, configs, positions, resources, edges and name (the id counter is bookkeeping).
        if not isinstance(other, Pipeline):
            return NotImplemented
        mine, theirs = self.to_dict(), other.to_dict()
        mine.pop("nodeCounter"), theirs.pop("nodeCounter")
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]  # mutable

    # ------------------------------------------------------------------ observing

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` after every change; returns a function that unsubscribes.

        Events: ``{"op": "add_node", "node_id"}``, ``remove_node``, ``update_node`` (with
        ``fields``), ``connect``/``disconnect`` (with ``edge``: the edge dict), ``register``
        (``card_type``) and ``load`` (the whole graph was replaced).
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(event)

    # ------------------------------------------------------------------ editing

    def register(self, card: Any, *, clobber: bool = False) -> type[BaseCard]:
        """Make a card class (or ``@card`` function) available to this pipeline by its card_type.

        Raises:
            CardDefinitionError: the class breaks the card contract.
            RegistryError: another class already has that card_type here (pass ``clobber=True``).
        """
        cls = card_class_of(card)
        cls.check_definition()
        with self._lock:
            current = self.registry.view.get(cls.card_type)
            # Re-running a notebook cell redefines the same class: replace it quietly.
            same = isinstance(current, type) and (current.__module__, current.__qualname__) == (
                cls.__module__,
                cls.__qualname__,
            )
            self.registry.register(cls.card_type, cls, clobber=clobber or same)
            for node in self._nodes.values():
                if node.card_type == cls.card_type:
                    node.card, node.load_error = cls, None
        self._emit({"op": "register", "card_type": cls.card_type})
        return cls

    def add(
        self,
        card: str | type[BaseCard] | Any,
        /,
        id: str | None = None,
        *,
        position: Mapping[str, float] | None = None,
        resources: Mapping[str, Any] | None = None,
        cache: bool = True,
        **config: Any,
    ) -> Node:
        """Add a node.

        Args:
            card: a card type name, a :class:`BaseCard` subclass or an ``@card`` function.
            id: the node id; default ``{card_type}-{n}``.
            position: canvas position ``{"x", "y"}``; default placed after the last node.
            resources: per-node executor hints (``{"gpu": "A10G", "timeout": 900}``).
            cache: False to never cache this node (it always runs; see docs/cache.md).
            **config: config values; checked now against the card's schema.

        Returns:
            The new :class:`Node`.

        Raises:
            UnknownCardTypeError: no card of that type (with did-you-mean).
            DuplicateNodeError: the id is taken.
            CardConfigError: the config does not fit the schema (every bad field listed).
        """
        if not isinstance(cache, bool):
            raise ConfigError(f"add(..., cache=...) must be True or False; got {cache!r}.")
        if isinstance(card, str):
            try:
                card_type, cls = card, self.registry.get(card)
            except UnknownCardTypeError as exc:
                raise self._unknown_type(card, exc.available) from None
            cls = card_class_of(cls)
        else:
            cls = self.register(card) if self._needs_register(card) else card_class_of(card)
            card_type = cls.card_type
        with self._lock:
            node_id = self._new_id(card_type) if id is None else _check_node_id(id)
            if node_id in self._nodes:
                raise DuplicateNodeError(f"A node with id {node_id!r} already exists in pipeline {self.name!r}.")
            pos = check_position(position, f"node {node_id!r}") if position else self._next_position()
            hints = check_resources(resources, f"node {node_id!r}")
            node = Node(self, node_id, card_type, cls, dict(config), pos, hints, cache=cache)
            _, problems = node._check_config()
            if problems:
                raise _config_error(node, problems)
            self._nodes[node_id] = node
            self._counter += 1
        self._emit({"op": "add_node", "node_id": node_id})
        return node

    def _needs_register(self, card: Any) -> bool:
        cls = card_class_of(card)
        try:
            return self.registry.get(cls.card_type) is not cls
        except RegistryError:
            return True

    def remove(self, node: str | Node) -> None:
        """Remove a node and every edge touching it.

        Raises:
            UnknownNodeError: no such node.
        """
        with self._lock:
            target = self.node(node)
            dropped = [e for e in self._edges if target.id in (e.source, e.target)]
            self._edges = [e for e in self._edges if target.id not in (e.source, e.target)]
            del self._nodes[target.id]
        for edge in dropped:
            self._emit({"op": "disconnect", "edge": edge.to_dict()})
        self._emit({"op": "remove_node", "node_id": target.id})

    def connect(
        self,
        source: str | Node,
        source_output: str | None = None,
        target: str | Node | None = None,
        target_input: str | None = None,
    ) -> Edge:
        """Connect ``source.source_output`` to ``target.target_input``.

        ``p.connect("a", "b")`` (two nodes, no ports) picks the only compatible pair of ports.

        Raises:
            UnknownNodeError: a node does not exist.
            WiringError: unknown port (with did-you-mean), incompatible types, the input is
                already fed, a self-loop, or an ambiguous port pair.
        """
        if target is None and source_output is not None:
            source_output, target = None, source_output  # connect("a", "b")
        if target is None:
            raise WiringError("connect() needs a target node: connect(source, output, target, input).")
        for port in (source_output, target_input):
            if port is not None and not isinstance(port, str):
                raise ArgumentError(f"Port names must be strings; got {type(port).__name__} {safe_repr(port)}.")
        with self._lock:
            src, dst = self.node(source), self.node(target)
            if source_output is None or target_input is None:
                source_output, target_input = self._pick_ports(src, dst, source_output, target_input)
            problem = self._edge_problem(src, source_output, dst, target_input)
            if problem:
                raise WiringError(problem)
            edge = Edge(source=src.id, source_output=source_output, target=dst.id, target_input=target_input)
            self._edges.append(edge)
        self._emit({"op": "connect", "edge": edge.to_dict()})
        return edge

    def disconnect(
        self,
        source: str | Node | Edge,
        source_output: str | None = None,
        target: str | Node | None = None,
        target_input: str | None = None,
    ) -> Edge:
        """Remove an edge (given as an :class:`Edge`, its id, or its four ends).

        Raises:
            WiringError: no such edge.
        """
        with self._lock:
            if isinstance(source, EdgeSpec):
                match = [e for e in self._edges if e.id == source.id]
            elif source_output is None and target is None:
                match = [e for e in self._edges if e.id == source]
            else:
                sid = source.id if isinstance(source, Node) else source
                tid = target.id if isinstance(target, Node) else target
                match = [
                    e
                    for e in self._edges
                    if e.source == sid
                    and e.target == tid
                    and source_output in (None, e.source_output)
                    and target_input in (None, e.target_input)
                ]
            if not match:
                ends = " ".join(map(safe_repr, (source, source_output))) + " -> "
                ends += " ".join(map(safe_repr, (target, target_input)))
                raise WiringError(f"No such edge: {ends}")
            edge = match[0]
            self._edges.remove(edge)
        self._emit({"op": "disconnect", "edge": edge.to_dict()})
        return edge

    def configure(self, node: str | Node, _replace: bool = False, /, **values: Any) -> Node:
        """Merge ``values`` into a node's config (``None`` removes a key), checked against its schema.

        Raises:
            UnknownNodeError: no such node.
            CardConfigError: the new config does not fit (the node keeps its old config).
        """
        with self._lock:
            target = self.node(node)
            new = {} if _replace else dict(target._config)
            for key, value in values.items():
                if value is None and not _replace:
                    new.pop(key, None)
                else:
                    new[key] = value
            old, target._config = target._config, new
            _, problems = target._check_config()
            if problems:
                target._config = old
                raise _config_error(target, problems)
        self._emit({"op": "update_node", "node_id": target.id, "fields": ["config"]})
        return target

    def set_config(self, node: str | Node, config: Mapping[str, Any]) -> Node:
        """Replace a node's whole config (checked; see :meth:`configure`)."""
        return self.configure(node, True, **dict(config))

    def move(self, node: str | Node, x: float, y: float) -> Node:
        """Set a node's canvas position."""
        with self._lock:
            target = self.node(node)
            target.position = check_position({"x": x, "y": y}, f"node {target.id!r}")
        self._emit({"op": "update_node", "node_id": target.id, "fields": ["position"]})
        return target

    def set_resources(self, node: str | Node, resources: Mapping[str, Any] | None) -> Node:
        """Set (or clear, with None) a node's executor hints."""
        with self._lock:
            target = self.node(node)
            target.resources = check_resources(resources, f"node {target.id!r}")
        self._emit({"op": "update_node", "node_id": target.id, "fields": ["resources"]})
        return target

    def set_cache(self, node: str | Node, enabled: bool) -> Node:
        """Let a node use the cache (True, the default) or never cache it (False; see docs/cache.md).

        Raises:
            ConfigError: ``enabled`` is not a bool.
        """
        if not isinstance(enabled, bool):
            raise ConfigError(f"set_cache(node, enabled) needs True or False; got {enabled!r}.")
        with self._lock:
            target = self.node(node)
            target.cache = enabled
        self._emit({"op": "update_node", "node_id": target.id, "fields": ["cache"]})
        return target

    # ------------------------------------------------------------------ checking

    def problems(self) -> list[dict[str, Any]]:
        """Every problem of the graph, as ``[{"node_id", "field"?, "message"}]`` (empty when valid)."""
        with self._lock:
            return self._problems()

    def validate(self) -> Pipeline:
        """Check the whole graph; returns ``self`` when valid.

        Raises:
            PipelineValidationError: with ``.problems`` listing everything wrong at once.
        """
        found = self.problems()
        if found:
            raise PipelineValidationError(found, self.name)
        return self

    def _problems(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        known = self.registry.names()
        for node in self._nodes.values():
            if node.card is None and node.load_error:
                out.append({"node_id": node.id, "message": node.load_error})
                continue
            for field, message in resource_problems(node.resources):
                out.append({"node_id": node.id, "field": field, "message": message})
            if node.card is None:  # one wording for unknown types, here and in add()
                out.append({"node_id": node.id, "message": str(self._unknown_type(node.card_type, known))})
                continue
            for bad in node._check_config()[1]:
                out.append({"node_id": node.id, "field": bad["field"], "message": bad["message"]})
        fed: dict[tuple[str, str], str] = {}
        for edge in self._edges:
            src, dst = self._nodes.get(edge.source), self._nodes.get(edge.target)
            if src is None or dst is None:
                missing = edge.source if src is None else edge.target
                present = dst.id if src is None and dst is not None else src.id if src is not None else None
                out.append({"node_id": present, "message": f"Edge {edge.id!r} refers to missing node {missing!r}."})
                continue
            problem = self._port_problem(src, edge.source_output, dst, edge.target_input)
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
        for node in self._nodes.values():
            for port in node.inputs:
                if (node.id, port) not in fed:
                    out.append(
                        {
                            "node_id": node.id,
                            "field": port,
                            "message": f"Required input {port!r} ({node.inputs[port]}) is not connected.",
                        }
                    )
        cycle = self._find_cycle()
        if cycle:
            path = " -> ".join([*cycle, cycle[0]])
            out.append({"node_id": cycle[0], "message": f"The pipeline contains a cycle: {path}."})
        return out

    def _unknown_type(self, card_type: str, known: list[str]) -> UnknownCardTypeError:
        # The project knows when one of its card files should define this type but failed to load.
        explain = getattr(self.project, "card_problem", None)
        note = explain(card_type) if callable(explain) else None
        return UnknownCardTypeError(card_type, known, note)

    def _port_problem(self, src: Node, out: str, dst: Node, inp: str) -> str | None:
        if src.card is None or dst.card is None:
            return None  # reported as an unknown card type
        if out not in src.outputs:
            return f"Node {src.id!r} ({src.card_type}) has no output {out!r}.{_did_you_mean(out, src.outputs)}"
        if inp not in dst.inputs:
            return f"Node {dst.id!r} ({dst.card_type}) has no input {inp!r}.{_did_you_mean(inp, dst.inputs)}"
        out_t, in_t = src.outputs[out], dst.inputs[inp]
        if not port_compatible(out_t, in_t):
            return (
                f"Type mismatch: {src.id}.{out} gives {out_t!r} but {dst.id}.{inp} expects {in_t!r}."
                + _ports_of_type(dst.inputs, out_t, f"inputs of {dst.id!r}")
            )
        return None

    def _edge_problem(self, src: Node, out: str, dst: Node, inp: str) -> str | None:
        if src.card is None or dst.card is None:
            bad = src if src.card is None else dst
            return f"Node {bad.id!r} has unknown card type {bad.card_type!r}; fix it before connecting."
        if src.id == dst.id:
            return f"Cannot connect node {src.id!r} to itself."
        problem = self._port_problem(src, out, dst, inp)
        if problem:
            return problem
        for edge in self._edges:
            if edge.target == dst.id and edge.target_input == inp:
                return (
                    f"Input {dst.id}.{inp} is already fed by {edge.source}.{edge.source_output}; "
                    "disconnect that edge first."
                )
        if self._reaches(dst.id, src.id):
            return f"Connecting {src.id} -> {dst.id} would create a cycle."
        return None

    def _pick_ports(self, src: Node, dst: Node, out: str | None, inp: str | None) -> tuple[str, str]:
        taken = {e.target_input for e in self._edges if e.target == dst.id}
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

    def _reaches(self, start: str, goal: str) -> bool:
        children: dict[str, list[str]] = {}
        for e in self._edges:
            children.setdefault(e.source, []).append(e.target)
        stack, seen = [start], set()
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            if cur not in seen:
                seen.add(cur)
                stack.extend(children.get(cur, []))
        return False

    def _find_cycle(self) -> list[str]:
        children: dict[str, list[str]] = {n: [] for n in self._nodes}
        for e in self._edges:
            if e.source in children and e.target in children:
                children[e.source].append(e.target)
        color: dict[str, int] = dict.fromkeys(children, 0)
        for root in children:
            if color[root]:
                continue
            stack: list[tuple[str, Iterator[str]]] = [(root, iter(children[root]))]
            path = [root]
            color[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    color[node] = 2
                    stack.pop()
                    path.pop()
                elif color[nxt] == 1:
                    return path[path.index(nxt) :]
                elif color[nxt] == 0:
                    color[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, iter(children[nxt])))
        return []

    # ------------------------------------------------------------------ graph queries

    def upstream(self, node: str | Node) -> list[Edge]:
        """Edges feeding ``node``."""
        nid = self.node(node).id
        return [e for e in self._edges if e.target == nid]

    def downstream(self, node: str | Node) -> list[Edge]:
        """Edges leaving ``node``."""
        nid = self.node(node).id
        return [e for e in self._edges if e.source == nid]

    def ancestors(self, node_ids: Iterable[str]) -> set[str]:
        """Every node some of ``node_ids`` depend on (not including them)."""
        parents: dict[str, list[str]] = {}
        for e in self._edges:
            parents.setdefault(e.target, []).append(e.source)
        seen: set[str] = set()
        stack = list(node_ids)
        while stack:
            for p in parents.get(stack.pop(), []):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def descendants(self, node_ids: Iterable[str]) -> set[str]:
        """Every node that depends on some of ``node_ids`` (not including them)."""
        children: dict[str, list[str]] = {}
        for e in self._edges:
            children.setdefault(e.source, []).append(e.target)
        seen: set[str] = set()
        stack = list(node_ids)
        while stack:
            for c in children.get(stack.pop(), []):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def topological_order(self, node_ids: Iterable[str] | None = None) -> list[str]:
        """Node ids in dependency order; ties broken by insertion order (deterministic).

        Raises:
            PipelineValidationError: the graph has a cycle.
        """
        wanted = set(self._nodes) if node_ids is None else {self.node(n).id for n in node_ids}
        rank = {nid: i for i, nid in enumerate(self._nodes)}
        indeg = dict.fromkeys(wanted, 0)
        children: dict[str, list[str]] = {n: [] for n in wanted}
        for e in self._edges:
            if e.source in wanted and e.target in wanted:
                indeg[e.target] += 1
                children[e.source].append(e.target)
        heap = [(rank[n], n) for n, d in indeg.items() if d == 0]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, n = heapq.heappop(heap)
            order.append(n)
            for c in children[n]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(heap, (rank[c], c))
        if len(order) != len(wanted):
            raise PipelineValidationError(
                [{"node_id": None, "message": f"The pipeline contains a cycle: {' -> '.join(self._find_cycle())}."}],
                self.name,
            )
        return order

    # ------------------------------------------------------------------ documents

    def to_dict(self) -> dict[str, Any]:
        """The ``_pipeline.json`` document (design.md §3)."""
        with self._lock:
            spec = GraphSpec(
                nodes=[n.to_spec() for n in self._nodes.values()],
                edges=[json_copy(e) for e in self._edges],
                node_counter=self._counter,
                name=self.name,
                extra=json_copy(self._doc_extra),
            )
        return spec.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        """The ``_pipeline.json`` document as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(
        cls, doc: Mapping[str, Any], *, name: str | None = None, registry: Registry | None = None, project: Any = None
    ) -> Pipeline:
        """Build a pipeline from a graph document (current or original format).

        Unknown card types, bad ports and bad configs are kept and reported by :meth:`validate`,
        so a file can always be opened and fixed.

        Raises:
            SpecError: the document is malformed.
            DuplicateNodeError: two nodes share an id.
        """
        spec = GraphSpec.from_dict(dict(doc) if isinstance(doc, Mapping) else doc)
        p = cls(name or spec.name or "pipeline", registry=registry, project=project)
        p._load_spec(spec)
        return p

    @classmethod
    def from_json(
        cls, text: str | bytes | Mapping[str, Any], *, source: str = "The pipeline text", **kwargs: Any
    ) -> Pipeline:
        """Build a pipeline from ``_pipeline.json`` text (or an already parsed dict).

        Raises:
            SpecError: the text is not valid JSON (UTF-8, no NaN, bounded nesting) or not a graph
                document; the message starts with ``source``.
        """
        if isinstance(text, Mapping):
            return cls.from_dict(text, **kwargs)
        doc = load_json(text, source)
        try:
            return cls.from_dict(doc, **kwargs)
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], **kwargs: Any) -> Pipeline:
        """Read a ``_pipeline.json`` file (any fsspec URL or local path).

        Raises:
            ArtifactNotFoundError: no such file.
            StorageError: it cannot be read.
            SpecError: it is not a valid pipeline document (the message names the file).
        """
        import fsspec

        target = check_path(path, "A pipeline file")
        try:
            with fsspec.open(target, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"No pipeline file at {target!r}.") from None
        except (OSError, ValueError) as exc:  # a folder, no permission, a malformed URL
            raise StorageError(f"Cannot read the pipeline file {target!r}: {exc}") from exc
        return cls.from_json(data, source=f"Pipeline file {target!r}", **kwargs)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the document to a local path or fsspec URL (atomically for local paths).

        Raises:
            StorageError: the file cannot be written.
        """
        import fsspec

        data = self.to_json().encode()
        target = check_path(path, "A pipeline file")
        try:
            if "://" not in target:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                tmp = f"{target}.{os.getpid()}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            else:
                with fsspec.open(target, "wb") as fh:
                    fh.write(data)
        except (OSError, ValueError) as exc:
            raise StorageError(f"Cannot write the pipeline file {target!r}: {exc}") from exc
        return target

    def replace(self, doc: Mapping[str, Any]) -> Pipeline:
        """Replace the whole graph with ``doc`` in place (subscribers get one ``load`` event).

        Raises:
            SpecError: the document is malformed (the pipeline is left unchanged).
        """
        spec = GraphSpec.from_dict(dict(doc) if isinstance(doc, Mapping) else doc)
        staging = Pipeline(self.name, registry=self.registry)
        staging._load_spec(spec)  # parse fully before touching self
        with self._lock:
            self._nodes = {nid: n for nid, n in staging._nodes.items()}
            for n in self._nodes.values():
                n._pipeline = self
            self._edges = staging._edges
            self._counter = staging._counter
            self._doc_extra = staging._doc_extra
            if spec.name:
                self.name = spec.name
        self._emit({"op": "load"})
        return self

    def _load_spec(self, spec: GraphSpec) -> None:
        for ns in spec.nodes:
            if ns.id in self._nodes:
                raise DuplicateNodeError(f"Two nodes share the id {ns.id!r}; node ids must be unique.")
            load_error = None
            try:
                card = card_class_of(self.registry.get(ns.card_type))
            except UnknownCardTypeError:
                card = None
            except TensorragError as exc:  # registered, but it cannot load (e.g. a missing extra)
                card, load_error = None, str(exc)
            extra = {
                "card_schema": ns.card_schema,
                "node_type": ns.node_type,
                "extra": ns.extra,
                "data_extra": ns.data_extra,
            }
            node = Node(
                self, ns.id, ns.card_type, card, dict(ns.config), dict(ns.position), ns.resources, extra, ns.cache
            )
            node.load_error = load_error
            self._nodes[ns.id] = node
        self._edges = list(spec.edges)
        self._counter = spec.node_counter
        self._doc_extra = spec.extra

    def copy(self) -> Pipeline:
        """An independent copy (same registry, no subscribers)."""
        return Pipeline.from_dict(self.to_dict(), registry=self.registry, project=self.project)

    # ------------------------------------------------------------------ running

    @check_keywords
    def run(
        self,
        *,
        executor: str | Executor | None = None,
        storage: str | os.PathLike[str] | ArtifactStore | None = None,
        storage_options: Mapping[str, Any] | None = None,
        cache: bool = True,
        targets: Iterable[str] | None = None,
        fail_fast: bool = False,
        on_event: RunListener | Iterable[RunListener] | None = None,
        max_workers: int | None = None,
        project: str | None = None,
        user: str | None = None,
        wait: bool = True,
        progress: bool | None = None,
    ) -> Run:
        """Run the pipeline; see :func:`tensorrag.run.run_pipeline` for the arguments (the same ones).

        Raises:
            ArgumentError: an argument it does not take (with did-you-mean: ``target`` -> ``targets``).
            PipelineValidationError: the pipeline (or the part ``targets`` needs) is invalid.
        """
        from tensorrag.run import run_pipeline

        return run_pipeline(
            self, executor=executor, storage=storage, storage_options=storage_options, cache=cache, targets=targets,
            fail_fast=fail_fast, on_event=on_event, max_workers=max_workers, project=project, user=user, wait=wait,
            progress=progress,
        )

    def canvas(self, **kwargs: Any) -> Any:
        """Show this pipeline on the notebook canvas (``pip install 'tensorrag[widget]'``).

        Edits on the canvas change this pipeline and changes made here redraw the canvas.
        """
        from tensorrag.widget import Canvas

        return Canvas(self, **kwargs)

    def to_python(self) -> str:
        """Python source that rebuilds this pipeline with the public API (paste it into a script)."""
        from tensorrag.codegen import pipeline_to_python

        return pipeline_to_python(self)

    # ------------------------------------------------------------------ helpers

    def _new_id(self, card_type: str) -> str:
        n = self._counter + 1
        while f"{card_type}-{n}" in self._nodes:
            n += 1
        return f"{card_type}-{n}"

    def _next_position(self) -> dict[str, float]:
        if not self._nodes:
            return {"x": 0.0, "y": 0.0}
        last = next(reversed(self._nodes.values())).position
        return {"x": float(last.get("x", 0)) + 280.0, "y": float(last.get("y", 0))}


def _check_node_id(node_id: str) -> str:
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        raise WiringError(
            f"Invalid node id {safe_repr(node_id)}: use 1-128 characters from letters, digits, '_', '-', '.', ':' "
            "(starting with a letter, digit or '_')."
        )
    return node_id


def _config_error(node: Node, problems: list[dict[str, str]]) -> CardConfigError:
    lines = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return CardConfigError(
        f"Invalid config for node {node.id!r} ({node.card_type}): {lines}",
        node_id=node.id,
        card_type=node.card_type,
        problems=[{"node_id": node.id, **p} for p in problems],
    )


def _did_you_mean(word: str, options: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    if close:
        return f" Did you mean {close[0]!r}?"
    return f" It has: {', '.join(options) or 'none'}."


def _ports_of_type(ports: Mapping[str, str], wanted: str, where: str) -> str:
    fits = [p for p, t in ports.items() if port_compatible(wanted, t)]
    return f" Compatible {where}: {', '.join(fits)}." if fits else ""
