"""The engine's cache decisions: the key, the card's cache token, the lookup, current card classes.

See the "Cache" paragraph of :mod:`tensorrag.executors.engine` and docs/cache.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from tensorrag._json import canonical_json
from tensorrag.cards.base import BaseCard
from tensorrag.cards.decorator import FunctionCard
from tensorrag.cards.identity import current_definition
from tensorrag.errors import ArtifactCorruptError, CacheTokenError
from tensorrag.storage.integrity import verify_entry

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline
    from tensorrag.storage import ArtifactStore

__all__ = ["cache_key", "card_token", "config_text", "refresh_cards", "verified_entry"]


def cache_key(
    card: type[BaseCard],
    config: dict[str, Any],
    inputs: dict[str, dict[str, Any]],
    token: str = "",
    *,
    fingerprint: str | None = None,
    config_json: str | None = None,
) -> str:
    """The cache key of a node (docs/cache.md says what it covers and what it does not).

    It hashes the card type, code fingerprint and version, the normalised config, the input
    content hashes (or uris, where nothing was hashed) and the card's cache token.
    ``config_json`` is :func:`config_text` of ``config`` when the caller already has it.
    """
    version = card.version
    parts = [
        "v3",
        card.card_type,
        fingerprint or card.fingerprint(),
        "null" if version is None else json.dumps(version),
        config_json if config_json is not None else config_text(config),
        '""' if token == "" else json.dumps(token),  # the default token, without an encoder call per node
    ]
    for port in sorted(inputs):
        ref = inputs[port]
        parts.append(f"{port}={ref.get('sha256') or ref.get('uri')}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]  # unit separator: in no part


def config_text(config: dict[str, Any]) -> str:
    """The normalised config as it enters a cache key (sorted keys, compact): what ``Node.resolved_text`` keeps."""
    return canonical_json(config)


def card_token(card: type[BaseCard], config: dict[str, Any], node_id: str) -> str | None:
    """``card().cache_token(config)``, run in the orchestrator before the lookup.

    Raises:
        CacheTokenError: ``cache_token`` raised or returned something other than a str or None.
    """
    if _reads_nothing_outside(card):
        return ""  # the default: no instance needed (this runs for every node of every run)
    where = f"node {node_id!r} ({card.card_type})"
    try:
        token = card().cache_token(dict(config))
    except Exception as exc:
        raise CacheTokenError(
            f"{where}: cache_token(config) raised {type(exc).__name__}: {exc}. Fix the card's cache_token, "
            "or return None from it to run the node without the cache.",
            node_id=node_id,
            card_type=card.card_type,
        ) from exc
    if token is not None and not isinstance(token, str):
        raise CacheTokenError(
            f"{where}: cache_token(config) must return a str or None; got {type(token).__name__} {token!r:.80}.",
            node_id=node_id,
            card_type=card.card_type,
        )
    return token


def _reads_nothing_outside(card: type[BaseCard]) -> bool:
    method = card.cache_token
    if method is BaseCard.cache_token:
        return True
    return method is FunctionCard.cache_token and getattr(card, "_cache_token", None) is None


def verified_entry(store: ArtifactStore, key: str) -> tuple[dict[str, Any] | None, list[ArtifactCorruptError]]:
    """The cache entry of ``key`` when every artifact still matches its sha256, and the mismatches.

    On local disk each artifact costs one ``stat``: the one that reads its stamp also tells it is gone.
    """
    local = store.protocol == "file"
    entry = store.read_entry(key, check_artifacts=not local)
    if entry is None:
        return None, []
    present, problems = verify_entry(store, entry)
    return (None if problems or not present else entry), problems


def refresh_cards(pipeline: Pipeline, selected: set[str]) -> None:
    """Nodes hold the class they were added with; a notebook cell run again defines a new one.

    Re-register the class the module-level name now refers to, so the run (and
    ``Run.resume()``) executes the code the user sees.
    """
    nodes = pipeline.nodes
    for card in {nodes[nid].card for nid in selected}:  # once per class: a 500-node chain may have one
        newer = current_definition(card) if card is not None else None
        if newer is not None:
            pipeline.register(newer)
