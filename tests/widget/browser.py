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
