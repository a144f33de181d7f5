"""Headless Chromium for the canvas tests and benchmark: Debian's chromium driven by pip playwright.

Playwright cannot download its own browser here, so it launches ``/usr/bin/chromium`` with the
flags of ``shared/reference/environment.md``. :class:`PageServer` serves the built bundle
(``tensorrag/widget/static``) and the test page (``tests/widget/page``) with a ``state.json``
made by a real :class:`~tensorrag.widget.Canvas`.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "tensorrag" / "widget" / "static"
PAGE = Path(__file__).resolve().parent / "page"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The Chromium binary to use (``CHROMIUM`` env var, else ``chromium`` on PATH), or None."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def unavailable() -> str | None:
    """Why a browser test cannot run here (None when it can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "pip package playwright is not installed (it is in the dev extra)"
    if chromium_path() is None:
        return "no Chromium: apt-get install -y chromium (CI installs it)"
    if not (STATIC / "index.js").is_file():
        return "the canvas bundle is not built: make widget"
    return None


def launch(playwright: Any) -> Any:
    """Launch headless Chromium."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


def canvas_state(canvas: Any) -> dict[str, Any]:
    """The synced traits of a canvas, as the browser-side model starts with them."""
    keys = ["graph", "palette", "status", "previews", "logs", "problems", "height"]
    return json.loads(json.dumps({k: getattr(canvas, k) for k in keys}))


class _Handler(http.server.SimpleHTTPRequestHandler):
    state: bytes = b"{}"

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0]
        if clean.startswith("/static/"):
            return str(STATIC / clean.removeprefix("/static/"))
        return str(PAGE / clean.lstrip("/"))

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/state.json":
            body = self.server.state  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class PageServer:
    """Serve the test page on 127.0.0.1 (a free port) in a thread; ``set_state`` changes ``state.json``."""

    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler))
        self.httpd.state = b"{}"  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/index.html"

    def set_state(self, state: dict[str, Any]) -> None:
        self.httpd.state = json.dumps(state).encode()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- JupyterLab


def jupyterlab_unavailable() -> str | None:
    """Why a JupyterLab end-to-end test cannot run here (None when it can)."""
    why = unavailable()
    if why:
        return why
    try:
        import ipykernel  # noqa: F401
        import jupyterlab  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (jupyterlab and ipykernel are in the dev extra)"
    return None


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a Python 3 notebook of code cells."""
    doc = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
            for src in cells
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 (free port, no token) serving ``root``; use as a context manager.

    Config, data, runtime and workspace folders live under ``root/.jupyter-*`` so nothing of the
    user's setup leaks in. ``env`` is added to the environment the server (and its kernels) get.
    """

    def __init__(self, root: Path, env: dict[str, str] | None = None, timeout: float = 90.0) -> None:
        self.root = Path(root)
        self.env = dict(env or {})
        self.timeout = timeout
        self.port = free_port()
        self.proc: Any = None
        self.log_path = self.root / ".jupyter-server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def __enter__(self) -> JupyterLab:
        import subprocess
        import sys
        import time
        import urllib.request

        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
            env.pop(name, None)
        home = self.root / ".jupyter-home"
        home.mkdir(parents=True, exist_ok=True)
        # no "get news?" notification over the notebook
        labconfig = home / "config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
        )
        env.update(
            {
                "JUPYTER_CONFIG_DIR": str(home / "config"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "JUPYTER_PLATFORM_DIRS": "1",
                "IPYTHONDIR": str(home / "ipython"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
                **self.env,
            }
        )
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--ServerApp.token=", "--ServerApp.password=", "--allow-root",
            f"--ServerApp.root_dir={self.root}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"jupyter lab did not start within {self.timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __exit__(self, *exc: Any) -> None:
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()


# --------------------------------------------------------------------------- notebook UI


def run_in_new_cell(page: Any, code: str) -> str:
    """Add a cell at the end of the notebook, run it, and return its text output."""
    from playwright.sync_api import expect

    cells = page.locator(".jp-Notebook .jp-Cell")
    before = cells.count()
    cells.last.locator(".jp-InputArea-prompt").click()  # select the last cell (command mode)
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # insert a cell below
    expect(cells).to_have_count(before + 1)
    cell = cells.nth(before)
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Control+Enter")
    out = cell.locator(".jp-OutputArea-output")
    expect(out.first).to_be_visible(timeout=30_000)
    return out.first.inner_text()


def run_all(page: Any) -> None:
    """Run > Run All Cells, and make sure it started (retry if the kernel was not ready yet)."""
    from playwright.sync_api import expect

    first = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputArea-prompt")
    for _attempt in range(3):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            expect(first).not_to_have_text("[ ]:", timeout=10_000)
            return
        except AssertionError:
            continue
    raise AssertionError("Run All Cells did not start the cells")


def handle(scope: Any, node: str, port: str, kind: str) -> Any:
    """The React Flow handle of ``node``'s ``port`` (``kind``: ``source`` or ``target``)."""
    return scope.locator(f'.react-flow__node[data-id="{node}"] .react-flow__handle.{kind}[data-handleid="{port}"]')


def drag_between(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move to ``target`` in steps, release (a connection drag)."""
    a, b = source.bounding_box(), target.bounding_box()
    assert a and b, "handle not on screen"
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=15)
    page.mouse.up()
