"""The one place where filesystem and object-store exceptions become typed storage errors.

fsspec drivers raise whatever their client raises: ``OSError`` with an errno on local disk,
``botocore`` / ``aiohttp`` exceptions (``EndpointConnectionError``, ``NoCredentialsError``,
``ClientConnectorError``) or s3fs's ``PermissionError`` on S3. :func:`storage_error` maps any of
them to a :class:`~tensorrag.errors.StorageError` subclass whose message names the operation,
the URL, what happened and the fix; :func:`guard` applies it to a block of store code. The
original exception stays as ``__cause__``. botocore is matched by class name and module, never
imported (it is optional, and ``import tensorrag`` stays light).
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import TYPE_CHECKING, Any

from tensorrag.errors import (
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StorageUnavailableError,
    TensorragError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["guard", "storage_error"]

# botocore / aiohttp / fsspec class names (any class in the exception's MRO) that mean "cannot reach".
_UNREACHABLE = frozenset(
    {
        "ConnectionError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "HTTPClientError",
        "ProxyConnectionError",
        "SSLError",
        "ClientConnectorError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "FSTimeoutError",
    }
)
_NO_CREDENTIALS = frozenset(
    {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "NoAuthTokenError"}
)
_DENIED_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AllAccessDisabled"}
)
_FULL_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EFBIG: "the file is larger than allowed"}
if hasattr(errno, "EDQUOT"):
    _FULL_ERRNOS[errno.EDQUOT] = "the disk quota is exceeded"
_PERM_ERRNOS = {errno.EACCES: "permission denied", errno.EPERM: "operation not permitted", errno.EROFS: "read-only"}


@contextlib.contextmanager
def guard(op: str, where: str, options: dict[str, Any] | None = None) -> Iterator[None]:
    """Turn any non-tensorrag exception raised inside the block into a typed storage error.

    Args:
        op: what the store was doing (``"write"``, ``"read"``, ``"list"``, ...), for the message.
        where: the URL of the file or folder.
        options: the store's fsspec options (to name the S3 endpoint in the message).

    Raises:
        StorageError: a subclass chosen by :func:`storage_error`, from the original exception.
    """
    try:
        yield
    except TensorragError:
        raise
    except Exception as exc:
        raise storage_error(exc, op, where, options) from exc


def storage_error(exc: BaseException, op: str, where: str, options: dict[str, Any] | None = None) -> StorageError:
    """The typed error for ``exc`` raised while doing ``op`` on ``where``.

    ``StorageUnavailableError`` for connection failures and timeouts, ``StoragePermissionError`` for
    missing or refused credentials, permission errors and read-only file systems, ``StorageFullError``
    for ENOSPC / EFBIG / EDQUOT, and a plain ``StorageError`` for anything else.
    """
    what = f"{type(exc).__name__}: {exc}"
    head = f"Could not {op} {where}"
    names = _chain_names(exc)
    code = _client_code(exc)
    num = _errno(exc)
    if names & _NO_CREDENTIALS:
        return StoragePermissionError(
            f"{head}: no credentials were found ({what}). Fix: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or S3_ACCESS_KEY / S3_SECRET_KEY), or pass storage_options key=... and secret=...."
        )
    if code in _DENIED_CODES or (where.startswith(("s3://", "s3a://", "gs://")) and _is(exc, PermissionError)):
        return StoragePermissionError(
            f"{head}: the server refused the credentials or the access ({what}). Fix: check the access key, "
            f"secret and region (AWS_* / S3_* variables or storage_options) and that they may {op} this bucket."
        )
    if num in _FULL_ERRNOS or code in ("QuotaExceeded", "EntityTooLarge") or "No space left on device" in str(exc):
        why = _FULL_ERRNOS.get(num or 0, "the storage is full")
        return StorageFullError(
            f"{head}: {why} ({what}). Fix: free space on that file system (or raise its quota or file-size "
            "limit), or choose another storage root (TENSORRAG_STORAGE), then run.resume(): finished nodes are cached."
        )
    if num == errno.EROFS or "Read-only file system" in str(exc):
        return StoragePermissionError(
            f"{head}: the file system is read-only ({what}). Fix: remount it read-write or choose a writable "
            "storage root (TENSORRAG_STORAGE / storage=...)."
        )
    if num in _PERM_ERRNOS or _is(exc, PermissionError):
        return StoragePermissionError(
            f"{head}: {_PERM_ERRNOS.get(num or 0, 'permission denied')} ({what}). Fix: give this user write "
            "and read access to the storage folder, or choose another storage root (TENSORRAG_STORAGE)."
        )
    if names & _UNREACHABLE or _is(exc, (ConnectionError, TimeoutError)):
        endpoint = _endpoint(options)
        at = f" at {endpoint}" if endpoint else ""
        return StorageUnavailableError(
            f"{head}: the storage server{at} is unreachable ({what}). Fix: check that it is running and "
            "reachable (S3_ENDPOINT / storage_options client_kwargs={'endpoint_url': ...}, network, proxy), "
            "then run.resume(): finished nodes are cached."
        )
    return StorageError(f"{head}: {what}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(seen) < 8:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _chain_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for e in _chain(exc) for cls in type(e).__mro__}


def _is(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    return any(isinstance(e, kinds) for e in _chain(exc))


def _errno(exc: BaseException) -> int | None:
    for e in _chain(exc):
        num = getattr(e, "errno", None)
        if isinstance(num, int):
            return num
    return None


def _client_code(exc: BaseException) -> str | None:
    # botocore ClientError.response = {"Error": {"Code": ...}}; s3fs keeps it as __cause__.
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
            if isinstance(code, str):
                return code
    return None


def _endpoint(options: dict[str, Any] | None) -> str | None:
    opts = options or {}
    kwargs = opts.get("client_kwargs")
    url = (kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None) or opts.get("endpoint_url")
    url = url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return str(url) if url else None
