"""Fuzzing the boundaries: whatever a user or a file gives, tensorrag succeeds or raises a TensorragError.

Each property feeds random input to a public entry point (pipeline documents as dicts, text and
bytes; card source files; configs of the built-in cards; names, ids, ports and paths) and checks
that the call either succeeds or raises :class:`tensorrag.TensorragError` (whose argument errors
are also TypeError/ValueError) -- never another exception -- within 5 seconds.

Bounded for CI: ``TENSORRAG_FUZZ_EXAMPLES`` examples per property (default 100). The long run is
``python benchmarks/fuzz.py --examples 3000``, which also reports the case count and the slowest case.
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
import signal
import string
import time
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorrag as tr
from tensorrag.cards.validate import validate_card_source
from tensorrag.demo import build
from tensorrag.errors import TensorragError
from tensorrag.workspace import card_class_from_source

if TYPE_CHECKING:
    from collections.abc import Callable

EXAMPLES = int(os.environ.get("TENSORRAG_FUZZ_EXAMPLES", "100"))
LIMIT_S = 5.0  # a call slower than this counts as a hang
STATS: dict[str, dict[str, Any]] = {}

pytestmark = pytest.mark.timeout(max(120, EXAMPLES))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # our own alarm bounds each call; hypothesis' deadline would flag slow first imports
    database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


class Hang(AssertionError):
    """A call ran past LIMIT_S."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang(f"a call ran past {LIMIT_S} s")


def typed(prop: str, call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run ``call``; a TensorragError is a fine outcome, any other exception (or a hang) fails the property."""
    stats = STATS.setdefault(prop, {"cases": 0, "typed_errors": 0, "slowest_s": 0.0})
    stats["cases"] += 1
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
    start = time.perf_counter()
    try:
        return call(*args, **kwargs)
    except TensorragError:
        stats["typed_errors"] += 1
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        stats["slowest_s"] = max(stats["slowest_s"], time.perf_counter() - start)


@atexit.register
def _write_stats() -> None:
    path = os.environ.get("TENSORRAG_FUZZ_STATS")
    if path and STATS:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(STATS, fh, indent=2)


# --------------------------------------------------------------------------- strategies

# Text with what breaks naive code: NUL, lone surrogates, controls, combining marks, RTL, astral planes.
odd_chars = st.one_of(
    st.characters(blacklist_categories=()),  # every category, surrogates (Cs) included
    st.sampled_from(["\0", "\ud800", "\udfff", "\ufeff", "\u202e", "/", ".", "\\", ":", "~", " ", "\n"]),
)
odd_text = st.text(odd_chars, max_size=40)
names = st.one_of(
    st.text(string.ascii_letters + string.digits + "_-.:", min_size=1, max_size=20),
    odd_text,
    st.text(min_size=120, max_size=300),
)
numbers = st.one_of(
    st.integers(),
    st.integers(0, 5000).map(lambda digits: -(10**digits)),  # past float range and Python's 4300-digit limit
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text, names)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4), max_leaves=20
)
# What a Python caller can also pass: tuples, bytes, sets, objects, non-string keys.
py_values = st.one_of(json_values, st.binary(max_size=8), st.tuples(scalars), st.frozensets(st.integers()),
                      st.builds(object), st.dictionaries(st.integers(), scalars, max_size=2))
class Deep:
    """Stands for a list nested ``depth`` levels deep until :func:`expand` builds it (short to print)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"


def expand(value: Any) -> Any:
    """``value`` with every :class:`Deep` replaced by the nested list it stands for."""
    if isinstance(value, Deep):
        nested: list[Any] = []
        for _ in range(value.depth):
            nested = [nested]
        return nested
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


deep_values = st.builds(Deep, st.integers(min_value=100, max_value=3_000))

CARD_TYPES = ["data_load", "data_split", "model_define", "train", "evaluate", "inference"]
card_types = st.one_of(st.sampled_from(CARD_TYPES), names)
positions = st.one_of(st.fixed_dictionaries({"x": numbers, "y": numbers}), json_values)
node_docs = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["load", "split", "a", "b"]), names, scalars)},
    optional={
        "type": st.sampled_from(["cardNode", "custom", "data_load"]) | scalars,
        "position": positions,
        "data": st.one_of(
            st.fixed_dictionaries(
                {"card_type": card_types},
                optional={
                    "config": st.one_of(st.dictionaries(names, json_values, max_size=4), json_values),
                    "resources": st.one_of(
                        st.dictionaries(st.sampled_from(["gpu", "timeout", "memory", "cpu", "timout"]) | names,
                                        json_values, max_size=3),
                        json_values,
                    ),
                    "cardSchema": json_values,
                },
            ),
            json_values,
        ),
    },
)
edge_docs = st.fixed_dictionaries(
    {"source": st.sampled_from(["load", "split", "a"]) | scalars, "target": st.sampled_from(["split", "b"]) | scalars},
    optional={
        "id": scalars,
        "sourceHandle": st.sampled_from(["dataset", "train_dataset"]) | scalars,
        "targetHandle": st.sampled_from(["dataset"]) | scalars,
        "data": st.dictionaries(st.sampled_from(["source_output", "target_input"]) | names, scalars, max_size=2),
    },
)
documents = st.one_of(
    st.fixed_dictionaries(
        {"nodes": st.lists(node_docs, max_size=4), "edges": st.lists(edge_docs, max_size=4)},
        optional={"schema_version": st.sampled_from([1, 2]) | scalars, "name": scalars, "nodeCounter": numbers},
    ),
    json_values,
    deep_values,
)
VALID_DOC = build().to_dict()


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """The demo document with a few values replaced, removed or wrapped, anywhere in the tree."""
    doc = json.loads(json.dumps(VALID_DOC))
    for _ in range(draw(st.integers(1, 4))):
        parent: Any = doc
        path: list[Any] = []
        while isinstance(parent, (dict, list)) and parent and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(parent) if isinstance(parent, dict) else list(range(len(parent)))))
            path.append(key)
            if not isinstance(parent[key], (dict, list)):
                break
            parent = parent[key]
        if not isinstance(parent, (dict, list)) or not parent:
            continue
        key = draw(st.sampled_from(sorted(parent) if isinstance(parent, dict) else list(range(len(parent)))))
        action = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        else:
            parent[key] = [parent[key]]
    return doc


@st.composite
def mutated_bytes(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip"]))
        if action == "insert":
            tokens = st.sampled_from([b"[", b"{", b'"', b"\\ud800", b"NaN"])
            data[at:at] = draw(st.binary(min_size=1, max_size=4) | tokens)
        elif action == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


VALID_JSON = json.dumps(VALID_DOC).encode()

CARD = '''\
from tensorrag import BaseCard


class Scale(BaseCard):
    """Scale a column."""

    card_type = "scale"
    display_name = "Scale"
    description = "Multiply every numeric column"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {"factor": {"type": "number", "default": 2, "minimum": 0}}
    input_schema = {"dataset": "dataframe"}
    output_schema = {"scaled": "dataframe"}
    resources = {"timeout": 60}

    def execute(self, config, inputs, storage):
        return {"scaled": storage.save_dataframe("_p", "_n", "scaled", None)}
'''
CARD_LINES = CARD.split("\n")
ATTRS = ["card_type", "execution_mode", "config_schema", "input_schema", "output_schema", "resources", "category"]


def _source_repr(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # a 5000-digit int: write the literal out by hand
        return str(value.bit_length()) + "0" * 5000 if isinstance(value, int) else "None"


@st.composite
def card_sources(draw: st.DrawFn) -> str:
    """The valid card with lines replaced by odd assignments, random text, or edits of its characters."""
    rows = list(CARD_LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(rows) - 1))
        kind = draw(st.sampled_from(["assign", "text", "chars", "schema"]))
        if kind == "assign":
            rows[at] = f"    {draw(st.sampled_from(ATTRS))} = {_source_repr(draw(json_values))}"
        elif kind == "schema":
            field = {draw(st.sampled_from(["type", "minimum", "maxLength", "enum", "pattern", "default", "items",
                                           "anyOf", "$ref", "required", "properties"])): draw(json_values)}
            rows[at] = f"    config_schema = {{'f': {_source_repr(field)}}}"
        elif kind == "text":
            rows[at] = draw(odd_text)
        else:
            text = rows[at]
            pos = draw(st.integers(0, len(text)))
            rows[at] = text[:pos] + draw(odd_text) + text[pos + draw(st.integers(0, 5)) :]
    prefix = draw(st.sampled_from(["", "\ufeff", "\0", "# -*- coding: latin-1 -*-\n"]))
    return prefix + "\n".join(rows)


# --------------------------------------------------------------------------- properties


def _use(p: tr.Pipeline) -> None:
    """What people do with a loaded pipeline: check it, save it, load it again."""
    p.problems()
    text = p.to_json()
    tr.Pipeline.from_json(text).problems()
    p.to_python()


@FUZZ
@given(doc=st.one_of(documents, mutated_documents()))
def test_documents(doc: Any) -> None:
    doc = expand(doc)
    p = typed("documents", tr.Pipeline.from_dict, doc)
    if p is not None:
        typed("documents", _use, p)
        typed("documents", tr.Pipeline().replace, doc)


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), mutated_bytes(VALID_JSON), st.text(odd_chars, max_size=200)))
def test_document_text(data: bytes | str) -> None:
    p = typed("document_text", tr.Pipeline.from_json, data)
    if p is not None:
        typed("document_text", _use, p)


@FUZZ
@given(source=card_sources())
def test_card_sources(source: str) -> None:
    result = typed("card_sources", validate_card_source, source)
    assert result is not None, "the validator returns a result, it never raises"
    if result.success:
        cls = typed("card_sources", card_class_from_source, source)
        if cls is not None:
            p = tr.Pipeline()
            node = typed("card_sources", p.add, cls, id="n")
            if node is not None:
                typed("card_sources", p.problems)


@FUZZ
@given(
    inputs=py_values, outputs=py_values, schema=py_values, resources=py_values,
    ports=st.dictionaries(names, st.sampled_from(["dataframe", "datafrme", "JSON", "tensor"]) | names, max_size=3),
)
def test_card_classes(inputs: Any, outputs: Any, schema: Any, resources: Any, ports: dict[str, str]) -> None:
    attrs = {"card_type": "fuzzed", "input_schema": inputs, "output_schema": outputs or ports,
             "config_schema": schema, "resources": resources,
             "execute": lambda self, config, inputs, storage: {}}
    cls = type("Fuzzed", (tr.BaseCard,), attrs)
    p = tr.Pipeline()
    if typed("card_classes", p.register, cls) is not None:
        node = typed("card_classes", p.add, "fuzzed", id="n")
        if node is not None:
            typed("card_classes", _use, p)


@FUZZ
@given(
    card_type=st.sampled_from(CARD_TYPES),
    config=st.dictionaries(st.sampled_from(["source", "test_ratio", "model_type", "hyperparameters", "target_column",
                                            "metrics", "random_seed", "sample_name", "path", "_private"]) | names,
                           py_values | deep_values, max_size=4),
    update=st.dictionaries(names | st.sampled_from(["test_ratio", "metrics"]), json_values, max_size=3),
)
def test_configs(card_type: str, config: dict[str, Any], update: dict[str, Any]) -> None:
    config = expand(config)
    p = tr.Pipeline()
    node = typed("configs", p.add, card_type, **config)
    if node is None:
        node = p.add(card_type)
    typed("configs", p.configure, node, **update)
    typed("configs", p.set_config, node, config)
    typed("configs", node.resolved_config)
    typed("configs", _use, p)


@FUZZ
@given(name=names | py_values, ref=names | py_values, port=names | py_values, x=py_values, y=py_values)
def test_names(name: Any, ref: Any, port: Any, x: Any, y: Any) -> None:
    typed("names", tr.Pipeline, name)
    p = tr.Pipeline()
    p.add("data_load", id="load")
    p.add("data_split", id="split")
    typed("names", p.add, "data_load", id=ref)
    typed("names", p.add, "data_load", position=x, resources=y)
    typed("names", p.node, ref)
    typed("names", p.move, "load", x, y)
    typed("names", p.set_resources, "load", x)
    typed("names", p.connect, "load", port, "split", port)
    typed("names", p.connect, ref, "dataset", "split", "dataset")
    typed("names", p.disconnect, ref)
    typed("names", p.remove, ref)
    if isinstance(name, str) and name not in RUN_OPTIONS:  # an unknown keyword: refused before anything runs
        typed("names", p.run, **{name: ref})
    typed("names", _use, p)
    path = f"memory://fuzz/{name}" if isinstance(name, str) else name
    typed("names", tr.Pipeline.load, path)
    typed("names", p.save, path)


RUN_OPTIONS = set(inspect.signature(tr.Pipeline.run).parameters)
WS = tr.Workspace("memory://fuzz-workspace", user="fuzz")
PROJECT = WS.project("fuzz", create=True)


@FUZZ
@given(name=names | py_values, path=names | py_values, source=st.sampled_from([CARD, CARD.encode()]) | py_values)
def test_workspace_names(name: Any, path: Any, source: Any) -> None:
    typed("workspace_names", WS.project, name)
    typed("workspace_names", WS.__contains__, name)
    typed("workspace_names", tr.Workspace, "memory://fuzz-workspace", user=name)
    typed("workspace_names", PROJECT.write_card, f"{path}.py" if isinstance(path, str) else path, source)
    typed("workspace_names", PROJECT.read_card, path)
    typed("workspace_names", PROJECT.delete_card, path)
    typed("workspace_names", PROJECT.load_pipeline, name)
    typed("workspace_names", PROJECT.run, name)
