"""A sweep's space and metric: parsed and checked against the pipeline before anything runs, then drawn.

A space maps ``"node.field"`` (or ``"node.field.key..."`` into an object field such as
``hyperparameters``) to its values: a list for grid and random search alike, or, for random
search only, a callable ``rng -> value`` (``rng`` is a :class:`random.Random`) or a scipy-like
distribution (anything with ``rvs(random_state=...)``, e.g. ``scipy.stats.loguniform(1e-3, 1)``).
The node id is the longest dotted prefix that names a node, so ids with dots work (as in
``tensorrag run --param``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorrag.errors import SweepError, UnknownSweepFieldError

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline

__all__ = ["Axis", "Field", "Metric", "draw", "parse_metrics", "parse_space"]

#: Most branches one sweep may expand to (each is a copy of the swept part of the graph).
MAX_BRANCHES = 10_000


@dataclass(frozen=True)
class Field:
    """Where a swept value goes: ``node_id``'s config, at ``path`` (``("hyperparameters", "alpha")``)."""

    node_id: str
    path: tuple[str, ...]

    @property
    def key(self) -> str:
        """The space key: ``"node.field.sub"``."""
        return ".".join((self.node_id, *self.path))


@dataclass(frozen=True)
class Axis:
    """One swept field and its values (a list) or its sampler (a callable or a distribution)."""

    field: Field
    values: tuple[Any, ...] | None
    sampler: Callable[[random.Random], Any] | None = None

    def sample(self, rng: random.Random) -> Any:
        """One random value of this axis."""
        if self.values is not None:
            return self.values[rng.randrange(len(self.values))]
        assert self.sampler is not None
        return _plain(self.sampler(rng))


@dataclass(frozen=True)
class Metric:
    """What a branch is scored by: ``key`` of the artifact on ``node``'s output ``port`` (or the artifact itself)."""

    node_id: str
    port: str
    key: str | None = None

    @property
    def name(self) -> str:
        """The table column: ``node.port.key`` (``node.port`` when the artifact itself is the number)."""
        return ".".join(p for p in (self.node_id, self.port, self.key) if p)


def parse_space(pipeline: Pipeline, space: Mapping[str, Any], search: str) -> list[Axis]:
    """Check every key and value list of ``space`` against ``pipeline``.

    Raises:
        SweepError: an empty space, a key that is not a string, a value that is not a list (or a
            callable / distribution for random search), an empty list, two keys for one field.
        UnknownSweepFieldError: an unknown node or config field (with did-you-mean).
    """
    if not isinstance(space, Mapping):
        raise SweepError(f"A sweep space must be a dict of 'node.field' -> values; got {type(space).__name__}.")
    if not space:
        raise SweepError("The sweep space is empty: give at least one 'node.field': [values] entry.")
    axes: list[Axis] = []
    for key, values in space.items():
        field = parse_field(pipeline, key)
        for other in axes:
            if other.field.node_id == field.node_id and _overlaps(other.field.path, field.path):
                raise SweepError(f"Sweep keys {other.field.key!r} and {key!r} set the same config field; "
                                 "keep one of them.", key=key)
        axes.append(_axis(field, values, search))
    return axes


def parse_field(pipeline: Pipeline, key: Any) -> Field:
    """The :class:`Field` a space key names (node: the longest dotted prefix that is a node id).

    Raises:
        SweepError: the key is not a ``"node.field"`` string, or goes into a field that is not an object.
        UnknownSweepFieldError: no such node, or its card has no such config field.
    """
    if not isinstance(key, str) or "." not in key.strip(".") or ".." in key:
        raise SweepError(f"Sweep keys are 'node.field' strings (e.g. 'define.model_type'); got {key!r}.",
                         key=str(key))
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:cut]) in pipeline:
            break
    else:
        raise UnknownSweepFieldError(key, f"pipeline {pipeline.name!r}", "node", parts[0], [n.id for n in pipeline])
    node = pipeline.node(".".join(parts[:cut]))
    path = tuple(parts[cut:])
    schema = node.card.json_schema() if node.card is not None else {}
    props = schema.get("properties") or {}
    if props and path[0] not in props:
        raise UnknownSweepFieldError(key, f"node {node.id!r} ({node.card_type})", "config field", path[0], list(props))
    if len(path) > 1:
        prop = props.get(path[0]) or {}
        current = node.config.get(path[0], prop.get("default"))
        if not (isinstance(current, dict) or (current is None and prop.get("type") == "object")):
            raise SweepError(
                f"Sweep {key!r}: field {path[0]!r} of node {node.id!r} is not an object, so it has no key "
                f"{'.'.join(path[1:])!r}. Sweep the field whole: {node.id}.{path[0]}.", key=key)
        inner = prop.get("properties") or {}
        if inner and path[1] not in inner:
            raise UnknownSweepFieldError(key, f"field {node.id}.{path[0]}", "key", path[1], list(inner))
    return Field(node.id, path)


def parse_metrics(pipeline: Pipeline, metric: Any, swept: set[str]) -> list[Metric]:
    """The metric(s): ``(node, port, key)``, ``(node, port)`` or ``"node.port.key"``, or a list of them.

    The first one is what ``mode`` optimises; the others are extra table columns.

    Raises:
        SweepError: a malformed metric, or a metric node outside every branch (each would score the same).
        UnknownSweepFieldError: an unknown node or output port (with did-you-mean).
    """
    if metric is None:
        return []
    many = isinstance(metric, list) or (isinstance(metric, tuple) and metric and not isinstance(metric[0], str))
    items = list(metric) if many else [metric]
    out = [_metric(pipeline, item, swept) for item in items]
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise SweepError(f"A metric is named twice: {names}.")
    return out


def _metric(pipeline: Pipeline, item: Any, swept: set[str]) -> Metric:
    if isinstance(item, str):
        text = item
        parts = item.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # node ids may hold dots: the longest prefix that is a node
            if ".".join(parts[:cut]) in pipeline:
                break
        else:
            cut = 1
        item = (".".join(parts[:cut]), *parts[cut:cut + 1], *([".".join(parts[cut + 1:])] if parts[cut + 1:] else []))
    else:
        text = ".".join(map(str, item)) if isinstance(item, (tuple, list)) else repr(item)
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3) or not all(isinstance(x, str) for x in item):
        raise SweepError(f"A metric is (node, port, key), (node, port) or 'node.port.key'; got {text!r}.", key=text)
    node_id, port, key = item[0], item[1], item[2] if len(item) == 3 else None
    if node_id not in pipeline:
        raise UnknownSweepFieldError(text, f"pipeline {pipeline.name!r}", "node", node_id, [n.id for n in pipeline])
    outputs = pipeline.node(node_id).outputs
    if port not in outputs:
        raise UnknownSweepFieldError(text, f"node {node_id!r}", "output port", port, list(outputs))
    if node_id not in swept:
        raise SweepError(
            f"Metric {text!r}: node {node_id!r} is not downstream of any swept field, so every branch would score "
            f"the same. Score a node the swept nodes feed ({', '.join(sorted(swept)) or 'none'}).", key=text)
    return Metric(node_id, port, key or None)


def draw(axes: list[Axis], search: str, n: int | None, seed: int | None) -> list[dict[str, Any]]:
    """The branches' configs, ``{space key: value}`` each: the grid (last key fastest) or ``n`` random draws.

    Raises:
        SweepError: a bad ``search``, ``n`` or ``seed``, or more than :data:`MAX_BRANCHES` branches.
    """
    keys = [a.field.key for a in axes]
    if search == "grid":
        if n is not None:
            raise SweepError(f"n={n!r} is for search='random'; a grid runs every combination.")
        sizes = [len(a.values or ()) for a in axes]
        total = math.prod(sizes)
        _check_size(total)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(a.values or () for a in axes))]
    if search != "random":
        raise SweepError(f"search must be 'grid' or 'random'; got {search!r}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SweepError(f"search='random' needs n, a positive number of branches; got n={n!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise SweepError(f"seed must be an int or None; got {seed!r}.")
    _check_size(n)
    rng = random.Random(seed)
    return [{a.field.key: a.sample(rng) for a in axes} for _ in range(n)]


def _axis(field: Field, values: Any, search: str) -> Axis:
    key = field.key
    if callable(getattr(values, "rvs", None)):  # a scipy.stats distribution (frozen), or anything like it
        dist = values
        values = lambda rng: dist.rvs(random_state=rng.randrange(2**32))  # noqa: E731
    if callable(values):
        if search != "random":
            raise SweepError(f"Sweep {key!r}: a callable or a distribution draws values, so it needs "
                             "search='random' (with n=...); a grid needs a list of values.", key=key)
        return Axis(field, None, values)
    if hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
        values = values.tolist()  # numpy arrays
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Sequence, range, set, frozenset)):
        raise SweepError(
            f"Sweep {key!r}: give a list of values (e.g. [{values!r}]); got {type(values).__name__} {values!r}.",
            key=key)
    if isinstance(values, (set, frozenset)):
        raise SweepError(f"Sweep {key!r}: a set has no order; give a list so branches are numbered the same each time.",
                         key=key)
    listed = tuple(_plain(v) for v in values)
    if not listed:
        raise SweepError(f"Sweep {key!r} has no values: give at least one.", key=key)
    return Axis(field, listed)


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers (configs are JSON)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shortest = min(len(a), len(b))
    return a[:shortest] == b[:shortest]


def _check_size(total: int) -> None:
    if total > MAX_BRANCHES:
        raise SweepError(f"The sweep has {total:,} branches; at most {MAX_BRANCHES:,} fit in one run. Sweep fewer "
                         "values, or use search='random' with a smaller n.")
