"""Settings read from the environment.

The original system's variables keep working (``STORAGE_DIR``, ``S3_ENABLED``, ``S3_ENDPOINT``,
``S3_BUCKET``, ``S3_ACCESS_KEY``, ``S3_SECRET_KEY``, ``S3_REGION``, ``DEFAULT_USER_ID``,
``MODAL_ENABLED``); ``TENSORRAG_*`` variables take precedence where both exist.

================================  ===========================================  ==================
variable                          meaning                                      default
================================  ===========================================  ==================
``TENSORRAG_STORAGE``             storage root URL (any fsspec URL or a path)  see below
``STORAGE_DIR``                   local storage root (original name)           ``./.tensorrag``
``S3_ENABLED``                    use ``s3://{S3_BUCKET}`` as the root         ``false``
``S3_ENDPOINT`` / ``S3_REGION``   S3-compatible endpoint URL / region          none
``S3_BUCKET``                     bucket name                                  ``tensorrag``
``S3_ACCESS_KEY`` / ``..SECRET..``credentials                                  none
``TENSORRAG_USER``                user folder (``DEFAULT_USER_ID``)            ``default``
``TENSORRAG_PROJECT``             project folder (else the pipeline's name)    none
``TENSORRAG_EXECUTOR``            default executor name                        ``local``
``TENSORRAG_MAX_WORKERS``         default parallelism of local executors       CPU count, min 4
``TENSORRAG_PROGRESS``            ``auto`` / ``on`` / ``off`` terminal bar       ``auto``
``TENSORRAG_IMPORT_GUARD``        serialise first imports of card threads      ``true``
``TENSORRAG_MAX_LOG_LINES``       log events kept per node in a run            ``5000``
``TENSORRAG_MAX_LOG_CHARS``       characters of log text kept per node         ``100000``
``TENSORRAG_MAX_CARD_BYTES``      size limit of a card file                    ``1048576``
``MODAL_ENABLED``                 allow Modal executors                        ``true``
``TENSORRAG_MODAL_APP``           deployed Modal app name                      ``tensorrag``
================================  ===========================================  ==================
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Settings", "get_settings"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """A snapshot of the settings; build one with :func:`get_settings`."""

    storage_url: str = "./.tensorrag"
    storage_options: dict[str, Any] = field(default_factory=dict)
    #: fsspec options from ``S3_ENDPOINT``/``S3_REGION``/``S3_ACCESS_KEY``/``S3_SECRET_KEY``, used for any
    #: ``s3://`` URL opened without options (even when ``S3_ENABLED`` is off).
    s3_options: dict[str, Any] = field(default_factory=dict)
    user: str = "default"
    project: str | None = None
    executor: str = "local"
    max_workers: int = 4
    progress: str = "auto"
    #: Card threads take one process-wide lock for first imports (tensorrag/cards/imports.py).
    import_guard: bool = True
    #: Per node, a run keeps (in its events, manifest and listeners' stream) at most this many log lines
    #: and ``max_log_chars`` characters of them; the rest is counted in one final "not kept" log event.
    max_log_lines: int = 5000
    #: Per node, the log text kept in results, ``Run.logs`` and cache entries (first and last halves).
    max_log_chars: int = 100_000
    #: Card files larger than this are refused (CardFileTooLargeError).
    max_card_bytes: int = 1_048_576
    modal_enabled: bool = True
    modal_app: str = "tensorrag"


@functools.cache
def _cpus() -> int:
    return os.cpu_count() or 1  # reads /proc or sysfs: once per process, not once per settings read


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: ``os.environ``) at call time.

    Raises:
        ConfigError: a variable has a value that cannot be parsed; the message names it.
    """
    env = os.environ if environ is None else environ
    s3_options: dict[str, Any] = {}
    client_kwargs: dict[str, Any] = {}
    if env.get("S3_ENDPOINT"):
        client_kwargs["endpoint_url"] = env["S3_ENDPOINT"]
    if env.get("S3_REGION"):
        client_kwargs["region_name"] = env["S3_REGION"]
    if client_kwargs:
        s3_options["client_kwargs"] = client_kwargs
    if env.get("S3_ACCESS_KEY"):
        s3_options["key"] = env["S3_ACCESS_KEY"]
    if env.get("S3_SECRET_KEY"):
        s3_options["secret"] = env["S3_SECRET_KEY"]
    storage_options: dict[str, Any] = {}
    if _bool(env, "S3_ENABLED", False):
        bucket = env.get("S3_BUCKET", "tensorrag").strip() or "tensorrag"
        storage_url = env.get("TENSORRAG_STORAGE") or f"s3://{bucket}"
        storage_options = dict(s3_options)
    else:
        storage_url = env.get("TENSORRAG_STORAGE") or env.get("STORAGE_DIR") or "./.tensorrag"
        if storage_url.startswith(("s3://", "s3a://")):  # as open_store("s3://...") does: S3_* apply to any s3 root
            storage_options = dict(s3_options)
    progress = env.get("TENSORRAG_PROGRESS", "auto").strip().lower() or "auto"
    if progress not in {"auto", "on", "off"}:
        raise ConfigError(f"TENSORRAG_PROGRESS must be one of auto, on, off; got {progress!r}.")
    return Settings(
        storage_url=storage_url,
        storage_options=storage_options,
        s3_options=s3_options,
        user=env.get("TENSORRAG_USER") or env.get("DEFAULT_USER_ID") or "default",
        project=env.get("TENSORRAG_PROJECT") or None,
        executor=env.get("TENSORRAG_EXECUTOR") or "local",
        max_workers=_int(env, "TENSORRAG_MAX_WORKERS", max(4, _cpus())),
        progress=progress,
        import_guard=_bool(env, "TENSORRAG_IMPORT_GUARD", True),
        max_log_lines=_int(env, "TENSORRAG_MAX_LOG_LINES", 5000),
        max_log_chars=_int(env, "TENSORRAG_MAX_LOG_CHARS", 100_000),
        max_card_bytes=_int(env, "TENSORRAG_MAX_CARD_BYTES", 1_048_576),
        modal_enabled=_bool(env, "MODAL_ENABLED", True),
        modal_app=env.get("TENSORRAG_MODAL_APP") or "tensorrag",
    )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in env:
        return default
    raw = env[name].strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off); got {env[name]!r}.")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    if not env.get(name):
        return default
    try:
        value = int(env[name])
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer; got {env[name]!r}.") from None
    if value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value}.")
    return value
