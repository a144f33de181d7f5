"""The direct path: a ``@tr.card`` function called in this process with the store's objects.

A task of a :class:`~tensorrag.cards.decorator.FunctionCard` whose class is at hand
(``task.card_class``: thread executors) and whose store this process can open needs no
:class:`~tensorrag.storage.CardStorage` round trip: its inputs are read with ``store.get``,
the function is called, and each returned value is kept with ``store.keep`` under the task's
attempt folder, exactly where ``storage.save`` would have put it. Same artifacts, same refs,
same errors; about a fifth of the per-task cost (docs/benchmarks.md). Anything else (classes
with their own ``execute``, payload mode, tasks from the wire) goes through ``card.execute``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tensorrag.cards.decorator import FunctionCard

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.spec import Task, TaskResult
    from tensorrag.storage import ArtifactStore

__all__ = ["call_direct", "is_direct"]


def is_direct(cls: type[BaseCard]) -> bool:
    """Whether tasks of ``cls`` can take the direct path: a ``@card`` function that keeps the default ``execute``."""
    return issubclass(cls, FunctionCard) and cls.execute is FunctionCard.execute


def call_direct(cls: type[FunctionCard], task: Task, store: ArtifactStore, result: TaskResult) -> dict[str, str]:
    """Run ``task`` of the ``@card`` class ``cls`` over ``store``; fill ``result``; return the output refs.

    Raises:
        Exception: whatever the function, an input read or a save raises (``run_task`` reports it).
    """
    inputs = task.inputs
    kwargs = {name: store.get(inputs[name]) for name in cls._input_names}
    params = cls.call_params(task.config)
    t1 = time.perf_counter()
    value = cls._fn(**kwargs, **params)
    result.timings["execute"] = time.perf_counter() - t1
    refs: dict[str, str] = {}
    for port, (out, declared) in cls.output_values(value).items():
        if declared is None:
            result.extras[port] = store.keep(task.key, port, out)  # an extra artifact: kept, not a port
        else:
            art = result.outputs[port] = store.keep(task.key, port, out, None if declared == "any" else declared)
            refs[port] = art["uri"]
    return refs
