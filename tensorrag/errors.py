"""Every error tensorrag raises, in one hierarchy.

Catch :class:`TensorragError` to catch them all. Where a builtin means the same thing the
error derives from it too (``except KeyError`` still catches an unknown card type)::

    TensorragError
    ├── ArgumentError                a public function got an unknown keyword or a bad argument (TypeError, ValueError)
    ├── ConfigError                  bad settings / environment variables          (ValueError)
    ├── SpecError                    malformed _pipeline.json or task/result payload (ValueError)
    ├── RegistryError                a plugin could not be registered or loaded
    │   └── UnknownCardTypeError     no card with that type (with did-you-mean)    (KeyError)
    ├── CardError                    something about one card
    │   ├── CardDefinitionError      a card class / @card function is malformed    (TypeError)
    │   │   └── CardFileTooLargeError a card file is over TENSORRAG_MAX_CARD_BYTES
    │   ├── CardConfigError          a node's config does not fit its schema       (ValueError)
    │   └── CardExecutionError       a card failed while running
    │       ├── MissingOutputError   a card did not produce a declared output
    │       └── CacheTokenError      a card's cache_token(config) raised
    ├── PipelineError                something about the graph
    │   ├── WiringError              connect() refused an edge                     (ValueError)
    │   ├── DuplicateNodeError       a node id is already taken                    (ValueError)
    │   ├── UnknownNodeError         no node with that id                          (KeyError)
    │   ├── PipelineValidationError  validate() found problems (``.problems``)
    │   └── SweepError               a sweep's space, metric or options do not fit the pipeline (ValueError)
    │       └── UnknownSweepFieldError a swept or metric node/field/port that does not exist (KeyError)
    ├── StorageError                 the artifact store failed
    │   ├── ArtifactNotFoundError    no artifact at that ref                       (FileNotFoundError)
    │   ├── ArtifactCorruptError     an artifact's bytes do not match its sha256
    │   ├── UnsafePathError          a user-given name or path is not allowed      (ValueError)
    │   ├── StorageUnavailableError  the storage server cannot be reached          (ConnectionError)
    │   ├── StoragePermissionError   no/refused credentials, no access, read-only  (PermissionError)
    │   └── StorageFullError         no space left / quota / file-size limit       (OSError)
    ├── ExecutorError                an executor could not run a task
    │   ├── TaskTimeoutError         a task ran past its deadline                  (TimeoutError)
    │   ├── TaskCancelledError       the run was cancelled while the task ran
    │   ├── WorkerLostError          the worker (Dask, Ray) running a task died or left the cluster
    │   └── RemoteCardError          a card raised in another process/machine
    ├── RunError                     asking a run for something it does not have
    │   └── NodeFailedError          asking for the output of a node that failed
    └── UnauthorizedError            a server's auth callable refused a request    (PermissionError)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = [
    "ArgumentError",
    "ArtifactCorruptError",
    "ArtifactNotFoundError",
    "CacheTokenError",
    "CardConfigError",
    "CardDefinitionError",
    "CardError",
    "CardExecutionError",
    "CardFileTooLargeError",
    "ConfigError",
    "DuplicateNodeError",
    "ExecutorError",
    "MissingOutputError",
    "NodeFailedError",
    "PipelineError",
    "PipelineValidationError",
    "RegistryError",
    "RemoteCardError",
    "RunError",
    "SpecError",
    "StorageError",
    "StorageFullError",
    "StoragePermissionError",
    "StorageUnavailableError",
    "SweepError",
    "TaskCancelledError",
    "TaskTimeoutError",
    "TensorragError",
    "UnauthorizedError",
    "UnknownCardTypeError",
    "UnknownNodeError",
    "UnknownSweepFieldError",
    "UnsafePathError",
    "WiringError",
    "WorkerLostError",
]


class TensorragError(Exception):
    """Base class of every error raised by tensorrag."""


class ArgumentError(TensorragError, TypeError, ValueError):
    """A public function got an argument it cannot use: an unknown keyword, a wrong type or a bad value.

    It is a :class:`TypeError` (what Python raises for an unexpected keyword) and a
    :class:`ValueError` (what it raises for a bad value), so either ``except`` catches it.
    """


class ConfigError(TensorragError, ValueError):
    """A setting (argument or environment variable) has an invalid value."""


class SpecError(TensorragError, ValueError):
    """A ``_pipeline.json`` document or a task/result payload is malformed."""


class RegistryError(TensorragError):
    """A plugin could not be registered or loaded."""


class UnknownCardTypeError(RegistryError, KeyError):
    """No card is registered under the requested ``card_type``."""

    def __init__(self, card_type: str, available: list[str] | None = None, note: str | None = None) -> None:
        self.card_type = card_type
        self.available = sorted(available or [])
        msg = f"Unknown card type {card_type!r}."
        close = _close_matches(card_type, self.available) if isinstance(card_type, str) else []
        if note:  # e.g. the card file that should define this type failed to load: that is the fix
            msg += f" {note}"
        if close:
            msg += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        elif self.available and not note:
            msg += f" Available: {', '.join(self.available)}."
        if not note:
            msg += " Register custom cards with Pipeline.register(...) or the 'tensorrag.cards' entry point."
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class CardError(TensorragError):
    """Something is wrong with one card or one node."""

    def __init__(self, message: str, *, node_id: str | None = None, card_type: str | None = None) -> None:
        self.node_id = node_id
        self.card_type = card_type
        super().__init__(message)


class CardDefinitionError(CardError, TypeError):
    """A card class or ``@card`` function is malformed (fix the card's code)."""


class CardFileTooLargeError(CardDefinitionError):
    """A card file is larger than the limit (``TENSORRAG_MAX_CARD_BYTES``); it is not read further.

    Attributes:
        path: the card file.
        size: its size in bytes (UTF-8).
        limit: the limit in bytes.
    """

    def __init__(self, path: str, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        super().__init__(
            f"Card file {path!r} is {size:,} bytes; card files may be at most {limit:,} bytes "
            "(TENSORRAG_MAX_CARD_BYTES). Keep data out of the card's source: load it in execute() "
            "from storage or a URL, or raise the limit."
        )


class CardConfigError(CardError, ValueError):
    """A node's config does not match its card's ``config_schema``.

    Attributes:
        problems: one ``{"node_id", "field", "message"}`` dict per invalid field.
    """

    def __init__(
        self,
        message: str,
        *,
        node_id: str | None = None,
        card_type: str | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, node_id=node_id, card_type=card_type)
        self.problems = problems or []


class CardExecutionError(CardError):
    """A card failed while it ran."""


class MissingOutputError(CardExecutionError):
    """A card finished without producing one of its declared outputs."""


class CacheTokenError(CardExecutionError):
    """A card's ``cache_token(config)`` raised, so the node's cache key cannot be computed."""


class PipelineError(TensorragError):
    """Something is wrong with the graph."""


class WiringError(PipelineError, ValueError):
    """``connect`` refused an edge (unknown node or port, type mismatch, input already fed)."""


class DuplicateNodeError(PipelineError, ValueError):
    """A node id is already used in this pipeline."""


class UnknownNodeError(PipelineError, KeyError):
    """No node has the given id."""

    def __init__(self, node_id: str, available: list[str] | None = None) -> None:
        self.node_id = node_id
        msg = f"No node with id {node_id!r}."
        close = _close_matches(node_id, sorted(available or [])) if isinstance(node_id, str) else []
        if close:
            msg += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        super().__init__(msg)

    def __str__(self) -> str:
        return str(self.args[0])


class PipelineValidationError(PipelineError):
    """``Pipeline.validate()`` found one or more problems; all are listed in ``problems``.

    Attributes:
        problems: ``[{"node_id": str | None, "field": str (optional), "message": str}]``.
    """

    def __init__(self, problems: list[dict[str, Any]], pipeline: str | None = None) -> None:
        self.problems = problems
        head = f"Pipeline {pipeline!r} is invalid" if pipeline else "Pipeline is invalid"
        lines = [f"{head} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
        for p in problems:
            where = p.get("node_id") or "pipeline"
            if p.get("field"):
                where += f".{p['field']}"
            lines.append(f"  - [{where}] {p['message']}")
        super().__init__("\n".join(lines))


class SweepError(PipelineError, ValueError):
    """A sweep cannot be built: its space, metric or options do not fit the pipeline (checked before anything runs).

    Attributes:
        key: the space key or metric at fault (``"define.hyperparameters.alpha"``), when there is one.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


class UnknownSweepFieldError(SweepError, KeyError):
    """A sweep names a node, config field or output port that does not exist (with did-you-mean).

    Attributes:
        key: the space key or metric as given.
        name: the part that does not exist.
        available: what exists there.
    """

    def __init__(self, key: str, where: str, what: str, name: str, available: list[str]) -> None:
        self.name, self.available = name, list(available)
        close = _close_matches(name, sorted(self.available))
        msg = f"Sweep {key!r}: {where} has no {what} {name!r}."
        if close:
            msg += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        else:
            msg += f" It has: {name_list(self.available, 12)}."
        super().__init__(msg, key=key)

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class StorageError(TensorragError):
    """The artifact store failed to read or write."""


class ArtifactNotFoundError(StorageError, FileNotFoundError):
    """No artifact exists at the given ref."""


class ArtifactCorruptError(StorageError):
    """An artifact's bytes no longer match the sha256 recorded when it was written.

    Attributes:
        uri: where the artifact is.
        expected: the recorded sha256.
        actual: the sha256 of the bytes found.
    """

    def __init__(self, uri: str, expected: str, actual: str) -> None:
        self.uri, self.expected, self.actual = uri, expected, actual
        super().__init__(
            f"Artifact {uri} is corrupt: its sha256 is {actual[:16]}..., but {expected[:16]}... was recorded "
            "when it was written (the file was changed or truncated after the run). Re-run the node that "
            "produces it (the cache recomputes it), or restore the file."
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.uri, self.expected, self.actual))


class UnsafePathError(StorageError, ValueError):
    """A user-given name or path is not allowed (``..``, absolute, NUL, too long, ...)."""


class StorageUnavailableError(StorageError, ConnectionError):
    """The storage server cannot be reached (connection refused, endpoint down, timeout)."""


class StoragePermissionError(StorageError, PermissionError):
    """The store refused the operation: missing or rejected credentials, no access, a read-only file system."""


class StorageFullError(StorageError, OSError):
    """The store has no room: no space left on the device, a quota or a file-size limit was hit."""


class ExecutorError(TensorragError):
    """An executor could not run a task."""


class TaskTimeoutError(ExecutorError, TimeoutError):
    """A task ran past its deadline (``resources={"timeout": seconds}``)."""


class TaskCancelledError(ExecutorError):
    """The run was cancelled (``run.cancel()``) while the task ran; its attempt never commits."""


class WorkerLostError(ExecutorError):
    """The worker running a task died or left the cluster (a Dask ``KilledWorker``, a Ray ``WorkerCrashedError``)."""


class RemoteCardError(ExecutorError):
    """A card raised in another process or machine.

    Attributes:
        remote_type: the original exception's type name (e.g. ``"ValueError"``).
        remote_traceback: the traceback text from where it ran.
    """

    def __init__(self, remote_type: str, message: str, remote_traceback: str = "") -> None:
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback
        super().__init__(f"{remote_type}: {message}")


class RunError(TensorragError):
    """A run was asked for something it does not have (unknown node, output not produced)."""


class NodeFailedError(RunError):
    """The requested output belongs to a node that failed or was skipped."""


class UnauthorizedError(TensorragError, PermissionError):
    """A server's ``auth`` callable refused a request: no or bad credentials (HTTP 401, WebSocket close 1008).

    Raise it from the ``auth`` callable given to :func:`tensorrag.server.create_app`; its message
    is sent to the client, so say what is missing and how to authenticate, never a secret.
    """


def check_keywords(fn: _F) -> _F:
    """Decorate ``fn`` so a call with an argument it does not take raises :class:`ArgumentError`.

    The message names the function, the argument, a close match (``target`` -> ``targets``)
    and every argument it takes; ``inspect.signature`` still shows ``fn``'s own signature.
    """
    import functools
    import inspect

    sig = inspect.signature(fn)
    names = [
        p.name
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]
    where = fn.__qualname__

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            unknown = [k for k in kwargs if k not in sig.parameters]
            if unknown:
                close = _close_matches(unknown[0], names)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                msg = f"{where}() got an unexpected keyword argument {unknown[0]!r}.{hint}"
            else:
                msg = f"{where}(): {exc}."
            raise ArgumentError(f"{msg} It takes: {', '.join(names)}.") from None
        return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]


def name_list(names: list[str], most: int = 5) -> str:
    """The first ``most`` names for a message ("a, b, c ..."), or "none": one wording for every listing."""
    if not names:
        return "none"
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


def _close_matches(word: str, options: list[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, options, n=3, cutoff=0.6)
