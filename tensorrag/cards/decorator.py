"""``@tensorrag.card``: turn a typed function into a card.

Parameters without a default are input ports, typed by their annotation (``pandas.DataFrame``
-> ``dataframe``, ``dict``/``list`` -> ``json``, ``bytes`` -> ``bytes``, no annotation or
``Any`` -> ``any``, anything else -> ``model``). Parameters with a default are config fields;
pydantic builds their JSON Schema and validates values (``Literal`` becomes an enum,
``Annotated[int, Field(ge=1)]`` a bounded integer, a pydantic model a nested object). Outputs
come from ``outputs={"port": "type"}``, else one port ``output`` typed by the return
annotation. The function returns the bare value for one output, or a dict keyed by port for
several (extra keys are kept as extra artifacts of the node)::

    @tensorrag.card(category="data")
    def drop_nulls(dataset: pd.DataFrame, how: Literal["any", "all"] = "any") -> pd.DataFrame:
        return dataset.dropna(how=how)

The decorated object still calls the plain function (``drop_nulls(df)``), so it stays easy to
unit-test; ``drop_nulls.card_class`` is the generated :class:`BaseCard` subclass.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from tensorrag.cards.base import BaseCard
from tensorrag.errors import CardDefinitionError, CardExecutionError, MissingOutputError
from tensorrag.spec import PORT_TYPES

__all__ = ["CardFunction", "FunctionCard", "card", "port_type_of"]

_DEFAULT_VIEW = {"dataframe": "table", "json": "metrics", "model": "model_summary"}


class FunctionCard(BaseCard):
    """Base of the classes ``@card`` generates; ``execute`` adapts the storage contract."""

    _fn: ClassVar[Callable[..., Any]]
    _config_model: ClassVar[Any] = None
    _input_names: ClassVar[tuple[str, ...]] = ()
    _config_names: ClassVar[tuple[str, ...]] = ()  # the config model's fields, read once (not per task)
    _cache_token: ClassVar[Callable[[dict[str, Any]], str | None] | None] = None

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Load the inputs, call the function, save what it returns under the output ports."""
        kwargs = {name: storage.load(inputs[name]) for name in self._input_names}
        result = type(self)._fn(**kwargs, **self.call_params(config))
        refs: dict[str, str] = {}
        for port, (value, declared) in self.output_values(result).items():
            if declared is None:
                storage.save(port, value)  # an extra artifact (a chart, a report): kept, not a port
            else:
                refs[port] = storage.save(port, value, type=None if declared == "any" else declared)
        return refs

    @classmethod
    def call_params(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The function's keyword arguments from a node config (``_``-prefixed keys dropped, values typed)."""
        params = {k: v for k, v in config.items() if not k.startswith("_")}
        if cls._config_model is None:
            return params
        model = cls._config_model.model_validate(params)
        return {name: getattr(model, name) for name in cls._config_names}

    @classmethod
    def output_values(cls, result: Any) -> dict[str, tuple[Any, str | None]]:
        """What the function returned, per port: ``(value, declared type)``; extras have type None.

        Raises:
            CardExecutionError: several outputs and not a dict, or a value of the wrong type.
            MissingOutputError: a declared output is missing from the returned dict.
        """
        outs = cls.outputs()
        if not outs:
            return {}
        if len(outs) == 1:
            values = {next(iter(outs)): result}
        elif isinstance(result, Mapping):
            values = dict(result)
        else:
            raise CardExecutionError(
                f"Card {cls.card_type!r} declares {len(outs)} outputs ({', '.join(outs)}), so its function must "
                f"return a dict keyed by port; it returned {type(result).__name__}.",
                card_type=cls.card_type,
            )
        missing = [p for p in outs if p not in values]
        if missing:
            raise MissingOutputError(
                f"Card {cls.card_type!r} did not return output(s) {', '.join(map(repr, missing))}; "
                f"it returned keys {sorted(values)}. Return a dict with every declared port.",
                card_type=cls.card_type,
            )
        typed: dict[str, tuple[Any, str | None]] = {}
        for port, value in values.items():
            declared = outs.get(port)
            if declared is not None:
                _check_value(cls.card_type, port, declared, value)
            typed[port] = (value, declared)
        return typed

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """The ``cache_token=`` callable given to ``@card`` (called with the config), else ``""``."""
        fn = type(self)._cache_token
        if fn is None:
            return ""
        return fn({k: v for k, v in config.items() if not k.startswith("_")})  # type: ignore[no-any-return]

    @classmethod
    def _code_roots(cls) -> list[Any]:
        return [cls._fn]


class CardFunction:
    """What ``@card`` returns: the plain function, plus ``card_class`` for pipelines."""

    card_class: type[FunctionCard]

    def __init__(self, fn: Callable[..., Any], card_class: type[FunctionCard]) -> None:
        functools.update_wrapper(self, fn)
        self.card_class = card_class

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain function."""
        return self.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        # card_type, inputs(), to_schema() ... read through to the card class
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.card_class, name)

    def __repr__(self) -> str:
        return f"<card {self.card_class.card_type!r} from {self.__module__}.{self.__qualname__}>"


def card(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    card_type: str | None = None,
    outputs: Mapping[str, str] | None = None,
    display_name: str | None = None,
    description: str | None = None,
    category: str = "data",
    execution_mode: str = "local",
    output_view_type: str | None = None,
    resources: Mapping[str, Any] | None = None,
    cache_token: Callable[[dict[str, Any]], str | None] | None = None,
    version: str | int | None = None,
) -> Any:
    """Make a card from a typed function (see the module docstring).

    Args:
        fn: the function (when used as ``@card`` without parentheses).
        card_type: registry name; defaults to the function's name.
        outputs: ``{"port": "type"}``; default one port ``output`` typed by the return annotation.
        display_name: palette title; defaults to the card type in title case.
        description: palette text; defaults to the docstring's first paragraph.
        category: palette group.
        execution_mode: ``"local"`` or ``"modal"``.
        output_view_type: preview format; defaults by the first output's type.
        resources: executor hints, e.g. ``{"gpu": "T4", "timeout": 600}``.
        cache_token: ``f(config) -> str | None``, a fingerprint of what the function reads from
            outside the pipeline (see :meth:`BaseCard.cache_token`); ``None`` from it means "never
            cache this node". Runs in the orchestrator before each cache lookup.
        version: a manual version, part of the cache key (bump it to invalidate cached results).

    Returns:
        A :class:`CardFunction` (or a decorator when called with keywords only).

    Raises:
        CardDefinitionError: ``*args``/``**kwargs`` parameters, an unknown port type, or config
            defaults pydantic cannot describe.
    """

    def wrap(f: Callable[..., Any]) -> CardFunction:
        if cache_token is not None and not callable(cache_token):
            raise CardDefinitionError(
                f"@card function {f.__qualname__}: cache_token must be a callable f(config) -> str | None; "
                f"got {type(cache_token).__name__}.",
                card_type=card_type or f.__name__,
            )
        made = _make(f, card_type, outputs, display_name, description, category, execution_mode,
                     output_view_type, resources)
        cls = made.card_class
        cls._cache_token = staticmethod(cache_token) if cache_token is not None else None  # type: ignore[assignment]
        cls.version = version
        return made

    return wrap(fn) if fn is not None else wrap


def _make(
    fn: Callable[..., Any],
    card_type: str | None,
    outputs: Mapping[str, str] | None,
    display_name: str | None,
    description: str | None,
    category: str,
    execution_mode: str,
    output_view_type: str | None,
    resources: Mapping[str, Any] | None,
) -> CardFunction:
    name = card_type or fn.__name__
    where = f"@card function {fn.__qualname__}"
    hints = _type_hints(fn)
    inputs: dict[str, str] = {}
    config_fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise CardDefinitionError(
                f"{where}: *args/**kwargs are not allowed; declare each input and config field by name. "
                "Format should be: def f(input: pd.DataFrame, option: int = 1) -> pd.DataFrame",
                card_type=name,
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise CardDefinitionError(f"{where}: positional-only parameters are not allowed.", card_type=name)
        if param.default is inspect.Parameter.empty:
            inputs[param.name] = port_type_of(hints.get(param.name, inspect.Parameter.empty))
        else:
            config_fields[param.name] = (hints.get(param.name, Any), param.default)
    returns = hints.get("return", inspect.Parameter.empty)
    if outputs is None and returns in (None, type(None)):
        outs: dict[str, str] = {}  # "-> None": a sink card with no outputs
    elif outputs is None:
        outs = {"output": port_type_of(returns)}
    else:
        outs = dict(outputs)
        bad = {p: t for p, t in outs.items() if t not in PORT_TYPES}
        if bad:
            raise CardDefinitionError(
                f"{where}: unknown output type(s) {bad}; use one of {', '.join(PORT_TYPES)}.", card_type=name
            )
    config_model, schema = _config_model(name, where, config_fields)
    first = next(iter(outs.values()), "json")
    attrs: dict[str, Any] = {
        "card_type": name,
        "display_name": display_name or name.replace("_", " ").title(),
        "description": description or (inspect.getdoc(fn) or "").split("\n\n")[0],
        "category": category,
        "execution_mode": execution_mode,
        "output_view_type": output_view_type or _DEFAULT_VIEW.get(first, "json"),
        "config_schema": schema,
        "input_schema": inputs,
        "output_schema": outs,
        "resources": dict(resources or {}),
        "_fn": staticmethod(fn),
        "_config_model": config_model,
        "_config_names": tuple(config_fields),
        "_input_names": tuple(inputs),
        "__module__": fn.__module__,
        "__qualname__": f"{fn.__qualname__}.card_class",
        "__doc__": fn.__doc__ or "",  # not FunctionCard's docstring, which to_schema() would read as the description
    }
    cls = typing.cast("type[FunctionCard]", type(f"{fn.__name__}_card", (FunctionCard,), attrs))
    cls.check_definition()
    return CardFunction(fn, cls)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Resolve annotations one by one, so one unresolvable name does not lose the others."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    raw = dict(getattr(fn, "__annotations__", {}))
    scope = dict(getattr(fn, "__globals__", {}))
    closure = getattr(fn, "__closure__", None) or ()
    scope.update(zip(fn.__code__.co_freevars, (c.cell_contents for c in closure if _cell_ok(c)), strict=False))
    hints: dict[str, Any] = {}
    for name, ann in raw.items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, scope)  # the same lookup get_type_hints does, per annotation
            except Exception:
                pass  # left as a string: port_type_of reads names like "DataFrame"
        hints[name] = ann
    return hints


def _cell_ok(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _config_model(name: str, where: str, fields: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if not fields:
        return None, {}
    import pydantic

    try:
        model = pydantic.create_model(f"{name}_config", __config__=pydantic.ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
    except Exception as exc:
        raise CardDefinitionError(
            f"{where}: cannot build a config schema from its defaults ({exc}). Annotate config parameters "
            "with JSON-compatible types (str, int, float, bool, list, dict, Literal, pydantic models).",
            card_type=name,
        ) from exc
    schema.pop("title", None)
    schema.pop("additionalProperties", None)
    return model, schema


def port_type_of(annotation: Any) -> str:
    """The port type for a parameter or return annotation (see the module docstring)."""
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is None:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return port_type_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        kinds = {port_type_of(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "any"
    base = origin or annotation
    if isinstance(base, str):
        return "dataframe" if base.split(".")[-1] == "DataFrame" else "model"
    if isinstance(base, type):
        if base.__name__ == "DataFrame" and base.__module__.startswith("pandas"):
            return "dataframe"
        if issubclass(base, (dict, list, Mapping)):
            return "json"
        if issubclass(base, (bytes, bytearray)):
            return "bytes"
    return "model"


def _check_value(card_type: str, port: str, declared: str, value: Any) -> None:
    ok = True
    if declared == "dataframe":
        ok = type(value).__name__ == "DataFrame"
    elif declared == "bytes":
        ok = isinstance(value, (bytes, bytearray, memoryview))
    elif declared == "json":
        ok = isinstance(value, (dict, list, str, int, float, bool)) or value is None
    if not ok:
        raise CardExecutionError(
            f"Card {card_type!r} output {port!r} is declared {declared!r} but the function returned "
            f"{type(value).__name__}. Return a {declared} value or change outputs={{{port!r}: ...}}.",
            card_type=card_type,
        )
