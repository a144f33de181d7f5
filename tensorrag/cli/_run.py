"""Helpers of ``tensorrag run``: ``--param`` overrides, ``--module`` cards, and the sink outputs it prints."""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from tensorrag.cards.base import BaseCard
from tensorrag.cards.decorator import CardFunction
from tensorrag.errors import ArgumentError, TensorragError, UnknownNodeError

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline
    from tensorrag.run import Run

__all__ = ["apply_params", "import_card_modules", "parse_param", "print_sinks", "sink_outputs"]

#: Longest JSON value shown on one line of the text output (the --json output has it whole).
_MAX_SHOWN = 400


def parse_param(text: str) -> tuple[str, Any]:
    """Split ``NODE.FIELD=VALUE``: the value is JSON when it parses (numbers, booleans, lists, ...), else the string.

    Raises:
        ArgumentError: no ``=`` or no ``.`` before it.
    """
    key, sep, raw = text.partition("=")
    if not sep or "." not in key or key.startswith(".") or key.endswith("."):
        raise ArgumentError(
            f"--param expects NODE.FIELD=VALUE (e.g. --param train.epochs=5); got {text!r}."
        )
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw  # not JSON: the text itself (paths, names)
    return key, value


def apply_params(pipeline: Pipeline, params: list[tuple[str, Any]]) -> None:
    """Apply ``(NODE.FIELD[.SUBFIELD...], value)`` overrides through :meth:`Pipeline.configure`.

    The node id is the longest dotted prefix that names a node, so ids with dots work; further
    dots set keys inside an object field (``define.hyperparameters.alpha=0.5``). A ``null`` value
    resets the field to its default.

    Raises:
        UnknownNodeError: no node with that id (with did-you-mean).
        CardConfigError: the new value does not fit the card's config schema (names node and field).
        ArgumentError: a dotted path into a field that is not an object.
    """
    updates: dict[str, dict[str, Any]] = {}
    for key, value in params:
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            if ".".join(parts[:cut]) in pipeline:
                break
        else:
            raise UnknownNodeError(parts[0], [n.id for n in pipeline])
        node_id, path = ".".join(parts[:cut]), parts[cut:]
        fields = updates.setdefault(node_id, {})
        if len(path) == 1:
            fields[path[0]] = value
            continue
        top = fields[path[0]] if path[0] in fields else copy.deepcopy(pipeline.node(node_id).config.get(path[0], {}))
        holder = top
        for name in path[1:-1]:
            if not isinstance(holder, dict):
                break
            holder = holder.setdefault(name, {})
        if not isinstance(holder, dict):
            raise ArgumentError(
                f"--param {key}: {'.'.join(path[:-1])!r} of node {node_id!r} is not an object, so it has no "
                f"key {path[-1]!r}. Set the field whole instead: --param {node_id}.{path[0]}='{{...}}'."
            )
        holder[path[-1]] = value
        fields[path[0]] = top
    for node_id, fields in updates.items():
        pipeline.configure(node_id, **fields)


def import_card_modules(names: list[str]) -> list[type[BaseCard]]:
    """Import each module and return the cards it defines (``@card`` functions and BaseCard classes).

    The current directory goes first on ``sys.path`` (as with ``python -m``), and process workers
    start with the parent's ``sys.path``, so they import the same module.

    Raises:
        ArgumentError: a module cannot be imported (the message has the import error) or defines no card.
    """
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    found: list[type[BaseCard]] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ArgumentError(
                f"--module {name}: cannot import it: {exc}. Give an importable module name (my_cards for "
                f"./my_cards.py, run from its folder, or a package on PYTHONPATH), not a file path."
            ) from None
        except TensorragError:
            raise  # e.g. a malformed @card: its own message names it
        except Exception as exc:  # the module's own code failed while importing
            raise ArgumentError(f"--module {name}: importing it raised {type(exc).__name__}: {exc}.") from None
        cards = []
        for value in vars(module).values():
            cls: type[BaseCard]
            if isinstance(value, CardFunction):
                cls = value.card_class
            elif isinstance(value, type) and issubclass(value, BaseCard):
                cls = value
            else:
                continue
            if cls.__module__ == module.__name__ and cls not in cards:  # its own cards, not imported ones
                cards.append(cls)
        if not cards:
            raise ArgumentError(
                f"--module {name}: it defines no card (no @tensorrag.card function or BaseCard subclass)."
            )
        found.extend(cards)
    return found


def sink_outputs(run: Run) -> dict[str, dict[str, Any]]:
    """``{"node.port": summary}`` of the outputs of the run's last nodes (no child in the run).

    A json output's summary holds its value; a dataframe's its rows and columns; other types
    (models, bytes) only their type, extension and size: a model is never unpickled here.
    """
    nodes = set(run.status)
    parents = {e.source for e in run.pipeline.edges if e.source in nodes and e.target in nodes}
    shown: dict[str, dict[str, Any]] = {}
    for nid, status in run.status.items():
        if nid in parents or status not in ("completed", "cached"):
            continue
        for port, ref in run.outputs(nid).items():
            kind = str(ref.get("type"))
            item: dict[str, Any] = {"type": kind}
            try:
                if kind == "json":
                    item["value"] = run.output(nid, port)
                elif kind == "dataframe":
                    rows, cols = run.output(nid, port).shape
                    item.update(rows=int(rows), cols=int(cols))
                else:
                    item.update({k: ref[k] for k in ("ext", "size") if ref.get(k) is not None})
            except TensorragError as exc:  # e.g. the artifact was deleted meanwhile
                item["error"] = f"{type(exc).__name__}: {exc}"
            shown[f"{nid}.{port}"] = item
    return shown


def print_sinks(sinks: dict[str, dict[str, Any]]) -> None:
    """One line per sink output on stdout: JSON values compactly, dataframes as rows x cols."""
    for name, item in sinks.items():
        if "error" in item:
            text = f"unreadable ({item['error']})"
        elif item["type"] == "json":
            text = json.dumps(item["value"], default=str, separators=(", ", ": "))
            if len(text) > _MAX_SHOWN:
                text = text[: _MAX_SHOWN - 3] + "..."
        elif item["type"] == "dataframe":
            text = f"dataframe {item['rows']} rows x {item['cols']} cols"
        else:
            extra = ", ".join([f".{item['ext']}"] * ("ext" in item) + [f"{item['size']} bytes"] * ("size" in item))
            text = f"{item['type']}" + (f" ({extra})" if extra else "")
        print(f"{name}: {text}")
