"""Runs built-in cards the way the engine does: validated config, real CardStorage over a memory:// store."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tensorrag.cards.schema import validate_config


def _new_store():
    from tensorrag.storage import open_store

    return open_store(f"memory://cards-{uuid.uuid4().hex}")


class Runner:
    """Runs cards node by node over one store; ``refs[node][port]`` are the artifact refs."""

    def __init__(self) -> None:
        self.store = _new_store()
        self.refs: dict[str, dict[str, Any]] = {}
        self.types: dict[str, dict[str, str]] = {}
        self.handles: dict[str, Any] = {}

    def run(self, cls: type, node: str, raw: dict[str, Any] | None = None, **wires: tuple[str, str]):
        """Validate ``raw``, execute ``cls`` as ``node`` with inputs wired from ``wires`` (port=(node, port))."""
        from tensorrag.storage.handle import CardStorage

        card = cls()
        cfg, problems = validate_config(cls.json_schema(), raw or {})
        assert not problems, problems
        cfg.update({"_pipeline_id": "p", "_node_id": node, "_run_id": "r"})
        inputs = {
            port: {"type": self.types[src][out], "uri": self.refs[src][out]} for port, (src, out) in wires.items()
        }
        storage = CardStorage(self.store, node, inputs=inputs)
        refs = card.execute(cfg, storage.input_refs, storage)
        assert set(refs) == set(cls.output_schema), refs
        self.refs[node] = refs
        self.types[node] = dict(cls.outputs())
        self.handles[node] = storage
        preview = card.get_output_preview(refs, storage)
        json.dumps(preview, allow_nan=False)  # previews are strict JSON
        return refs, preview, storage

    def load(self, node: str, port: str) -> Any:
        return self.handles[node].load(self.refs[node][port])

    def put(self, node: str, port: str, value: Any, type: str) -> str:
        """Store ``value`` as output ``port`` of a pseudo-node ``node`` (a source for wiring)."""
        from tensorrag.storage.handle import CardStorage

        handle = CardStorage(self.store, node)
        ref = handle.save(port, value, type)
        self.refs.setdefault(node, {})[port] = ref
        self.types.setdefault(node, {})[port] = type
        self.handles[node] = handle
        return ref
