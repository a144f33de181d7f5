"""Fakes behind Modal's own seams (``Function.from_name``, ``Function.spawn``, ``App.run``) raising Modal's real errors.

A :class:`World` scripts what each call's ``get`` does: ``"wait"`` (Modal's builtin ``TimeoutError``:
no output yet), a Modal exception class or instance (raised), or ``"result"`` (the real worker entry
runs the payload here and its result comes back). It counts spawns, gets and cancels.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

import modal

from tensorrag.executors.runtime import run_wire


class FakeCall:
    def __init__(self, world: World, n: int, payload: dict[str, Any], expect: dict[str, Any] | None) -> None:
        self.world, self.payload, self.expect = world, payload, expect
        self.object_id = f"fc-fake{n}"
        self.script = list(world.script)
        self.gets = 0
        self.cancels: list[bool] = []
        self.queued_until = time.monotonic() + world.queued_s

    def get(self, timeout: float | None = None) -> dict[str, Any]:
        self.gets += 1
        self.world.gets += 1
        if self.cancels:
            raise modal.exception.InputCancellation("cancelled")
        if time.monotonic() < self.queued_until:
            time.sleep(min(timeout or 0, 0.02))
            raise TimeoutError()  # what FunctionCall.get raises when no output is there yet
        step = self.script.pop(0) if self.script else self.world.then
        if step == "wait":
            time.sleep(min(timeout or 0, 0.02))
            raise TimeoutError()
        if step == "result":
            return self.world.run(self.payload, self.expect)
        raise step() if isinstance(step, type) else step

    def cancel(self, terminate_containers: bool = False) -> None:
        self.cancels.append(terminate_containers)
        self.world.cancelled.append(self.object_id)
        if self.world.cancel_log:
            with open(self.world.cancel_log, "a") as f:
                f.write(f"{self.object_id} {terminate_containers}\n")


class FakeFunction:
    def __init__(self, world: World, name: str) -> None:
        self.world, self.name = world, name

    def hydrate(self) -> FakeFunction:
        if self.world.missing:
            raise modal.exception.NotFoundError(f"App not found: {self.name}")
        return self

    def with_options(self, **kw: Any) -> FakeFunction:
        self.world.options.append(kw)
        return self

    def spawn(self, payload: dict[str, Any], expect: dict[str, Any] | None = None) -> FakeCall:
        return self.world.spawn(self.name, payload, expect)


class World:
    """What the fake Modal does; install it with :meth:`install` (a pytest monkeypatch)."""

    def __init__(self, script: list[Any] | None = None, then: Any = "result", *, missing: bool = False,
                 queued_s: float = 0.0, stale: bool = False, spawn_errors: list[Any] | None = None,
                 cancel_log: str | None = None) -> None:
        self.script, self.then, self.missing, self.queued_s, self.stale = script or [], then, missing, queued_s, stale
        self.spawn_errors = list(spawn_errors or [])
        self.cancel_log = cancel_log
        self.calls: list[FakeCall] = []
        self.options: list[dict[str, Any]] = []
        self.functions: list[str] = []
        self.cancelled: list[str] = []
        self.gets = 0
        self.apps: list[dict[str, Any]] = []  # ephemeral apps: {"app", "entered", "exited"}
        self._lock = threading.Lock()

    def spawn(self, name: str, payload: dict[str, Any], expect: dict[str, Any] | None) -> FakeCall:
        with self._lock:
            self.functions.append(name)
            if self.spawn_errors:
                raise self.spawn_errors.pop(0)
            call = FakeCall(self, len(self.calls) + 1, payload, expect)
            self.calls.append(call)
            return call

    def run(self, payload: dict[str, Any], expect: dict[str, Any] | None) -> dict[str, Any]:
        try:
            from tensorrag.executors.modal_app import entry
        except ImportError:  # an older tensorrag without the worker check
            return run_wire(payload)
        if self.stale and expect:
            expect = {**expect, "tensorrag": "0.0.0-old"}  # the worker sees a caller newer than itself
        return entry(payload, expect)

    def install(self, monkeypatch: Any) -> World:
        world = self
        monkeypatch.setattr(modal.Function, "from_name", lambda app, name, **kw: FakeFunction(world, name))

        def spawn(fn: Any, payload: dict[str, Any], expect: dict[str, Any] | None = None) -> FakeCall:
            name = re.search(r"\((\w+)\)", repr(fn))  # Function(run_task): an app's function before hydration
            return world.spawn(name.group(1) if name else repr(fn), payload, expect)

        def with_options(fn: Any, **kw: Any) -> Any:
            world.options.append(kw)
            return fn

        @contextlib.contextmanager
        def run(app: Any, **kw: Any) -> Any:
            record = {"app": app, "entered": True, "exited": False}
            world.apps.append(record)
            try:
                yield app
            finally:
                record["exited"] = True

        monkeypatch.setattr(modal.Function, "spawn", spawn)
        monkeypatch.setattr(modal.Function, "with_options", with_options)
        monkeypatch.setattr(modal.App, "run", run)
        return self
