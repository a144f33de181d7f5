"""The standalone web canvas: ``GET /`` and the notebook widget's own bundle, plus what the page asks the API for.

The page loads ``/static/index.js`` (the same esbuild bundle anywidget renders in a notebook,
``tensorrag/widget/static``) and calls its ``mountWeb`` export, which drives the canvas through a
REST + WebSocket model adapter instead of anywidget traits. The page and the bundle need no
credentials (they hold no data); every API call they make goes through the app's ``auth``.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

import tensorrag
from tensorrag.cards.catalog import canvas_palette
from tensorrag.pipeline import Pipeline
from tensorrag.server.models import ValidateRequest
from tensorrag.server.responses import ERROR_RESPONSES, fail
from tensorrag.server.state import State, User

__all__ = ["STATIC", "api", "page"]

#: Where ``make widget`` writes the bundle (a path, not an import: server and widget are separate layers).
STATIC = Path(tensorrag.__file__).parent / "widget" / "static"
_ASSETS = {"index.js": "text/javascript", "index.css": "text/css"}
_NO_STORE = {"Cache-Control": "no-cache"}  # a rebuilt bundle must not be served stale from the browser cache

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tensorrag</title>
<link rel="stylesheet" href="static/index.css">
<style>html, body {{ margin: 0; height: 100%; }} #app {{ height: 100%; }}</style>
</head>
<body>
<div id="app" data-testid="web-app">{missing}</div>
<script type="module">
import {{ mountWeb }} from "./static/index.js";
window.tensorrag = mountWeb(document.getElementById("app"), {{ base: new URL(".", location.href).href }});
</script>
</body>
</html>
"""

_MISSING = (
    '<p style="font:14px sans-serif;padding:16px">The tensorrag canvas bundle is not built: run '
    "<code>make widget</code> (or <code>cd widget &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.</p>"
)

page = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v2/projects/{name}", responses=ERROR_RESPONSES)


@page.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """The web canvas page (relative URLs, so it also works when the app is mounted under a prefix)."""
    missing = "" if (STATIC / "index.js").is_file() else _MISSING
    return HTMLResponse(PAGE.format(missing=missing), headers=_NO_STORE)


@page.get("/static/{asset}")
def static(asset: str) -> FileResponse:
    """``index.js`` / ``index.css`` of the canvas bundle; 404 for anything else or when it is not built."""
    media = _ASSETS.get(asset)
    path = STATIC / asset
    if media is None or not path.is_file():
        fail(404, "AssetNotFound", f"No canvas asset {asset!r}: the page needs {', '.join(sorted(_ASSETS))}, "
             "built by `make widget` into tensorrag/widget/static/.")
    return FileResponse(path, media_type=media, headers=_NO_STORE)


@api.get("/palette")
def palette(name: str, user: User, state: State) -> list[dict[str, Any]]:
    """The canvas palette of the project: each ``CardSchema`` plus ``json_schema``, ``inputs``, ``outputs``.

    The same entries as the notebook canvas's ``palette`` trait (built-in cards and the project's).
    """
    return canvas_palette(state.project(user, name).registry)


@api.post("/python")
def to_python(name: str, user: User, state: State, body: ValidateRequest | None = None) -> dict[str, str]:
    """``{source}``: Python that rebuilds ``pipeline`` (or the saved one), as ``Pipeline.to_python()``."""
    project = state.project(user, name)
    if body is not None and body.pipeline is not None:
        pipeline = Pipeline.from_dict(body.pipeline, name=project.name, project=project)
    else:
        pipeline = project.load_pipeline()
    return {"source": pipeline.to_python()}
