"""``Pipeline``: reading, observing and editing a DAG of card nodes, and the hand-offs above.

Every edit goes through these methods (code, a loaded file and the canvas alike), so all get the
same checks and errors. ``connect`` refuses a bad edge at once (unknown node or port, incompatible
types, an input that is already fed); ``validate`` reports everything a loaded file can get wrong,
all together. Subscribers (``p.subscribe(fn)``) are called with ``{"op": ..., ...}`` after every
change. The checks live in ``_checks``, graph algorithms in ``_graph``, documents in ``_document``,
the edge index (each node's incoming and outgoing edges, so ``connect`` looks only near its ends) in ``_index``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tensorrag._args import check_position, check_resources, check_text
from tensorrag.cards import BaseCard, card_class_of
from tensorrag.errors import (
    ArgumentError,
    ConfigError,
    DuplicateNodeError,
    PipelineValidationError,
    RegistryError,
    SpecError,
    UnknownCardTypeError,
    UnknownNodeError,
    WiringError,
    check_keywords,
)
from tensorrag.pipeline import _checks, _document, _graph
from tensorrag.pipeline._bypass import BypassMixin
from tensorrag.pipeline._index import EdgeIndex
from tensorrag.pipeline._memo import memoised
from tensorrag.pipeline._node import Node
from tensorrag.registry import Registry, card_registry
from tensorrag.spec import EdgeSpec, load_json, safe_repr

if TYPE_CHECKING:  # through run, the one module above that pipeline may name
    import os

    from tensorrag.run import ArtifactStore, Executor, Run
    from tensorrag.run import Listener as RunListener
    from tensorrag.sweep import Sweep

__all__ = ["Edge", "Listener", "Pipeline"]

Edge = EdgeSpec
"""An edge ``source.source_output -> target.target_input`` (see :class:`tensorrag.spec.EdgeSpec`)."""

Listener = Callable[[dict[str, Any]], None]


class Pipeline(BypassMixin):
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
        self._index = EdgeIndex()  # the edges, with each node's incoming / outgoing ones
        self._counter = 0
        self._doc_extra: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._rev = 0  # bumped by every edit (each emits an event): see _memo.memoised
        self._memos: dict[str, tuple[Any, Any]] = {}

    # ------------------------------------------------------------------ reading

    @property
    def _edges(self) -> list[Edge]:
        # The live list: change it only through self._index (or assign, which re-indexes).
        return self._index.edges

    @_edges.setter
    def _edges(self, edges: Iterable[Edge]) -> None:
        self._index.reset(edges)

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
        self._rev += 1
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
                raise _checks.unknown_type(self, card, exc.available) from None
            cls = card_class_of(cls)
        else:
            cls = self.register(card) if self._needs_register(card) else card_class_of(card)
            card_type = cls.card_type
        with self._lock:
            node_id = self._new_id(card_type) if id is None else _checks.check_node_id(id)
            if node_id in self._nodes:
                raise DuplicateNodeError(f"A node with id {node_id!r} already exists in pipeline {self.name!r}.")
            pos = check_position(position, f"node {node_id!r}") if position else self._next_position()
            hints = check_resources(resources, f"node {node_id!r}")
            node = Node(self, node_id, card_type, cls, dict(config), pos, hints, cache=cache)
            problems = node._config_problems()
            if problems:
                raise _checks.config_error(node, problems)
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
                source_output, target_input = _checks.pick_ports(self._index, src, dst, source_output, target_input)
            problem = _checks.edge_problem(self._index, src, source_output, dst, target_input)
            if problem:
                raise WiringError(problem)
            edge = Edge(source=src.id, source_output=source_output, target=dst.id, target_input=target_input)
            self._index.add(edge)
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
            self._index.remove(edge)
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
            problems = target._config_problems()
            if problems:
                target._config = old
                raise _checks.config_error(target, problems)
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
            return list(memoised(self, "problems", _checks.problems))

    def validate(self) -> Pipeline:
        """Check the whole graph; returns ``self`` when valid.

        Raises:
            PipelineValidationError: with ``.problems`` listing everything wrong at once.
        """
        found = self.problems()
        if found:
            raise PipelineValidationError(found, self.name)
        return self

    # ------------------------------------------------------------------ graph queries

    def upstream(self, node: str | Node) -> list[Edge]:
        """Edges feeding ``node``."""
        nid = self.node(node).id
        return self._index.feeding(nid)

    def downstream(self, node: str | Node) -> list[Edge]:
        """Edges leaving ``node``."""
        nid = self.node(node).id
        return self._index.leaving(nid)

    def ancestors(self, node_ids: Iterable[str]) -> set[str]:
        """Every node some of ``node_ids`` depend on (not including them)."""
        return _graph.ancestors(self._edges, node_ids)

    def descendants(self, node_ids: Iterable[str]) -> set[str]:
        """Every node that depends on some of ``node_ids`` (not including them)."""
        return _graph.descendants(self._edges, node_ids)

    def topological_order(self, node_ids: Iterable[str] | None = None) -> list[str]:
        """Node ids in dependency order; ties broken by insertion order (deterministic).

        Raises:
            PipelineValidationError: the graph has a cycle.
        """
        wanted = set(self._nodes) if node_ids is None else {self.node(n).id for n in node_ids}
        order = _graph.topological_order([n for n in self._nodes if n in wanted], self._edges)
        if len(order) != len(wanted):
            cycle = _graph.find_cycle(self._nodes, self._edges)
            raise PipelineValidationError(
                [{"node_id": None, "message": f"The pipeline contains a cycle: {' -> '.join(cycle)}."}], self.name
            )
        return order

    # ------------------------------------------------------------------ documents

    def to_dict(self) -> dict[str, Any]:
        """The ``_pipeline.json`` document (design.md §3)."""
        return _document.to_dict(self)

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
        spec = _document.parse(doc)
        p = cls(name or spec.name or "pipeline", registry=registry, project=project)
        _document.load_spec(p, spec)
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
        target, data = _document.read_file(path)
        return cls.from_json(data, source=f"Pipeline file {target!r}", **kwargs)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the document to a local path or fsspec URL (atomically for local paths).

        Raises:
            StorageError: the file cannot be written.
        """
        return _document.write_file(path, self.to_json().encode())

    def replace(self, doc: Mapping[str, Any]) -> Pipeline:
        """Replace the whole graph with ``doc`` in place (subscribers get one ``load`` event).

        Raises:
            SpecError: the document is malformed (the pipeline is left unchanged).
        """
        _document.replace(self, doc)
        self._emit({"op": "load"})
        return self

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
        echo: bool = True,
        rerun: Iterable[str] | None = None,
        save_pipeline: bool = True,
    ) -> Run:
        """Run the pipeline; see :func:`tensorrag.run.run_pipeline` for the arguments (the same ones).

        Raises:
            ArgumentError: an argument it does not take (with did-you-mean: ``target`` -> ``targets``).
            PipelineValidationError: the pipeline (or the part ``targets`` needs) is invalid.
            UnknownNodeError: a ``targets`` or ``rerun`` node that is not in the pipeline.
        """
        from tensorrag.run import run_pipeline

        return run_pipeline(
            self, executor=executor, storage=storage, storage_options=storage_options, cache=cache, targets=targets,
            fail_fast=fail_fast, on_event=on_event, max_workers=max_workers, project=project, user=user, wait=wait,
            progress=progress, echo=echo, rerun=rerun, save_pipeline=save_pipeline,
        )

    def sweep(self, space: Mapping[str, Any], **options: Any) -> Sweep:
        """This pipeline over many configs, as one plan: see :class:`tensorrag.sweep.Sweep` (same arguments)."""
        from tensorrag.sweep import Sweep

        return Sweep(self, space, **options)

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
