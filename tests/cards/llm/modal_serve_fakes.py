"""Fakes behind Modal's own seams for the serve app (``App.deploy``, ``Function.get_web_url``, ``App.lookup``).

Everything up to the wire is the real ``modal`` package: the app, the web function, its GPU,
secrets and image are real objects. :class:`ServeWorld` stands in for Modal's servers: a deploy
is recorded (or raises the Modal error it was given), and asking for the web URL starts the
function's container body here — the real :func:`~tensorrag.executors.modal_serve.start_server`,
which loads the model folder from the store and runs ``vllm`` (the stand-in on ``PATH``) as a
real subprocess on loopback. ``App.lookup(name).stop()`` stops it.
"""

from __future__ import annotations

import inspect
import os
import stat
import subprocess
import sys
from typing import Any

import modal

from tensorrag.executors import modal_serve

STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vllm_standin.py")


def install_standin(folder: str) -> str:
    """An executable ``vllm`` in ``folder`` that runs the stand-in; returns the folder (prepend it to PATH)."""
    path = os.path.join(folder, "vllm")
    with open(path, "w") as fh:
        fh.write(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return folder


def spec_of(fn: Any) -> modal_serve.ServeSpec:
    """The spec a serve function carries into its container (the JSON in its closure)."""
    raw = inspect.unwrap(fn._raw_f_)
    cells = dict(zip(raw.__code__.co_freevars, raw.__closure__ or (), strict=True))
    return modal_serve.ServeSpec.from_json(cells["spec_json"].cell_contents)


class ServeWorld:
    """What the fake Modal does with serve apps; install it with :meth:`install` (a pytest monkeypatch)."""

    def __init__(self, *, deploy_error: BaseException | None = None, url: str | None = None,
                 stop_error: BaseException | None = None) -> None:
        self.deploy_error, self.url, self.stop_error = deploy_error, url, stop_error
        self.deployed: list[str] = []
        self.functions: list[Any] = []
        self.stopped: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def install(self, mp: Any) -> ServeWorld:
        world = self
        real_start = modal_serve.start_server
        mp.setattr(modal_serve, "SAME_HOST", True)  # the "container" runs here: the loopback store is reachable

        def start_server(spec_json: str) -> subprocess.Popen[bytes]:
            proc = real_start(spec_json)
            world.procs.append(proc)
            return proc

        def deploy(app: Any, *, name: str | None = None, **kw: Any) -> Any:
            if world.deploy_error is not None:
                raise world.deploy_error
            world.deployed.append(name or app.name)
            return app

        def get_web_url(fn: Any) -> str:
            world.functions.append(fn)
            if world.url is not None:
                return world.url
            fn._raw_f_()  # the container's start: the web_server body
            return f"http://127.0.0.1:{spec_of(fn).port}/"

        class App:
            def __init__(self, name: str) -> None:
                self.name = name

            def stop(self) -> None:
                if world.stop_error is not None:
                    raise world.stop_error
                world.stopped.append(self.name)
                world.close()

        def lookup(name: str, **kw: Any) -> App:
            if name not in world.deployed:
                raise modal.exception.NotFoundError(f"App '{name}' not found")
            return App(name)

        mp.setattr(modal_serve, "start_server", start_server)
        mp.setattr(modal.App, "deploy", deploy)
        mp.setattr(modal.Function, "get_web_url", get_web_url)
        mp.setattr(modal.App, "lookup", lookup)
        return self

    def close(self) -> None:
        """Stop every server process started (idempotent)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
