"""Validation of user-given names and relative paths before they touch a filesystem.

Every name that reaches a storage path (user, project, run id, artifact key, output name) goes
through :func:`safe_name`; every relative path through :func:`safe_relpath` (card files of a
project through :func:`check_card_path` / :func:`check_card_folder`, built on it). All raise
:class:`~tensorrag.errors.UnsafePathError` (a ``ValueError``) naming what was wrong and how to fix it.
"""

from __future__ import annotations

import os
import re
import stat

from tensorrag.errors import UnsafePathError
from tensorrag.spec import safe_repr

__all__ = [
    "MAX_CARD_DEPTH",
    "MAX_CARD_PATH",
    "MAX_NAME",
    "MAX_PATH",
    "check_card_folder",
    "check_card_path",
    "check_root",
    "confine",
    "safe_name",
    "safe_relpath",
]

#: Longest single name (one path segment) accepted by :func:`safe_name`.
MAX_NAME = 128
#: Longest relative path accepted by :func:`safe_relpath`.
MAX_PATH = 1024
#: Longest segment inside a relative path (most filesystems cap a file name at 255 bytes).
_MAX_SEGMENT = 255
#: Longest card path (relative to a project's ``cards/``) accepted by :func:`check_card_path`.
MAX_CARD_PATH = 512
#: Deepest folder nesting of a card path.
MAX_CARD_DEPTH = 16

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,127}")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._ -]*")
_HINT = "Use letters, digits, '.', '_', '-' and spaces, starting with a letter or digit"


_SAFE: set[str] = set()  # names that passed safe_name (only str; bounded)


def safe_name(name: str, what: str = "name") -> str:
    r"""Check that ``name`` is one safe path segment (a user, project, run or artifact name).

    Allowed: 1 to 128 characters from ``A-Z a-z 0-9 . _ - space``, starting with a letter or a
    digit and not ending with a space or a dot (so ``..``, ``/``, ``\``, NUL and control
    characters can never appear).

    Args:
        name: the value to check.
        what: what the value is, for the error message (``"project"``, ``"user"``, ...).

    Returns:
        ``name`` unchanged.

    Raises:
        UnsafePathError: ``name`` is not a string or not a safe segment.
    """
    if type(name) is str and name in _SAFE:
        return name  # checked before: every artifact key and port name is checked several times per node
    if not isinstance(name, str):
        raise UnsafePathError(f"{what} must be a string; got {type(name).__name__} {safe_repr(name)}.")
    if _NAME.fullmatch(name) and name[-1] not in " .":
        if len(_SAFE) > 4096:  # bounded: attempt keys are new every run
            _SAFE.clear()
        _SAFE.add(name)
        return name
    raise UnsafePathError(f"Unsafe {what} {_show(name)}: {_why_name(name)}. {_HINT} (at most {MAX_NAME}).")


def safe_relpath(path: str, what: str = "path") -> str:
    """Check that ``path`` is a safe relative POSIX path inside a store and normalise it.

    Each ``/``-separated segment may use ``A-Z a-z 0-9 . _ - space``, must start with a letter,
    digit or ``_`` (so ``_history`` works, ``.``/``..``/``~user`` do not) and must not end with a
    space or a dot. Absolute paths, backslashes, drive letters, URL schemes, NUL and control
    characters, empty segments (``a//b``) and paths over 1024 characters are rejected. One
    trailing ``/`` is dropped.

    Args:
        path: the relative path to check.
        what: what the value is, for the error message.

    Returns:
        The normalised path (``"runs/"`` -> ``"runs"``).

    Raises:
        UnsafePathError: ``path`` is not a safe relative path.
    """
    if not isinstance(path, str):
        raise UnsafePathError(f"{what} must be a string; got {type(path).__name__} {safe_repr(path)}.")
    norm = path[:-1] if path.endswith("/") and len(path) > 1 else path
    if len(norm) > MAX_PATH:
        raise UnsafePathError(
            f"Unsafe {what} {_show(path)}: {len(norm)} characters, at most {MAX_PATH} allowed. Use a shorter path."
        )
    segments = norm.split("/")
    # Fast path: every segment well-formed means no '..', '/', '\\', ':', '~' or control chars.
    for seg in segments:
        if not (len(seg) <= _MAX_SEGMENT and _SEGMENT.fullmatch(seg) and seg[-1] not in " ."):
            raise UnsafePathError(
                f"Unsafe {what} {_show(path)}: {_why_path(norm, seg)}. "
                "Expected a relative path like 'artifacts/abc123/model.joblib' whose segments use letters, "
                "digits, '.', '_', '-' and spaces."
            )
    return norm


def check_card_path(path: str) -> str:
    r"""Check a card file path (relative to the project's ``cards/`` folder) and normalise it.

    Allowed: a relative POSIX path of safe segments (letters, digits, ``.``, ``_``, ``-``, spaces;
    see :func:`tensorrag.storage.safe_relpath`) ending in ``.py``, at most 512 characters and 16
    levels deep. Rejected with a clear message: ``..``, absolute paths, ``\``, drive letters,
    URLs, ``~``, NUL and control characters, hidden files, empty segments, other extensions.

    Returns:
        The normalised path (one trailing ``/`` dropped).

    Raises:
        UnsafePathError: ``path`` is not an acceptable card path.
    """
    if not isinstance(path, str):
        raise UnsafePathError(f"A card path must be a string; got {type(path).__name__} {safe_repr(path)}.")
    if len(path) > MAX_CARD_PATH:
        raise UnsafePathError(
            f"Unsafe card path {path[:60]!r}... ({len(path)} characters): at most {MAX_CARD_PATH} allowed."
        )
    norm = safe_relpath(path, "card path")
    if not norm.endswith(".py") or norm.rsplit("/", 1)[-1] == ".py":
        raise UnsafePathError(
            f"Card path {path!r} must name a .py file (like 'data/load_images.py'); only Python card files "
            "live under cards/."
        )
    if norm.count("/") >= MAX_CARD_DEPTH:
        raise UnsafePathError(f"Card path {path!r} is {norm.count('/') + 1} levels deep; at most {MAX_CARD_DEPTH}.")
    return norm


def check_card_folder(path: str) -> str:
    """Check a card folder path (relative to the project's ``cards/`` folder) and normalise it.

    Raises:
        UnsafePathError: ``path`` is not a safe relative path of at most 512 characters.
    """
    if not isinstance(path, str):
        raise UnsafePathError(f"A card folder must be a string; got {type(path).__name__} {safe_repr(path)}.")
    if len(path) > MAX_CARD_PATH:
        raise UnsafePathError(f"Unsafe card folder ({len(path)} characters): at most {MAX_CARD_PATH} allowed.")
    return safe_relpath(path, "card folder")


def check_root(url: object, what: str = "storage root") -> str:
    """Check a storage root argument (a path or fsspec URL) before any filesystem sees it.

    Args:
        url: the value given as the store's root (``open_store(url)``, ``Workspace(url)``).
        what: what the value is, for the error message.

    Returns:
        The root as a string (a path-like is converted with ``os.fspath``).

    Raises:
        UnsafePathError: not a non-empty ``str`` / path-like, or it holds NUL, a control character or a
            lone surrogate (an undecodable byte), which no filesystem or object store accepts.
    """
    raw = os.fspath(url) if isinstance(url, os.PathLike) else url
    if isinstance(raw, bytes):
        raise UnsafePathError(
            f"A {what} must be a str path or URL; got bytes {_show_any(raw)}. Decode it first (os.fsdecode(...))."
        )
    if not isinstance(raw, str) or not raw:
        raise UnsafePathError(
            f"A {what} must be a non-empty path or fsspec URL ('./data', 'file:///data', 's3://bucket/prefix'); "
            f"got {type(url).__name__} {_show_any(url)}."
        )
    for i, ch in enumerate(raw):
        code = ord(ch)
        if code < 32 or code == 127:
            why = "a NUL character" if code == 0 else f"the control character {ch!r}"
        elif 0xD800 <= code <= 0xDFFF:
            why = f"a lone surrogate {ch!r} (an undecodable byte in a file name, or broken text)"
        else:
            continue
        raise UnsafePathError(
            f"Unsafe {what} {_show(raw)}: it contains {why} at position {i}. "
            "Fix: pass a path or URL of valid printable text (rename the folder if its name holds such bytes)."
        )
    return raw


def confine(full: str, root: str, uri: str) -> None:
    """Check that the local path ``full`` (below ``root``) stays inside ``root`` once symlinks are resolved.

    Symlinks that point elsewhere inside the root are allowed, and so is a root that is itself a
    symlink; one below the root that leads out of it (a symlinked ``runs/``, project or artifacts
    folder) would make the store read or write foreign files.

    Raises:
        UnsafePathError: ``full`` resolves outside ``root``; the message names the symlink.
    """
    path = root
    # lstat of each part below the root is ~10x cheaper than realpath; only a symlink needs resolving.
    for seg in full[len(root) + 1 :].split("/") if len(full) > len(root) else ():
        path = f"{path}/{seg}"
        try:
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                continue
        except OSError:
            return  # missing: nothing below it exists, so no symlink either
        break
    else:
        return
    real_root = os.path.realpath(root or "/")
    real = os.path.realpath(full)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        return
    raise UnsafePathError(
        f"{uri} resolves to {real}, outside the store root {real_root}: {path} is a symlink that leads out "
        "of the store. Fix: replace it with a real folder inside the store, or open the store at the "
        "symlink's target instead."
    )


def _show_any(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def _show(value: str) -> str:
    # Long values are cut so the message stays readable; repr() makes NUL and newlines visible.
    return repr(value) if len(value) <= 80 else repr(value[:60]) + f"... ({len(value)} characters)"


def _why_name(name: str) -> str:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"{len(name)} characters, at most {MAX_NAME} allowed"
    return _why_chars(name) or (
        "it must start with a letter or digit" if not name[0].isalnum() else "it must not end with a space or a dot"
    )


def _why_path(path: str, seg: str) -> str:
    if not path:
        return "it is empty"
    if path.startswith("/"):
        return "absolute paths are not allowed"
    if "://" in path:
        return "URLs are not allowed here, only paths relative to the store root"
    if re.match(r"^[A-Za-z]:", path):
        return "drive letters are not allowed"
    if path.startswith("~"):
        return "'~' home-directory prefixes are not allowed"
    if seg in (".", ".."):
        return f"'{seg}' segments are not allowed"
    if not seg:
        return "empty segments ('//') are not allowed"
    if len(seg) > _MAX_SEGMENT:
        return f"segment of {len(seg)} characters, at most {_MAX_SEGMENT} allowed"
    return _why_chars(seg) or (
        f"segment {seg!r} must start with a letter, digit or '_'"
        if not (seg[0].isalnum() or seg[0] == "_")
        else f"segment {seg!r} must not end with a space or a dot"
    )


def _why_chars(value: str) -> str:
    for ch in value:
        if ch == "\x00":
            return "it contains a NUL character"
        if ord(ch) < 32 or ord(ch) == 127:
            return f"it contains the control character {ch!r}"
        if ch in "/\\":
            return f"it contains {ch!r}"
        if not (ch.isascii() and (ch.isalnum() or ch in "._ -")):
            return f"it contains the character {ch!r}"
    return ""
