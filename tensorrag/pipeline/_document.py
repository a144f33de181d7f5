"""A pipeline as a ``_pipeline.json`` document: build one, read one into a pipeline, load and save files.

Reading never half-applies: :func:`load_spec` fills a fresh pipeline, and :func:`replace` parses the
whole document into a staging pipeline before it touches the one being replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tensorrag._args import check_path
from tensorrag._fs import write_atomic
from tensorrag.cards import card_class_of
from tensorrag.errors import (
    ArtifactNotFoundError,
    DuplicateNodeError,
    StorageError,
    TensorragError,
    UnknownCardTypeError,
)
from tensorrag.pipeline._memo import memoised
from tensorrag.pipeline._node import Node
from tensorrag.spec import GraphSpec, json_copy

if TYPE_CHECKING:
    import os

    from tensorrag.pipeline._pipeline import Pipeline

__all__ = ["load_spec", "parse", "read_file", "replace", "set_extra", "shared_dict", "to_dict", "write_file"]


def shared_dict(pipeline: Pipeline) -> dict[str, Any]:
    """:func:`to_dict`, shared until the pipeline's next edit: what a run records (never mutate it)."""
    with pipeline._lock:
        doc: dict[str, Any] = memoised(pipeline, "document", to_dict)
        return doc


def to_dict(pipeline: Pipeline) -> dict[str, Any]:
    """The ``_pipeline.json`` document of ``pipeline`` (design.md §3)."""
    with pipeline._lock:
        spec = GraphSpec(
            nodes=[n.to_spec() for n in pipeline._nodes.values()],
            edges=[json_copy(e) for e in pipeline._edges],
            node_counter=pipeline._counter,
            name=pipeline.name,
            extra=json_copy(pipeline._doc_extra),
        )
    return spec.to_dict()


def parse(doc: Mapping[str, Any]) -> GraphSpec:
    """The graph document ``doc``, checked (a mapping is copied first so the parse cannot change it).

    Raises:
        SpecError: the document is malformed.
    """
    return GraphSpec.from_dict(dict(doc) if isinstance(doc, Mapping) else doc)


def load_spec(pipeline: Pipeline, spec: GraphSpec) -> None:
    """Fill an empty ``pipeline`` from ``spec``; card types it cannot resolve are kept for ``validate``.

    Raises:
        DuplicateNodeError: two nodes share an id.
    """
    for ns in spec.nodes:
        if ns.id in pipeline._nodes:
            raise DuplicateNodeError(f"Two nodes share the id {ns.id!r}; node ids must be unique.")
        load_error = None
        try:
            card = card_class_of(pipeline.registry.get(ns.card_type))
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
            pipeline, ns.id, ns.card_type, card, dict(ns.config), dict(ns.position), ns.resources, extra, ns.cache,
            ns.disabled,
        )
        node.load_error = load_error
        pipeline._nodes[ns.id] = node
    pipeline._edges = list(spec.edges)
    pipeline._counter = spec.node_counter
    pipeline._doc_extra = spec.extra


def replace(pipeline: Pipeline, doc: Mapping[str, Any]) -> None:
    """Swap ``pipeline``'s graph for ``doc`` (parsed fully first; on error ``pipeline`` is unchanged).

    Raises:
        SpecError: the document is malformed.
        DuplicateNodeError: two nodes share an id.
    """
    from tensorrag.pipeline._pipeline import Pipeline  # _pipeline imports this module at load time

    spec = parse(doc)
    staging = Pipeline(pipeline.name, registry=pipeline.registry)
    load_spec(staging, spec)  # parse fully before touching the pipeline
    with pipeline._lock:
        pipeline._nodes = {nid: n for nid, n in staging._nodes.items()}
        for n in pipeline._nodes.values():
            n._pipeline = pipeline
        pipeline._edges = staging._edges
        pipeline._counter = staging._counter
        pipeline._doc_extra = staging._doc_extra
        if spec.name:
            pipeline.name = spec.name


def set_extra(pipeline: Pipeline, extra: Mapping[str, Any]) -> bool:
    """Replace the document's top-level keys that tensorrag does not read (e.g. the canvas's ``ui``).

    They are kept verbatim (design.md §3: round trips are lossless) and never reach a run; observers
    get ``{"op": "update_doc", "keys": [...]}`` so every canvas of the pipeline redraws.

    Returns:
        Whether anything changed.
    """
    new = json_copy(dict(extra))
    with pipeline._lock:
        old = pipeline._doc_extra
        if old == new:
            return False
        pipeline._doc_extra = new
    pipeline._emit({"op": "update_doc", "keys": sorted(set(old) | set(new))})
    return True


def read_file(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """(the checked path, the bytes) of a pipeline file (any fsspec URL or local path).

    Raises:
        ArtifactNotFoundError: no such file.
        StorageError: it cannot be read.
    """
    import fsspec

    target = check_path(path, "A pipeline file")
    try:
        with fsspec.open(target, "rb") as fh:
            data: bytes = fh.read()
    except FileNotFoundError:
        raise ArtifactNotFoundError(f"No pipeline file at {target!r}.") from None
    except (OSError, ValueError) as exc:  # a folder, no permission, a malformed URL
        raise StorageError(f"Cannot read the pipeline file {target!r}: {exc}") from exc
    return target, data


def write_file(path: str | os.PathLike[str], data: bytes) -> str:
    """Write a pipeline file (atomically for local paths) and return the checked path.

    Raises:
        StorageError: the file cannot be written.
    """
    import fsspec

    target = check_path(path, "A pipeline file")
    try:
        if "://" not in target:
            write_atomic(target, data)
        else:
            with fsspec.open(target, "wb") as fh:
                fh.write(data)
    except (OSError, ValueError) as exc:
        raise StorageError(f"Cannot write the pipeline file {target!r}: {exc}") from exc
    return target
