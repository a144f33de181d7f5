"""Run manifests that survive a failing store: one retry, then a local copy outside the store.

When ``runs/{run_id}.json`` cannot be written (server down, disk full, read-only), the manifest
is written to the first writable folder of:

1. ``$XDG_CACHE_HOME/tensorrag/unsaved-runs/`` (default ``~/.cache/tensorrag/unsaved-runs/``),
2. ``{tempfile.gettempdir()}/tensorrag-unsaved-runs/``,

as ``{run_id}.json`` (the same JSON as in the store), and a ``RuntimeWarning`` says where and why.
``Run.save_manifest()`` writes it to the store later and removes the local copy.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tensorrag.errors import StorageError
from tensorrag.storage.codecs import encode_json
from tensorrag.storage.paths import safe_name

if TYPE_CHECKING:
    from tensorrag.storage.store import ArtifactStore

__all__ = ["ManifestSave", "fallback_dirs", "save_run_manifest"]


@dataclass
class ManifestSave:
    """Where a run manifest ended up.

    Attributes:
        uri: its uri in the store, or None when the store refused it.
        fallback: the local copy written instead (None when the store took it, or nothing was writable).
        error: the store's typed error (None when the store took it).
    """

    uri: str | None = None
    fallback: str | None = None
    error: StorageError | None = None


def fallback_dirs() -> list[str]:
    """The folders tried, in order, for manifests the store refused (see the module docstring)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [
        os.path.join(cache, "tensorrag", "unsaved-runs"),
        os.path.join(_tempdir(), "tensorrag-unsaved-runs"),
    ]


def save_run_manifest(
    store: ArtifactStore, run_id: str, manifest: dict[str, Any], *, retry_after: float = 0.5
) -> ManifestSave:
    """Write ``manifest`` to ``runs/{run_id}.json``; retry once; else keep a local copy and warn.

    Never raises for a store failure: the outcome (and the store's typed error) is returned.
    """
    error: StorageError | None = None
    for attempt in range(2):
        try:
            return ManifestSave(uri=store.write_run(run_id, manifest))
        except StorageError as exc:
            error = exc
            if attempt == 0:
                time.sleep(retry_after)  # a blip (restarting server, space freed) often clears at once
    assert error is not None
    data = encode_json(manifest, indent=2)
    name = safe_name(run_id, "run id") + ".json"
    fallback = None
    problems = []
    for folder in fallback_dirs():
        path = os.path.join(folder, name)
        try:
            os.makedirs(folder, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            problems.append(f"{folder}: {exc}")
            continue
        fallback = path
        break
    where = f"A copy is at {fallback}" if fallback else f"No local copy could be written either ({'; '.join(problems)})"
    warnings.warn(
        f"Run {run_id}: its manifest could not be saved to {store.url}/runs/{name}: {error} {where}. "
        "Once the store works again, run.save_manifest() writes it there (run.resume() does so too).",
        RuntimeWarning,
        stacklevel=2,
    )
    return ManifestSave(fallback=fallback, error=error)


def _tempdir() -> str:
    import tempfile  # only when a manifest must be kept locally: tempfile costs ~3 ms at import

    return tempfile.gettempdir()
