"""``CardStorage``: the ``storage`` argument of ``card.execute(config, inputs, storage)``.

It keeps the original system's method names, so cards written for it run unchanged::

    df = storage.load_dataframe(inputs["dataset"])
    ref = storage.save_dataframe(config["_pipeline_id"], config["_node_id"], "scaled", df * 2)

Two modes:

* **store mode** (``store`` given): saves go to ``artifacts/{key}/{name}.{ext}`` in the store at
  once and return the artifact's uri.
* **payload mode** (``store=None``, for remote workers that cannot reach storage): saves keep
  the encoded bytes in memory, refs look like the original's ``"__mem__/{name}"``, and
  :attr:`CardStorage.saved` carries ``"data"`` instead of ``"uri"`` back to the orchestrator.

Objects are never decoded twice: a saved object is returned as is when loaded again, and
each input is decoded on first use and cached (so do not mutate loaded inputs in place if
you load them again later and expect the original).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tensorrag.errors import ArtifactCorruptError, ArtifactNotFoundError, StorageError
from tensorrag.storage import directory
from tensorrag.storage.codecs import (
    EXTENSIONS,
    decode,
    encode,
    encode_json,
    infer_type,
    sha256,
    type_from_ext,
    type_name,
)
from tensorrag.storage.paths import safe_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from tensorrag.storage.store import ArtifactRef, ArtifactStore

__all__ = ["MEM_PREFIX", "CardStorage"]

#: Prefix of in-memory refs (inputs carried as data, and saves in payload mode), as in the original.
MEM_PREFIX = "__mem__/"


class CardStorage:
    """The card-side storage handle (see the module docstring).

    Args:
        store: where saves go; ``None`` for payload mode.
        key: the node's cache key; artifacts go to ``artifacts/{key}/``.
        inputs: input port -> ``{"type", "uri"}`` or ``{"type", "data", "ext"?}``.
        on_progress: called by :meth:`progress` with ``(current, total)``.
    """

    def __init__(
        self,
        store: ArtifactStore | None,
        key: str,
        inputs: dict[str, dict[str, Any]] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.store = store
        self.key = safe_name(key, "artifact key")
        self._inputs: dict[str, dict[str, Any]] = dict(inputs or {})
        self._on_progress = on_progress
        self._saved: dict[str, ArtifactRef] = {}
        self._saved_refs: dict[str, str] = {}  # ref string -> saved name
        self._objects: dict[str, tuple[Any, str]] = {}  # ref string -> (object, its type)
        self._input_refs: dict[str, str] = {}
        self._input_ports: dict[str, str] = {}  # ref string -> port
        for port, ref in self._inputs.items():
            if not isinstance(ref, dict) or ("uri" not in ref and "data" not in ref):
                raise StorageError(
                    f"Input {port!r} must be {{'type', 'uri'}} or {{'type', 'data'}}; got {str(ref)[:200]}."
                )
            ref_str = ref["uri"] if "uri" in ref else MEM_PREFIX + port
            self._input_refs[port] = ref_str
            self._input_ports[ref_str] = port

    def __repr__(self) -> str:
        where = self.store.url if self.store is not None else "payload mode"
        return f"CardStorage(key={self.key!r}, {where}, inputs={sorted(self._inputs)}, saved={list(self._saved)})"

    @property
    def input_refs(self) -> dict[str, str]:
        """Input port -> ref string (the uri, or ``"__mem__/{port}"`` for inputs carried as data)."""
        return dict(self._input_refs)

    def input_artifact(self, port: str) -> ArtifactRef:
        """The full artifact ref input ``port`` was given (type, uri, sha256, files): for a card that hands it on.

        Raises:
            ArtifactNotFoundError: ``port`` is not one of this card's inputs.
        """
        if port not in self._inputs:
            raise ArtifactNotFoundError(f"Unknown input port {port!r}. {self._ports_hint()}")
        return dict(self._inputs[port])

    @property
    def saved(self) -> dict[str, ArtifactRef]:
        """Saved key -> artifact ref, in save order (a key saved twice keeps only its last save)."""
        return dict(self._saved)

    def progress(self, current: int, total: int) -> None:
        """Report progress (``current`` of ``total`` steps) to whoever runs the card."""
        if self._on_progress is not None:
            self._on_progress(int(current), int(total))

    # ------------------------------------------------------------------ saving

    def save(self, key: str, value: Any, type: str | None = None, ext: str | None = None) -> str:
        """Save ``value`` under ``key`` and return its ref string.

        Args:
            key: the output name (a safe name); saving a key again replaces it.
            value: the object to save.
            type: ``dataframe``, ``model``, ``json``, ``bytes``; ``None``/``"any"`` infers it.
            ext: file extension for ``bytes`` (default ``bin``).

        Raises:
            StorageError: the value does not fit ``type`` or cannot be written.
            UnsafePathError: ``key`` is not a safe name.
        """
        name = safe_name(key, "output key")
        typ = infer_type(value) if type is None or type == "any" else type
        art: ArtifactRef
        if self.store is None:
            data, ext = encode(typ, value, ext)
            art = {"type": typ, "data": data, "ext": ext, "sha256": sha256(data), "size": len(data)}
            ref = MEM_PREFIX + name
        else:
            art = self.store.keep(self.key, name, value, typ, ext)
            ref = art["uri"]
        return self._record(name, ref, art, (value, typ))

    def _record(self, name: str, ref: str, art: ArtifactRef, live: tuple[Any, str] | None) -> str:
        """Remember save ``name`` (replacing an earlier save of it) and, if given, its live value."""
        old = self._saved.pop(name, None)
        if old is not None:
            self._replace(old, art)
        self._saved[name] = art
        self._saved_refs[ref] = name
        if live is None:
            self._objects.pop(ref, None)
        else:
            self._objects[ref] = live
        return ref

    def _replace(self, old: ArtifactRef, new: ArtifactRef) -> None:
        old_uri = old.get("uri")
        if old_uri is None or old_uri == new.get("uri"):
            return
        # Same key saved with another extension: drop the stale file so only the last save remains.
        self._objects.pop(old_uri, None)
        self._saved_refs.pop(old_uri, None)
        if self.store is not None:
            try:
                self.store.delete(old_uri, missing_ok=True)
            except StorageError:
                pass  # a leftover file is harmless: nothing refers to it

    def save_dataframe(self, pipeline_id: Any, node_id: Any, key: str, df: Any) -> str:
        """Save a pandas DataFrame as parquet (index dropped); ``pipeline_id``/``node_id`` are ignored."""
        return self.save(key, df, "dataframe")

    def save_model(self, pipeline_id: Any, node_id: Any, key: str, obj: Any) -> str:
        """Save any picklable object with joblib; ``pipeline_id``/``node_id`` are ignored."""
        return self.save(key, obj, "model")

    def save_json(self, pipeline_id: Any, node_id: Any, key: str, data: Any) -> str:
        """Save JSON data (NaN becomes null, other values ``str()``); ``pipeline_id``/``node_id`` are ignored."""
        return self.save(key, data, "json")

    def save_bytes(self, pipeline_id: Any, node_id: Any, key: str, data: bytes, ext: str = "bin") -> str:
        """Save raw bytes with a file extension (``png``, ``pt``, ...); ``pipeline_id``/``node_id`` are ignored."""
        return self.save(key, data, "bytes", ext)

    def save_directory(self, key: str, local_path: str | os.PathLike[str]) -> str:
        """Save a folder (``save_pretrained`` output, an adapter, a tokenizer) as a ``directory`` artifact.

        The files are copied now: the folder may be deleted once this returns. In payload mode the
        folder travels back as tar bytes (at most ``TENSORRAG_MAX_DIRECTORY_PAYLOAD``).

        Raises:
            StorageError: ``local_path`` is not a folder, it is too large for a payload, or a write failed.
            UnsafePathError: ``key`` is not a safe name.
        """
        name = safe_name(key, "output key")
        folder = os.fspath(local_path)
        art: ArtifactRef
        if self.store is None:
            manifest = directory.scan(folder)
            data = directory.pack(folder, manifest)
            art = {
                "type": directory.DIRECTORY,
                "data": data,
                "ext": "dir",
                "sha256": directory.digest(manifest),
                "files": len(manifest),
                "size": sum(e[2] for e in manifest),
            }
            ref = MEM_PREFIX + name
        else:
            art = self.store.save_directory(self.key, name, folder)
            ref = art["uri"]
        return self._record(name, ref, art, None)  # a folder is read back from its files, never kept live

    def load_directory(self, ref: str | ArtifactRef) -> str:
        """A read-only local folder with a ``directory`` artifact's files (``from_pretrained(path)`` it).

        Materialised once per process (per machine for object stores), keyed by content; do not
        write into it: copy it first if a library wants to change files.

        Raises:
            ArtifactNotFoundError: the ref is unknown or the folder is gone.
            ArtifactCorruptError: the files no longer match the ref's sha256.
            StorageError: the ref is not a directory.
        """
        if isinstance(ref, dict):
            art = ref
        else:
            ref = os.fspath(ref)
            hit = self._objects.get(ref)
            if hit is not None and hit[1] == directory.DIRECTORY:
                return str(hit[0])
            art = self._lookup(ref)
        typ = art.get("type")
        if typ not in (directory.DIRECTORY, None, "any"):
            raise StorageError(
                f"{ref if isinstance(ref, str) else 'the given ref'} holds a {typ!r} artifact, not a directory. "
                f"Use load_{typ if typ in EXTENSIONS else 'bytes'}() instead."
            )
        try:
            path = directory.load(self.store, {**art, "type": directory.DIRECTORY})
        except ArtifactNotFoundError as exc:
            raise ArtifactNotFoundError(f"{exc} {self._ports_hint()}") from None
        if isinstance(ref, str):
            self._objects[ref] = (path, directory.DIRECTORY)
        return path

    # ------------------------------------------------------------------ loading

    def load(self, ref: str | ArtifactRef, type: str | None = None) -> Any:
        """Load an artifact by ref: an input ref, a ref returned by a save, or any uri in the store.

        Args:
            ref: the ref string (or an artifact ref dict).
            type: decode as this type instead of the recorded one (``bytes`` gives the raw bytes).

        Raises:
            ArtifactNotFoundError: the ref is unknown (the message lists the input ports) or gone.
            ArtifactCorruptError: the artifact's bytes no longer match the sha256 in its ref.
            StorageError: the artifact cannot be decoded as ``type``.
        """
        want = None if type == "any" else type
        if want == directory.DIRECTORY or (want is None and self._is_directory(ref)):
            return self.load_directory(ref)
        if isinstance(ref, dict):
            return self._decode(ref, want, "the given ref")
        if not isinstance(ref, str):
            ref = os.fspath(ref)
        hit = self._objects.get(ref)
        if hit is not None and (want is None or want == hit[1]):
            return hit[0]
        art = self._lookup(ref)
        obj = self._decode(art, want, ref)
        if want is None or want == _recorded_type(art):
            self._objects[ref] = (obj, _recorded_type(art))
        return obj

    def load_dataframe(self, ref: str) -> Any:
        """Load a pandas DataFrame."""
        return self.load(ref, "dataframe")

    def load_model(self, ref: str) -> Any:
        """Load a joblib-saved object (only load artifacts you trust: this unpickles)."""
        return self.load(ref, "model")

    def load_json(self, ref: str) -> Any:
        """Load JSON data."""
        return self.load(ref, "json")

    def load_bytes(self, ref: str) -> bytes:
        """Load the raw bytes of any artifact."""
        data: bytes = self.load(ref, "bytes")
        return data

    def _is_directory(self, ref: Any) -> bool:
        if isinstance(ref, dict):
            return directory.is_directory_ref(ref)
        try:
            return directory.is_directory_ref(self._lookup(os.fspath(ref)))
        except (ArtifactNotFoundError, TypeError):
            return False

    def _lookup(self, ref: str) -> ArtifactRef:
        port = self._input_ports.get(ref)
        if port is not None:
            return self._inputs[port]
        name = self._saved_refs.get(ref)
        if name is not None:
            return self._saved[name]
        if self.store is not None and not ref.startswith(MEM_PREFIX):
            return {"uri": ref}
        raise self._unknown(ref)

    def _decode(self, art: ArtifactRef, want: str | None, label: str) -> Any:
        typ = _recorded_type(art)
        target = want or typ
        try:
            if "data" in art:
                data = art["data"]
                if not isinstance(data, (bytes, bytearray, memoryview)):
                    # A JSON object carried inline (original wire format).
                    if target == "bytes":
                        return encode_json(data)
                    if target != "json":
                        raise StorageError(f"it is inline JSON data ({type_name(data)}).")
                    return data
                return decode(target, data, art.get("ext"))
            uri = art.get("uri")
            if not isinstance(uri, str):
                raise StorageError(f"Artifact ref {label!r} needs a 'uri' or 'data'; got keys {sorted(art)}.")
            if self.store is None:
                raise StorageError(
                    f"Cannot load {uri}: this handle runs in payload mode (no store). "
                    "Send the input as data, or give the worker access to the store."
                )
            # Pass the ref (not the bare uri) so its sha256 is checked on the way in.
            if target == "bytes":
                return self.store.get_bytes(art)
            if target == typ:
                return self.store.get({**art, "type": typ})
            return decode(target, self.store.get_bytes(art), art.get("ext"))
        except ArtifactNotFoundError as exc:
            raise ArtifactNotFoundError(f"{exc} {self._ports_hint()}") from None
        except ArtifactCorruptError:
            raise
        except StorageError as exc:
            if target == typ:
                raise
            raise StorageError(
                f"{label} holds a {typ!r} artifact and cannot be loaded as {target!r}: {exc} "
                f"Use load_{typ if typ in EXTENSIONS else 'bytes'}() instead."
            ) from exc

    def _unknown(self, ref: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(f"Unknown artifact ref {ref!r}. {self._ports_hint()}")

    def _ports_hint(self) -> str:
        ports = ", ".join(f"{p!r}" for p in self._inputs) or "none"
        saved = ", ".join(f"{k!r}" for k in self._saved) or "none"
        return (
            f"Known input ports: {ports}; saved keys: {saved}. "
            "Load inputs with storage.load_<type>(inputs[port]) and outputs with the ref a save returned."
        )


def _recorded_type(art: ArtifactRef) -> str:
    typ = art.get("type")
    if typ in EXTENSIONS:
        return str(typ)
    # 'any', missing or an unknown port type: decide by the extension (unknown -> bytes, like the original).
    ext = art.get("ext")
    if not ext:
        uri = art.get("uri")
        if isinstance(uri, str):
            name = uri.rsplit("/", 1)[-1]
            ext = name.rsplit(".", 1)[-1] if "." in name else ""
        elif "data" in art and not isinstance(art["data"], (bytes, bytearray, memoryview)):
            return "json"
    return type_from_ext(ext)
