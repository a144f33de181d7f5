"""Read a table from a local path or any fsspec URL, in the format its extension names.

Shared by ``data_load`` and ``csv_loader``. Formats: CSV (``.csv``, ``.tsv``, ``.txt``, and their
``.gz`` / ``.bz2`` / ``.zip`` / ``.xz`` / ``.zst`` compressions), Parquet (``.parquet``, ``.pq``),
JSON (``.json``: records, columns or split orientation, as pandas reads it) and JSON Lines
(``.jsonl``, ``.ndjson``: one record per line). Excel is left out on purpose (it needs openpyxl).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tensorrag.cards.data._common import card_error

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMATS", "format_of", "read_table"]

#: The ``format`` values; ``auto`` picks one from the file extension.
FORMATS = ("auto", "csv", "tsv", "parquet", "json", "jsonl")
_BY_EXTENSION = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_COMPRESSIONS = (".gz", ".bz2", ".zip", ".xz", ".zst")


def format_of(location: str, fmt: str = "auto") -> str | None:
    """The table format of ``location``: ``fmt`` unless it is ``auto``, else by extension (None: unknown)."""
    if fmt and fmt != "auto":
        return fmt
    name = location.split("?", 1)[0].split("#", 1)[0].rstrip("/").lower()
    for suffix in _COMPRESSIONS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    dot = name.rfind(".")
    return _BY_EXTENSION.get(name[dot:]) if dot > name.rfind("/") else None


def read_table(
    card_type: str,
    config: dict[str, Any],
    field: str,
    location: Any,
    fmt: str = "auto",
    storage_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Read the table at ``location`` (``field`` of the config) or raise a config error that says why.

    Args:
        card_type: for the message.
        config: the node config.
        field: the config field holding the location (``path`` or ``url``).
        location: a local path (``~`` expanded) or an fsspec URL.
        fmt: one of :data:`FORMATS`.
        storage_options: fsspec options for a URL.

    Returns:
        The table.

    Raises:
        CardConfigError: empty location, unknown format, missing file, unreadable contents.
    """
    import pandas as pd

    if not isinstance(location, str) or not location.strip():
        raise card_error(
            card_type,
            config,
            field,
            f"{field} is required but it is empty. Set {field} to a table file (CSV, Parquet, JSON, JSONL): "
            f"a local path or an fsspec URL (s3://..., https://..., memory://...).",
        )
    location = location.strip()
    kind = format_of(location, fmt)
    if kind is None:
        raise card_error(
            card_type,
            config,
            "format",
            f"cannot tell the format of {location!r} from its extension; name the file .csv, .tsv, .parquet, "
            f".json or .jsonl, or set format to one of {', '.join(FORMATS[1:])}.",
        )
    is_url = "://" in location
    if not is_url:
        from pathlib import Path

        location = str(Path(location).expanduser())
    kwargs: dict[str, Any] = {}
    if storage_options and is_url:
        kwargs["storage_options"] = dict(storage_options)
    readers = {
        "csv": lambda: pd.read_csv(location, **kwargs),
        "tsv": lambda: pd.read_csv(location, sep="\t", **kwargs),
        "parquet": lambda: pd.read_parquet(location, **kwargs),
        "json": lambda: pd.read_json(location, **kwargs),
        "jsonl": lambda: pd.read_json(location, lines=True, **kwargs),
    }
    try:
        return readers[kind]()
    except (ImportError, ValueError, OSError, TypeError) as exc:  # missing file, bad contents, protocol, options
        raise card_error(card_type, config, field, _problem(f"{field} {location!r}", kind, exc)) from exc


def _problem(what: str, kind: str, exc: BaseException) -> str:
    import pandas as pd

    if isinstance(exc, FileNotFoundError):
        return (
            f"{what} does not exist ({exc}). Check the path (relative paths are resolved from the current "
            "directory) or the URL."
        )
    if isinstance(exc, IsADirectoryError):
        return f"{what} is a directory; point it at a table file."
    if isinstance(exc, pd.errors.EmptyDataError):
        return f"{what} is empty: no columns to read."
    if isinstance(exc, pd.errors.ParserError):
        return f"{what} is not a readable {kind.upper()} file: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"{what} is not UTF-8 text (is it a binary file? set format): {exc}"
    return f"cannot read {what} as {kind}: {type(exc).__name__}: {exc}"
