"""Artifact codecs: how each port type becomes bytes and back.

==============  ===========  ===============================================================
type            extension    encoding
==============  ===========  ===============================================================
``dataframe``   ``parquet``  pyarrow parquet (snappy), index dropped like the original
``model``       ``joblib``   ``joblib.dump`` (a pickle: only load artifacts you trust)
``model``       registered   a model that declares a weights + description form (no pickle):
                             its class sets ``__tensorrag_format__`` (the extension, e.g.
                             ``trtorch``) and ``__tensorrag_encode__() -> bytes``; the reader
                             is ``tensorrag.registry.model_format_registry[ext]``
``json``        ``json``     UTF-8 JSON; NaN/inf become ``null``, other values ``str()``
``bytes``       any          the raw bytes; the extension is the caller's (default ``bin``)
``any``         by value     the type is inferred from the value (:func:`infer_type`)
==============  ===========  ===============================================================

pandas, pyarrow and joblib are imported inside the functions that need them so that importing
this module stays cheap. A model format's reader is imported when an artifact of it is first read.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from typing import Any, BinaryIO, TypeAlias

from tensorrag.errors import RegistryError, StorageError
from tensorrag.registry import model_format_registry

__all__ = [
    "EXTENSIONS",
    "declared_format",
    "decode",
    "encode",
    "encode_to",
    "infer_type",
    "resolve_ext",
    "sha256",
    "type_from_ext",
]

#: Default file extension of each concrete artifact type.
EXTENSIONS: dict[str, str] = {"dataframe": "parquet", "model": "joblib", "json": "json", "bytes": "bin"}
_TYPE_OF_EXT = {"parquet": "dataframe", "joblib": "model", "json": "json"}
_EXT = re.compile(r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")
_JSON_SCALARS = (dict, list, str, int, float, bool, type(None))

#: What the store writes without copying.
Buffer: TypeAlias = bytes | bytearray | memoryview


def infer_type(value: Any) -> str:
    """The artifact type a value is stored as.

    Returns:
        ``"dataframe"`` for a pandas DataFrame, ``"json"`` for dict/list/str/int/float/bool/None,
        ``"bytes"`` for bytes/bytearray/memoryview and ``"model"`` (joblib) for anything else.
    """
    if isinstance(value, _JSON_SCALARS):
        return "json"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    if _is_dataframe(value):
        return "dataframe"
    return "model"


def type_from_ext(ext: str | None) -> str:
    """The artifact type of a file extension (``parquet``, ``joblib``, ``json``, a model format; else ``bytes``)."""
    norm = (ext or "").lower().lstrip(".")
    found = _TYPE_OF_EXT.get(norm)
    if found is not None:
        return found
    return "model" if norm and norm in model_format_registry else "bytes"


def declared_format(value: Any) -> str | None:
    """The model format (file extension) ``value``'s class declares with ``__tensorrag_format__``, if any."""
    fmt = getattr(type(value), "__tensorrag_format__", None)
    return fmt if isinstance(fmt, str) and fmt else None


def sha256(data: Buffer) -> str:
    """Hex SHA-256 of ``data`` (the content hash recorded in every artifact ref)."""
    return hashlib.sha256(data).hexdigest()


def check_ext(ext: str) -> str:
    """Validate a file extension (one leading dot is dropped) and return it.

    Raises:
        StorageError: the extension is not 1-16 characters of letters/digits separated by dots.
    """
    if not isinstance(ext, str):
        raise StorageError(f"A file extension must be a string; got {type(ext).__name__} {ext!r}.")
    norm = ext[1:] if ext.startswith(".") else ext
    if len(norm) > 16 or not _EXT.fullmatch(norm):
        raise StorageError(
            f"Invalid file extension {ext!r}: expected letters and digits, optionally dot-separated "
            "(e.g. 'png', 'tar.gz'), at most 16 characters."
        )
    return norm


def encode(type: str, value: Any, ext: str | None = None) -> tuple[bytes, str]:
    """Encode ``value`` as an artifact of port type ``type``.

    Args:
        type: ``dataframe``, ``model``, ``json``, ``bytes`` or ``any`` (inferred from the value).
        value: the object to encode.
        ext: file extension; only ``bytes`` may choose it (default ``bin``), other types must
            leave it out or give their own (``parquet``, ``joblib``, ``json``). A ``model`` that
            declares a format is written in it when ``ext`` is left out (``joblib`` pickles it).

    Returns:
        ``(data, ext)``.

    Raises:
        StorageError: ``value`` does not fit ``type``, ``type`` is unknown or it cannot be encoded.
    """
    data, ext = encode_buffer(type, value, ext)
    return (data if isinstance(data, bytes) else bytes(data)), ext


def encode_buffer(type: str, value: Any, ext: str | None = None) -> tuple[Buffer, str]:
    """Like :func:`encode`, but may return a zero-copy buffer (saves a copy of large parquet files)."""
    if type == "any":
        type = infer_type(value)
    ext = resolve_ext(type, ext, value)
    if type == "json":
        return encode_json(value), ext
    if type == "bytes":
        return _check_bytes(value), ext
    if type == "dataframe":
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        _write_dataframe(value, sink)
        return memoryview(sink.getvalue()), ext  # zero-copy view of the Arrow buffer
    if ext != EXTENSIONS["model"]:
        return _encode_model_format(value, ext), ext
    buf = io.BytesIO()
    _write_model(value, buf)
    return buf.getbuffer(), ext


def encode_to(type: str, value: Any, target: str | BinaryIO, ext: str | None = None) -> str:
    """Encode ``value`` straight into a local file path or a writable binary file; return the ext.

    Writing to a path lets pyarrow and joblib write natively, with no in-memory copy of the result.

    Raises:
        StorageError: as :func:`encode`.
    """
    if type == "any":
        type = infer_type(value)
    ext = resolve_ext(type, ext, value)
    if type == "dataframe":
        if isinstance(target, str):
            import pyarrow as pa

            with pa.OSFile(target, "wb") as sink:
                _write_dataframe(value, sink)
        else:
            _write_dataframe(value, target)
    elif type == "model" and ext == EXTENSIONS["model"]:
        _write_model(value, target)
    else:
        data: Buffer
        if type == "model":
            data = _encode_model_format(value, ext)
        else:
            data = encode_json(value) if type == "json" else _check_bytes(value)
        if isinstance(target, str):
            with open(target, "wb") as f:
                f.write(data)
        else:
            target.write(data)
    return ext


def decode(type: str, data: Buffer, ext: str | None = None) -> Any:
    """Decode artifact bytes of port type ``type`` (inverse of :func:`encode`).

    Args:
        type: the recorded port type; ``any`` decides by ``ext``.
        data: the encoded bytes.
        ext: the file extension (used for ``any``).

    Raises:
        StorageError: the bytes are not a valid encoding of ``type``.
    """
    if type == "any":
        type = type_from_ext(ext)
    if type == "model" and ext and ext.lower() != EXTENSIONS["model"] and ext.lower() in model_format_registry:
        return _decode_model_format(data, ext.lower())
    try:
        if type == "dataframe":
            import pyarrow as pa
            import pyarrow.parquet as pq

            return pq.read_table(pa.BufferReader(data)).to_pandas()
        if type == "json":
            return json.loads(bytes(data) if isinstance(data, memoryview) else data)
        if type == "model":
            if bytes(data[:1]) != b"\x80":  # not a pickle (joblib writes protocol >= 2): a declared format?
                found, obj = _read_any_model_format(data)
                if found:
                    return obj
            import joblib

            return joblib.load(io.BytesIO(data))
        if type == "bytes":
            return data if isinstance(data, bytes) else bytes(data)
    except Exception as exc:
        raise StorageError(
            f"Could not decode {len(data)} bytes as a {type!r} artifact ({EXTENSIONS.get(type, ext)}): "
            f"{type_name(exc)}: {exc}. The artifact is corrupt or was saved with another type."
        ) from exc
    raise _unknown_type(type)


def encode_json(value: Any, indent: int | None = None) -> bytes:
    """UTF-8 JSON of ``value``: NaN/inf become ``null``; numpy scalars/arrays become numbers/lists; others ``str()``."""
    try:
        # Fast path: plain, finite data serialises in one C-level call.
        text = json.dumps(value, allow_nan=False, default=_json_default, indent=indent, ensure_ascii=False)
    except (ValueError, TypeError):
        # NaN/inf or non-string keys somewhere: clean the whole tree, then serialise again.
        try:
            text = json.dumps(_jsonable(value), allow_nan=False, default=str, indent=indent, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError) as exc:
            raise StorageError(f"Could not encode a {type_name(value)} as JSON: {exc}.") from exc
    return text.encode("utf-8")


def type_name(value: Any) -> str:
    """``module.Class`` of a value's type (``dict``, ``pandas.DataFrame``), for error messages."""
    cls = value if isinstance(value, type) else type(value)
    module = cls.__module__.split(".")[0]
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


# --------------------------------------------------------------------------- internals


def _is_dataframe(value: Any) -> bool:
    # Avoid importing pandas just to answer "no" for dicts, bytes and models.
    cls = type(value)
    if cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas"):
        return True
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def _write_dataframe(df: Any, out: Any) -> None:
    if not _is_dataframe(df):
        raise _mismatch("dataframe", "a pandas.DataFrame", df)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise StorageError(
            f"Could not convert the DataFrame to parquet: {exc}. Columns with mixed Python objects must be "
            "made one type first (e.g. df[col] = df[col].astype(str))."
        ) from exc
    pq.write_table(table, out)


def _write_model(value: Any, target: str | BinaryIO) -> None:
    import joblib

    try:
        joblib.dump(value, target)
    except OSError:
        raise
    except Exception as exc:
        raise StorageError(
            f"Could not pickle a {type_name(value)} with joblib for port type 'model': {exc}. Models must "
            "be picklable; save unpicklable objects with save_bytes in a format of your own."
        ) from exc


def _encode_model_format(value: Any, ext: str) -> bytes:
    """The bytes of ``value`` in the weights + description model format ``ext`` it declares."""
    declared = declared_format(value)
    if declared != ext:
        raise StorageError(
            f"A model saved as .{ext} must declare that format (__tensorrag_format__ = {ext!r}); "
            f"a {type_name(value)} declares {declared!r}. Leave ext out to save it as .joblib."
        )
    try:
        data = value.__tensorrag_encode__()
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"Could not encode a {type_name(value)} as .{ext}: {type_name(exc)}: {exc}.") from exc
    if not isinstance(data, (bytes, bytearray)):
        raise StorageError(f"{type_name(value)}.__tensorrag_encode__() must return bytes; got {type_name(data)}.")
    return bytes(data)


def _decode_model_format(data: Buffer, ext: str) -> Any:
    """Read a weights + description model artifact with the reader registered for ``ext``."""
    try:
        reader = model_format_registry.get(ext)
    except RegistryError as exc:  # e.g. torch not installed where the artifact is read
        raise StorageError(f"Cannot read a .{ext} model artifact here: {exc}") from exc
    try:
        return reader(bytes(data))
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(
            f"Could not read {len(data)} bytes as a .{ext} model artifact: {type_name(exc)}: {exc}. "
            "The artifact is corrupt or was saved with another type."
        ) from exc


def _read_any_model_format(data: Buffer) -> tuple[bool, Any]:
    """``(True, model)`` when a registered model format reads ``data``; ``(False, None)`` otherwise.

    A declaring model kept without an extension (``ArtifactStore.keep``/``put`` of type ``model``)
    lands at a ``.joblib`` path while its bytes are made in its own format; this reads it back.
    """
    for name in model_format_registry.names():
        try:
            return True, model_format_registry.get(name)(bytes(data))
        except Exception:  # not this format (or its reader is not installed): try the next
            continue
    return False, None


def _check_bytes(value: Any) -> Buffer:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _mismatch("bytes", "bytes, bytearray or memoryview", value)
    if isinstance(value, memoryview) and not (value.c_contiguous and value.itemsize == 1):
        return value.cast("B") if value.c_contiguous else value.tobytes()
    return value


def resolve_ext(type: str, ext: str | None, value: Any = None) -> str:
    """The file extension an artifact of ``type`` is stored with (``ext`` checked; only ``bytes`` may choose).

    With ``ext`` left out, a ``model`` ``value`` that declares a format (``__tensorrag_format__``) gets it:
    a model with a weights + description form is not pickled by default.

    ``model`` also accepts the extension of a registered model format (``model_format_registry``).

    Raises:
        StorageError: unknown type, invalid ext, or an ext that does not match a non-bytes type.
    """
    default = EXTENSIONS.get(type)
    if default is None:
        raise _unknown_type(type)
    if ext is None and type == "model":
        ext = declared_format(value)
    if ext is None:
        return default
    ext = check_ext(ext)
    if type == "model" and ext.lower() in model_format_registry:
        return ext.lower()
    if type != "bytes" and ext.lower() != default:
        raise StorageError(
            f"Port type {type!r} is stored as .{default}; got ext {ext!r}. Leave ext out, or save the "
            "encoded bytes with type 'bytes' to choose an extension."
        )
    return ext


def _mismatch(type: str, expected: str, value: Any) -> StorageError:
    return StorageError(
        f"Port type {type!r} expects {expected}; got {type_name(value)}. "
        "Save the value with the matching method (save_dataframe/save_model/save_json/save_bytes) or type."
    )


def _unknown_type(type: str) -> StorageError:
    return StorageError(f"Unknown artifact type {type!r}; expected one of {', '.join(EXTENSIONS)} or 'any'.")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays (and pandas NA-likes) have .item()/.tolist(); keep them numeric.
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        try:
            return tolist()
        except Exception:
            pass
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else _key(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    converted = _json_default(obj)
    return converted if isinstance(converted, str) else _jsonable(converted)


def _key(k: Any) -> str:
    # json.dumps would write these the same way; anything else is str()'d like the original.
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)
