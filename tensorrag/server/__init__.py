"""``tensorrag.server``: the original system's REST + WebSocket API as an app to embed (``tensorrag[server]``).

::

    from tensorrag.server import create_app

    app = create_app("s3://bucket/tensorrag")         # a FastAPI app: mount it, or run `tensorrag serve`

The app calls the same :class:`~tensorrag.Pipeline` / :class:`~tensorrag.Workspace` /
:class:`~tensorrag.Run` code as the library; it adds no execution path. FastAPI is imported
here, not by ``import tensorrag``.
"""

from typing import Any

from tensorrag.errors import UnauthorizedError

#: What an ``auth`` callable raises to refuse a request (the same class as ``tensorrag.UnauthorizedError``).
Unauthorized = UnauthorizedError

__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_MAX_BODY_BYTES", "Unauthorized", "UnauthorizedError", "create_app"]
_LAZY = {"DEFAULT_HEARTBEAT_S", "DEFAULT_MAX_BODY_BYTES", "create_app"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            from tensorrag.server import app
        except ImportError as exc:  # fastapi / uvicorn are an optional extra
            from tensorrag.errors import ConfigError

            raise ConfigError(
                f"tensorrag.server needs FastAPI ({exc.name or exc} is not installed). "
                "Install it with: pip install 'tensorrag[server]'"
            ) from exc
        return getattr(app, name)
    raise AttributeError(f"module 'tensorrag.server' has no attribute {name!r}")
