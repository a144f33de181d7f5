"""``tensorrag serve``: the server app (``tensorrag.server``) under uvicorn."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tensorrag.storage import ArtifactStore

__all__ = ["serve"]

#: Incoming WebSocket messages are ignored; a small cap keeps a client from making the server buffer much.
WS_MAX_BYTES = 64 * 1024


def serve(
    root: ArtifactStore, *, host: str, port: int, user: str | None, executor: str | None, cors: list[str] | None,
    log_level: str,
) -> int:
    """Run the app until interrupted; returns the exit code.

    Raises:
        ConfigError: FastAPI / uvicorn are not installed (with the install hint), or a bad setting.
    """
    from tensorrag.server import create_app

    try:
        import uvicorn
    except ImportError as exc:
        from tensorrag.errors import ConfigError

        raise ConfigError("tensorrag serve needs uvicorn. Install it with: pip install 'tensorrag[server]'") from exc
    from tensorrag.workspace import Workspace

    workspace = Workspace(root, user=user)
    app = create_app(workspace, executor=executor, cors_origins=cors or None)
    print(f"tensorrag serving {workspace.url} (user {workspace.user!r}) on http://{host}:{port}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=log_level, ws_max_size=WS_MAX_BYTES)
    return 0
