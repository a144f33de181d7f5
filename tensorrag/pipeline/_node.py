"""``Node``: one card instance in a :class:`~tensorrag.pipeline.Pipeline`."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tensorrag._json import canonical_json
from tensorrag.cards.schema import validate_config
from tensorrag.pipeline._checks import config_error
from tensorrag.spec import NodeSpec, json_copy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tensorrag.cards import BaseCard
    from tensorrag.pipeline._pipeline import Pipeline

__all__ = ["Node"]


class Node:
    """One card instance in a pipeline. Change it through the pipeline (or ``node.configure``).

    Attributes:
        id: stable node id.
        card_type: the card's registry name.
        card: the card class, or None when the type is unknown (``validate`` reports it).
        cache: False when the node never uses the cache (always runs, never commits an entry).
        disabled: True when runs skip the node and its descendants (``Pipeline.disable``); it stays in the graph.
    """

    __slots__ = (
        "_config",
        "_memo",
        "_pipeline",
        "_spec_extra",
        "_text",
        "cache",
        "card",
        "card_type",
        "disabled",
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
        disabled: bool = False,
    ) -> None:
        self._pipeline = pipeline
        self.id = id
        self.card_type = card_type
        self.card = card
        self._config = config
        self.position = position
        self.resources = resources
        self.cache = cache
        self.disabled = disabled
        self._spec_extra = spec_extra or {}
        self.load_error: str | None = None  # why a registered card type could not be loaded
        self._memo: tuple[Any, Any, dict[str, Any], list[dict[str, str]]] | None = None
        self._text: tuple[Any, Any, str] | None = None  # (config, card, the filled config as sorted JSON)

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
            raise config_error(self, problems)
        return filled

    def resolved_text(self) -> str:
        """:meth:`resolved_config` as compact JSON with sorted keys (what a cache key hashes), kept until an edit."""
        memo = self._text
        if memo is None or memo[0] is not self._config or memo[1] is not self.card:
            text = canonical_json(self.resolved_config())
            memo = self._text = (self._config, self.card, text)
        return memo[2]

    def _check_config(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        if self.card is None:
            return dict(self._config), []
        filled, problems = self._validated()
        return json_copy(filled), list(problems)

    def _config_problems(self) -> list[dict[str, str]]:
        # What add/configure/validate need, without copying the filled config each time.
        return list(self._validated()[1]) if self.card is not None else []

    def _validated(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        assert self.card is not None
        # Configs are replaced, never mutated in place, so (config object, card) identifies a result.
        memo = self._memo
        if memo is None or memo[0] is not self._config or memo[1] is not self.card:
            filled, problems = validate_config(self.card.json_schema(), self._config)
            memo = self._memo = (self._config, self.card, filled, problems)
        return memo[2], memo[3]

    def to_spec(self) -> NodeSpec:
        """This node as a graph-document node."""
        return NodeSpec(
            id=self.id,
            card_type=self.card_type,
            config=json_copy(self._config),
            position=dict(self.position),
            resources=json_copy(self.resources) if self.resources else None,
            cache=self.cache,
            disabled=self.disabled,
            **json_copy(self._spec_extra),
        )

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.card_type!r}, config={dict(self._config)!r})"
