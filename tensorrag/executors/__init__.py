"""Executors run tasks; the engine schedules them. Pick one by name or pass an instance.

``"local"`` (threads) and ``"process"`` (worker processes) are built in; ``"modal"`` and
``"auto"`` (and third-party executors under the ``tensorrag.executors`` entry point group) load
on first use.
"""

from __future__ import annotations

from typing import Any

from tensorrag.errors import ConfigError
from tensorrag.executors.base import EventSink, Executor
from tensorrag.executors.engine import Engine
from tensorrag.executors.local import LocalExecutor
from tensorrag.executors.runtime import run_task, run_wire
from tensorrag.registry import executor_registry

__all__ = ["Engine", "EventSink", "Executor", "LocalExecutor", "get_executor", "run_task", "run_wire"]

executor_registry.register("local", LocalExecutor, clobber=True)
executor_registry.register("process", "tensorrag.executors.process:ProcessExecutor", clobber=True)
executor_registry.register(
    "modal", "tensorrag.executors.modal:ModalExecutor", clobber=True, hint="pip install 'tensorrag[modal]'"
)
executor_registry.register("auto", "tensorrag.executors.auto:AutoExecutor", clobber=True)


def get_executor(executor: str | Executor | None = None, **options: Any) -> Executor:
    """An executor instance for a name (``"local"``, ...), an instance, or None (the default).

    Raises:
        ConfigError: an unknown name (with the names available) or a non-executor object.
    """
    if isinstance(executor, Executor):
        return executor
    if executor is None:
        from tensorrag.config import get_settings

        executor = get_settings().executor
    if not isinstance(executor, str):
        raise ConfigError(f"executor must be a name or an Executor instance; got {type(executor).__name__}.")
    try:
        factory = executor_registry.get(executor)
    except Exception as exc:
        raise ConfigError(f"{exc}") from exc
    return factory(**options)  # type: ignore[no-any-return]
