"""What a Modal call may be given: GPU names, resource defaults, credentials, reachable stores.

Pure checks, no network and no ``modal`` import: :class:`~tensorrag.executors.modal.ModalExecutor`
uses them to build each call's options and to decide between URI and payload mode, and
``check()`` uses :func:`modal_config_path` to find a token the way Modal's client does.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from typing import Any
from urllib.parse import urlparse

from tensorrag.errors import ConfigError

__all__ = [
    "CREDENTIAL_KEYS",
    "GPU_NAMES",
    "check_gpu",
    "has_token",
    "modal_config_path",
    "private_endpoint",
    "without_credentials",
]

#: Modal's GPU names (``with_options(gpu=...)``; case-insensitive, ``:N`` for N devices).
GPU_NAMES = ("T4", "L4", "A10", "A10G", "L40S", "A100", "A100-40GB", "A100-80GB", "RTX-PRO-6000", "H100",
             "H100!", "H200", "B200", "B200+", "ANY")
_MAX_COUNT = 8
#: Storage options that are credentials or name local ones: never sent in a payload (a secret provides them).
CREDENTIAL_KEYS = frozenset({
    "key", "secret", "token", "password", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "session_token", "profile", "profile_name", "account_key", "sas_token", "connection_string", "client_secret",
    "credentials", "access_token", "refresh_token",
})


def check_gpu(value: Any, where: str) -> str:
    """``value`` as the GPU string Modal accepts (e.g. ``"A100-80GB:2"``), or a ConfigError with the fix.

    Args:
        value: what the user asked for (``resources["gpu"]`` or ``ModalExecutor(gpu=...)``).
        where: the node or option it came from, for the message.

    Raises:
        ConfigError: not a string, an unknown name (with did-you-mean) or a bad device count.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{where}: gpu must be one GPU name as a string, e.g. 'T4' or 'A100-80GB:2'; got {value!r}. "
            f"Modal's names: {', '.join(GPU_NAMES[:-1])}. (Fallback lists work only in a deployed app's decorator.)"
        )
    name, _, count = value.strip().upper().partition(":")
    if name not in GPU_NAMES:
        close = difflib.get_close_matches(name, GPU_NAMES, n=2, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"{where}: unknown Modal GPU {value!r}.{hint} Modal's names: {', '.join(GPU_NAMES[:-1])}.")
    if count and not (count.isdigit() and 1 <= int(count) <= _MAX_COUNT):
        raise ConfigError(f"{where}: GPU count in {value!r} must be 1-{_MAX_COUNT} (e.g. 'H100:2').")
    return "any" if name == "ANY" else value.strip().upper()


def modal_config_path() -> str:
    """Where Modal's client reads its token file: ``MODAL_CONFIG_PATH``, else ``~/.modal.toml``."""
    return os.environ.get("MODAL_CONFIG_PATH") or os.path.expanduser("~/.modal.toml")


def has_token() -> bool:
    """Whether Modal's client would find credentials (environment variables or its config file)."""
    if os.environ.get("MODAL_TOKEN_ID") and os.environ.get("MODAL_TOKEN_SECRET"):
        return True
    return os.path.exists(modal_config_path())


def without_credentials(options: dict[str, Any]) -> dict[str, Any]:
    """Storage options with every credential removed (also inside ``client_kwargs`` and ``config_kwargs``)."""
    clean = {k: v for k, v in options.items() if k not in CREDENTIAL_KEYS}
    for nested in ("client_kwargs", "config_kwargs"):
        if isinstance(clean.get(nested), dict):
            clean[nested] = {k: v for k, v in clean[nested].items() if k not in CREDENTIAL_KEYS}
    return clean


def private_endpoint(options: dict[str, Any]) -> str | None:
    """The store's endpoint URL when a Modal container cannot reach it (loopback, private, ``.local``)."""
    kwargs = options.get("client_kwargs")
    url = options.get("endpoint_url") or (kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None)
    if not url:
        return None
    host = (urlparse(str(url)).hostname or "").lower()
    if host in ("localhost", "") or host.endswith((".local", ".internal", ".localhost")):
        return str(url)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None  # a public DNS name: assume the container can resolve it
    return str(url) if ip.is_private or ip.is_loopback or ip.is_link_local else None
