"""``BaseCard``: the original card contract, kept so existing cards run unchanged.

A card written for the original system runs after changing only its import line::

    from tensorrag import BaseCard          # was: from cards.base import BaseCard

    class Scale(BaseCard):
        card_type = "scale"
        display_name = "Scale"
        description = "Multiply every numeric column"
        category = "data"
        execution_mode = "local"
        output_view_type = "table"
        config_schema = {"factor": {"type": "number", "default": 2}}      # flat form works
        input_schema = {"dataset": "dataframe"}
        output_schema = {"scaled": "dataframe"}

        def execute(self, config, inputs, storage):
            df = storage.load_dataframe(inputs["dataset"])
            ref = storage.save_dataframe(config["_pipeline_id"], config["_node_id"], "scaled",
                                         df * config["factor"])
            return {"scaled": ref}

        def get_output_preview(self, outputs, storage):
            return {"rows": storage.load_dataframe(outputs["scaled"]).head(5).to_dict("records")}

``storage`` is the card-side handle (``tensorrag.storage.CardStorage``) with the original
methods: ``save_dataframe(pipeline_id, node_id, key, df) -> ref`` / ``load_dataframe(ref)``,
the same for ``model`` (joblib), ``json`` and ``bytes(..., ext)``, plus generic
``save(key, value, type=None)`` / ``load(ref)`` and ``progress(current, total)``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import inspect
import keyword
import re
from typing import Any, ClassVar

from tensorrag.cards.resources import resource_problems
from tensorrag.cards.schema import normalize_schema, schema_problems
from tensorrag.errors import CardDefinitionError
from tensorrag.spec import PORT_TYPES, json_problem, safe_repr

__all__ = ["CATEGORIES", "EXECUTION_MODES", "VIEW_TYPES", "BaseCard", "card_class_of", "code_digest"]

#: The original's categories; others are accepted (the palette groups by whatever is given).
CATEGORIES = ("data", "model", "training", "evaluation", "inference")
EXECUTION_MODES = ("local", "modal")
#: View types the canvas renders specially; any other string falls back to a JSON view.
VIEW_TYPES = ("table", "metrics", "model_summary")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BaseCard:
    """Base class of every card (see the module docstring for the contract)."""

    card_type: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    category: ClassVar[str] = "data"
    execution_mode: ClassVar[str] = "local"
    output_view_type: ClassVar[str] = "table"
    config_schema: ClassVar[dict[str, Any]] = {}
    input_schema: ClassVar[dict[str, str]] = {}
    output_schema: ClassVar[dict[str, str]] = {}
    #: Optional hints for executors, e.g. ``{"gpu": "T4", "timeout": 600, "memory": 16384}``.
    resources: ClassVar[dict[str, Any]] = {}
    #: A manual version, part of the cache key: bump it when behaviour changes outside the card's code.
    version: ClassVar[str | int | None] = None

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Run the card.

        Args:
            config: the validated node config plus ``_pipeline_id``, ``_node_id`` and ``_run_id``.
            inputs: input port -> artifact ref (load it with ``storage.load_<type>(ref)``).
            storage: the card-side storage handle.

        Returns:
            Output port -> artifact ref, as returned by ``storage.save_<type>(...)``.
        """
        raise NotImplementedError(f"Card {type(self).__name__} must implement execute(config, inputs, storage).")

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """A JSON-able preview of the outputs, in the format of ``output_view_type``.

        The default previews the first declared output by its artifact type.
        """
        from tensorrag.cards.previews import preview_value

        for port in self.output_schema or outputs:
            if port in outputs:
                return preview_value(storage.load(outputs[port]), self.output_view_type)
        return {}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """A fingerprint of what the card reads from outside the pipeline; part of the cache key.

        Runs in the orchestrator before the cache lookup, so keep it cheap (``fsspec`` ``info()``
        of a file, not its contents). Return ``""`` when the card reads nothing outside its config
        and inputs (the default), a string that changes whenever that outside data changes (see
        :func:`tensorrag.cards.tokens.file_token`), or ``None`` to never cache the node.

        Args:
            config: the node's validated config (defaults filled).
        """
        return ""

    # ------------------------------------------------------------------ class-level helpers

    @classmethod
    def inputs(cls) -> dict[str, str]:
        """Input ports and their (normalised) types."""
        return {p: _port_type(t) for p, t in (cls.input_schema or {}).items()}

    @classmethod
    def outputs(cls) -> dict[str, str]:
        """Output ports and their (normalised) types."""
        return {p: _port_type(t) for p, t in (cls.output_schema or {}).items()}

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The config schema as an object JSON Schema (flat form converted)."""
        cached = cls.__dict__.get("_tr_json_schema")
        if cached is None:
            cached = normalize_schema(cls.config_schema)
            cls._tr_json_schema = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def to_schema(cls) -> dict[str, Any]:
        """The original ``CardSchema`` JSON (what ``GET /api/cards`` returned)."""
        return {
            "card_type": cls.card_type,
            "display_name": cls.display_name or _title(cls.card_type),
            "description": cls.description or (inspect.getdoc(cls) or "").split("\n\n")[0],
            "category": cls.category,
            "execution_mode": cls.execution_mode,
            "config_schema": copy.deepcopy(cls.config_schema or {}),
            "input_schema": dict(cls.input_schema or {}),
            "output_schema": dict(cls.output_schema or {}),
            "output_view_type": cls.output_view_type,
        }

    @classmethod
    def fingerprint(cls) -> str:
        """A hash of the card's type and code; part of every cache key.

        It covers the card's source and the same-module functions and classes it references by
        name (see :mod:`tensorrag.cards.identity`). Computed on every call, never stored on the
        class, so a helper redefined in a notebook changes it at once.
        """
        return hashlib.sha256(cls._code_identity().encode()).hexdigest()[:16]

    @classmethod
    def _code_roots(cls) -> list[Any]:
        """Where the code fingerprint starts (the class; ``@card`` classes: their function)."""
        return [cls]

    @classmethod
    def _code_identity(cls) -> str:
        from tensorrag.cards.identity import code_text  # imports this module

        roots = cls._code_roots()
        return f"{cls.card_type}\n{code_text(roots, getattr(roots[0], '__module__', cls.__module__))}"

    @classmethod
    def check_definition(cls) -> None:
        """Raise :class:`CardDefinitionError` if the class does not follow the contract."""
        name = cls.__qualname__
        if not isinstance(cls.card_type, str) or not _IDENT.match(cls.card_type) or keyword.iskeyword(cls.card_type):
            raise CardDefinitionError(
                f"Card class {name} needs a card_type that is a Python identifier "
                f"(letters, digits, underscore); got {safe_repr(cls.card_type)}.",
                card_type=safe_repr(cls.card_type),
            )
        if cls.execute is BaseCard.execute:
            raise CardDefinitionError(
                f"Card {cls.card_type!r} ({name}) must implement execute(config, inputs, storage).",
                card_type=cls.card_type,
            )
        if cls.execution_mode not in EXECUTION_MODES:
            raise CardDefinitionError(
                f"Card {cls.card_type!r}: execution_mode must be one of {', '.join(EXECUTION_MODES)}; "
                f"got {safe_repr(cls.execution_mode)}.",
                card_type=cls.card_type,
            )
        for attr in ("input_schema", "output_schema"):
            ports = getattr(cls, attr) or {}
            pairs = ports.items() if isinstance(ports, dict) else [(None, None)]
            well_formed = all(isinstance(k, str) and isinstance(v, str) for k, v in pairs)
            if not well_formed:
                raise CardDefinitionError(
                    f"Card {cls.card_type!r}: {attr} must map port names to type strings "
                    f"({', '.join(PORT_TYPES)}); got {safe_repr(ports)}.",
                    card_type=cls.card_type,
                )
            for port, port_type in ports.items():
                typo = _port_type_typo(port_type)
                if typo:
                    raise CardDefinitionError(
                        f"Card {cls.card_type!r}: {attr} port {port!r} has type {port_type!r}; did you mean "
                        f"{typo!r}? Known types: {', '.join(PORT_TYPES)} (any other word is stored as raw bytes).",
                        card_type=cls.card_type,
                    )
        schema = cls.config_schema or {}
        if not isinstance(schema, dict):
            raise CardDefinitionError(
                f"Card {cls.card_type!r}: config_schema must be a dict (JSON Schema or flat form).",
                card_type=cls.card_type,
            )
        bad = json_problem(schema, "config_schema")
        problems = [f"{bad[0]} {bad[1]}"] if bad else schema_problems(normalize_schema(schema))
        if problems:
            raise CardDefinitionError(
                f"Card {cls.card_type!r} has an invalid config_schema: {'; '.join(problems[:5])}.",
                card_type=cls.card_type,
            )
        res = resource_problems(cls.resources or {})
        if res:
            raise CardDefinitionError(
                f"Card {cls.card_type!r}: resources must be a dict of executor hints: "
                + "; ".join(f"{f} {m}" for f, m in res) + ".",
                card_type=cls.card_type,
            )


def code_digest(fn: Any) -> str:
    """A digest of a function's bytecode and constants (recursively), for code without source."""
    code = getattr(fn, "__code__", fn)
    parts = [code.co_code.hex(), repr(code.co_names), repr(code.co_varnames)]
    for const in code.co_consts:
        parts.append(code_digest(const) if hasattr(const, "co_code") else _const_repr(const))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _const_repr(const: Any) -> str:
    # A frozenset's repr follows string hashing, which differs per process: sort it.
    if isinstance(const, frozenset):
        return "frozenset(" + ",".join(sorted(_const_repr(c) for c in const)) + ")"
    if isinstance(const, tuple):
        return "(" + ",".join(_const_repr(c) for c in const) + ")"
    return repr(const)


def _port_type(t: str) -> str:
    # The original treated any unknown type string as raw bytes (check_definition refuses typos).
    return t if t in PORT_TYPES else "bytes"


def _port_type_typo(t: str) -> str | None:
    """The known port type ``t`` was probably meant as (``datafrme`` -> ``dataframe``), if any."""
    if t in PORT_TYPES:
        return None
    lowered = t.lower()
    if lowered in PORT_TYPES:
        return lowered
    close = difflib.get_close_matches(lowered, PORT_TYPES, n=1, cutoff=0.75)
    return close[0] if close else None


def _title(card_type: str) -> str:
    return card_type.replace("_", " ").title()


def card_class_of(obj: Any) -> type[BaseCard]:
    """The :class:`BaseCard` subclass behind ``obj`` (a class or an ``@card`` function).

    Raises:
        CardDefinitionError: ``obj`` is neither.
    """
    cls = getattr(obj, "card_class", obj)
    if isinstance(cls, type) and issubclass(cls, BaseCard):
        return cls
    raise CardDefinitionError(
        f"Expected a BaseCard subclass, an @tensorrag.card function or a card type name; got {obj!r}."
    )
