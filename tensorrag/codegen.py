"""Turn a pipeline into Python source that rebuilds it with the public API.

A graph drawn on the canvas (or loaded from ``_pipeline.json``) becomes a script::

    print(p.to_python())
    # import tensorrag as tr
    #
    # p = tr.Pipeline('regression')
    # p.add('data_load', id='load', position={'x': 0.0, 'y': 0.0}, source='sample')
    # ...
    # p.connect('load', 'dataset', 'split', 'dataset')

Executing the source gives a pipeline equal to the original (same nodes, configs, resources,
positions and edges). Card types that are not registered globally (classes registered on this
pipeline only) are listed in a comment: register them before running the script.
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING, Any

from tensorrag.registry import card_registry

if TYPE_CHECKING:
    from tensorrag.pipeline import Pipeline

__all__ = ["pipeline_to_python"]

_RESERVED = {"cache", "card", "id", "position", "resources"}


def pipeline_to_python(pipeline: Pipeline, variable: str = "p") -> str:
    """Python source that rebuilds ``pipeline`` (see the module docstring)."""
    lines = ["import tensorrag as tr", ""]
    project = pipeline.project
    known = set((project.registry if project is not None else card_registry).names())
    custom = sorted({n.card_type for n in pipeline if n.card_type not in known})
    if custom:
        lines.append(f"# Card types to register first (p.register(YourCard)): {', '.join(custom)}")
    if project is not None and hasattr(project, "workspace"):
        ws = project.workspace
        lines.append(f"project = tr.Workspace({ws.store.url!r}, user={ws.user!r}).project({project.name!r})")
        lines.append(f"{variable} = tr.Pipeline({pipeline.name!r}, project=project)")
    else:
        lines.append(f"{variable} = tr.Pipeline({pipeline.name!r})")
    for node in pipeline:
        args = [repr(node.card_type), f"id={node.id!r}", f"position={dict(node.position)!r}"]
        if node.resources is not None:
            args.append(f"resources={node.resources!r}")
        if not node.cache:
            args.append("cache=False")
        config = dict(node.config)
        plain = {k: v for k, v in config.items() if _is_kwarg(k)}
        args += [f"{k}={_literal(v)}" for k, v in plain.items()]
        rest = {k: v for k, v in config.items() if k not in plain}
        if rest:
            args.append(f"**{_literal(rest)}")
        lines.append(f"{variable}.add({', '.join(args)})")
        if node.disabled:
            lines.append(f"{variable}.disable({node.id!r})")
    for e in pipeline.edges:
        lines.append(f"{variable}.connect({e.source!r}, {e.source_output!r}, {e.target!r}, {e.target_input!r})")
    return "\n".join(lines) + "\n"


def _is_kwarg(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in _RESERVED


def _literal(value: Any) -> str:
    # JSON values: repr() is valid Python except for non-finite floats.
    if isinstance(value, float) and value != value:
        return 'float("nan")'
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f'float("{"" if value > 0 else "-"}inf")'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)
