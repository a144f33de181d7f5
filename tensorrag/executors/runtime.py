"""The worker entry function: run one task, return its result. Every executor ends up here.

``run_task`` is what a thread, a worker process or a Modal container calls. It resolves the
card, gives it a :class:`~tensorrag.storage.CardStorage` over the task's inputs, runs
``execute``, checks that every declared output was produced, computes the preview where the
libraries are, and returns a :class:`~tensorrag.spec.TaskResult`. It never raises for a card's
failure: the error travels back as ``{"type", "message", "traceback"}``.

``run_wire(payload) -> payload`` is the same over the wire format, for out-of-process workers.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import linecache
import sys
import textwrap
import time
import tokenize
import traceback
import types
from typing import TYPE_CHECKING, Any

from tensorrag._context import TaskContext, current_task
from tensorrag.cards import BaseCard, card_class_of
from tensorrag.cards.imports import guard_imports
from tensorrag.cards.legacy import card_builtins, uses_legacy_imports
from tensorrag.cards.previews import json_safe
from tensorrag.config import get_settings
from tensorrag.errors import CardDefinitionError, CardExecutionError, MissingOutputError
from tensorrag.executors.capture import close_capture, open_capture
from tensorrag.executors.direct import call_direct, is_direct
from tensorrag.executors.state import now_iso
from tensorrag.registry import card_registry
from tensorrag.spec import Task, TaskResult
from tensorrag.storage import ArtifactStore, CardStorage
from tensorrag.storage.integrity import entry_stamps

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "card_ref",
    "commit_entry",
    "main_source",
    "notebook_source",
    "output_preview",
    "preview_of",
    "resolve_card",
    "run_task",
    "run_wire",
]


def card_ref(cls: type[BaseCard]) -> dict[str, Any]:
    """How a worker elsewhere finds ``cls``: an importable ``module:qualname``, its source, or its type."""
    ref: dict[str, Any] = {"card_type": cls.card_type}
    qual = cls.__qualname__
    source = getattr(cls, "__tensorrag_source__", None)
    if source:
        ref["source"] = source  # the card's own file: what the worker runs (no importable module)
        path = getattr(cls, "__tensorrag_file__", None)
        if path:
            ref["path"] = path  # the filename its tracebacks show
        return ref
    if cls.__module__ != "builtins" and "<locals>" not in qual:
        ref["module"] = f"{cls.__module__}:{qual}"
        if cls.__module__ == "__main__":
            shipped = main_source(cls)  # workers never import the main script or notebook
            if shipped:
                del ref["module"]
                ref["source"] = shipped
    return ref


def main_source(cls: type[BaseCard]) -> str | None:
    """Source that rebuilds a card defined in the main script or a notebook cell (None if unreadable).

    A script ships its top-level imports, literal constants and every top-level ``def`` and
    ``class`` (so helpers and config models come along), in file order, but none of its other
    statements: nothing the script *does* runs again in the worker. A notebook ships its
    imports plus the card's own code (see :func:`notebook_source`).
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path:
        return notebook_source(cls)
    try:
        prelude, names = _script_definitions(str(path))
    except (OSError, SyntaxError, ValueError):
        return notebook_source(cls)
    target = getattr(cls, "_fn", cls)
    if target.__qualname__ in names:  # defined at the top level of the script: already included
        return prelude
    try:
        code = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return None
    return prelude + "\n" + code


@functools.lru_cache(maxsize=16)
def _script_definitions(path: str) -> tuple[str, frozenset[str]]:
    """The importable part of a script (imports, literal constants, defs, classes) and its def/class names."""
    with tokenize.open(path) as f:
        text = f.read()
    lines = text.splitlines()
    kept: list[str] = []
    names: set[str] = set()
    for node in ast.parse(text, path).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            kept.append("\n".join(lines[start - 1 : node.end_lineno]))
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_literal(node.value)
        ):
            kept.append(ast.get_source_segment(text, node) or ast.unparse(node))
    return "\n".join([*kept, ""]), frozenset(names)


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def notebook_source(cls: type[BaseCard]) -> str | None:
    """Source that rebuilds a card defined in a notebook cell: the notebook's imports plus the card's code.

    IPython keeps every executed cell in ``In`` and the cells' code in ``linecache``, so the card's
    own definition (a class, or an ``@card`` function with its decorator) can be read back. Names
    the card uses from other cells, other than imports, are not shipped (the worker says which).
    """
    target = getattr(cls, "_fn", cls)
    try:
        code = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return None
    main = sys.modules.get("__main__")
    cells = getattr(main, "In", None) or (main.__dict__.get("In") if main is not None else None) or []
    imports: list[str] = []
    for cell in cells:
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                line = ast.unparse(node)
                if line not in imports:
                    imports.append(line)
    return "\n".join([*imports, "", code])


def resolve_card(ref: dict[str, Any]) -> type[BaseCard]:
    """The card class a task names (``source`` > ``module`` > global registry by type).

    Source runs compiled under ``ref["path"]`` (when given) and with its text in :mod:`linecache`,
    so its tracebacks show the card file's path and lines.

    Raises:
        CardDefinitionError: the reference cannot be resolved.
    """
    card_type = ref.get("card_type", "?")
    if ref.get("source"):
        return _card_from_source(card_type, ref["source"], ref.get("path"))
    if ref.get("module"):
        module_name, _, qual = str(ref["module"]).partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qual.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise CardDefinitionError(
                f"Cannot import card {card_type!r} from {ref['module']!r} in the worker: {exc}. "
                "Define the card in an importable module (not a notebook cell) or ship its source.",
                card_type=card_type,
            ) from exc
        return card_class_of(obj)
    return card_class_of(card_registry.get(card_type))


def _card_from_source(card_type: str, source: str, path: str | None = None) -> type[BaseCard]:
    # Custom card source runs only here, in the worker, in a module namespace of its own.
    module = types.ModuleType(f"tensorrag_custom_card_{card_type}")
    module.__dict__["BaseCard"] = BaseCard
    if uses_legacy_imports(source):  # `from cards.base import BaseCard`, as the original's card files say
        module.__dict__["__builtins__"] = card_builtins()
    filename = path or f"<card {card_type}>"
    # tracebacks read source lines through linecache: give it the card's text under the card's path
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), module.__dict__)
    found: list[type[BaseCard]] = []
    for value in module.__dict__.values():
        v = getattr(value, "card_class", value)  # an @card function stands for its class
        is_card = isinstance(v, type) and issubclass(v, BaseCard) and v is not BaseCard
        if is_card and v.card_type == card_type and v not in found:
            found.append(v)
    if len(found) != 1:
        raise CardDefinitionError(f"Card source for {card_type!r} defines {len(found)} matching card classes.")
    return found[0]


@guard_imports()  # first imports of this thread wait for each other; see cards/imports.py
def run_task(
    task: Task,
    store: ArtifactStore | None = None,
    *,
    on_log: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    log_chars: int | None = None,
) -> TaskResult:
    """Run one task and return its result (a card's exception becomes ``result.error``).

    Args:
        task: the task; ``task.card_class`` / ``task.store`` are used when set (in-process).
        store: the artifact store; default from ``task.store`` or ``task.storage`` (payload mode
            when neither: outputs come back as bytes in the result).
        on_log: called with each complete line the card prints or logs.
        on_progress: called with ``(current, total)`` when the card reports progress.
        log_chars: the most log characters kept (default ``TENSORRAG_MAX_LOG_CHARS``, read now).
    """
    t0 = time.perf_counter()
    result = TaskResult()
    timings = result.timings

    def progress(current: int, total: int) -> None:
        if len(result.progress) < 1000:  # kept for executors that cannot stream it
            result.progress.append([current, total])
        if on_progress is not None:
            on_progress(current, total)

    sink = open_capture(on_log, get_settings().max_log_chars if log_chars is None else log_chars)
    token = current_task.set(TaskContext(task.run_id, task.node_id, progress))
    cls = task.card_class
    store = store if store is not None else task.store
    try:
        if cls is not None and store is not None and is_direct(cls):
            refs: Any = call_direct(cls, task, store, result)  # type: ignore[arg-type]
            handle = None
        else:
            cls = cls or resolve_card(task.card)
            if store is None and task.storage:
                store = ArtifactStore.from_wire(task.storage)
            handle = CardStorage(store, task.key, task.inputs, progress)
            config = dict(task.config)
            config.update(_pipeline_id=task.pipeline_id, _node_id=task.node_id, _run_id=task.run_id)
            t1 = time.perf_counter()
            refs = cls().execute(config, handle.input_refs, handle)
            timings["execute"] = time.perf_counter() - t1
            result.outputs, result.extras = _collect(cls, task, refs, handle)
        t2 = time.perf_counter()
        if task.preview:
            result.preview = output_preview(cls(), refs or {}, handle or CardStorage(store, task.key))
        timings["preview"] = time.perf_counter() - t2
    except (Exception, SystemExit) as exc:  # sys.exit() in a card fails the node, not the run
        result.error = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    finally:
        current_task.reset(token)
        close_capture(sink)
    result.logs, result.logs_truncated = sink.getvalue(), sink.truncated
    timings["total"] = time.perf_counter() - t0
    if result.error is None and store is not None and task.cache_key:
        # Commit here, in the worker: parallel across workers, and the engine stays lean.
        try:
            # False when the engine gave up on this attempt (timeout, cancel): nothing is written.
            result.committed = commit_entry(
                store, task.cache_key, task.run_id, task.node_id, cls, result, attempt=task.key
            )
        except Exception as exc:
            result.error = {
                "type": type(exc).__name__,
                "message": f"saving results failed: {exc}",
                "traceback": traceback.format_exc(),
            }
    return result


def output_preview(card: BaseCard, refs: dict[str, str], handle: CardStorage) -> dict[str, Any] | None:
    """``card.get_output_preview(refs, handle)`` as JSON data; a broken preview is reported, never raised."""
    try:
        preview = card.get_output_preview(refs, handle)
        return json_safe(preview) if preview is not None else None
    except Exception as exc:  # a broken preview must not fail a finished card
        print(f"preview failed: {type(exc).__name__}: {exc}")
        return {"preview_error": f"{type(exc).__name__}: {exc}"}


def preview_of(cls: type[BaseCard], store: ArtifactStore, outputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The preview of a finished node from its output refs (for a run that left it to be asked for)."""
    refs = {port: ref["uri"] for port, ref in outputs.items() if isinstance(ref, dict) and "uri" in ref}
    return output_preview(cls(), refs, CardStorage(store, "preview"))


def commit_entry(
    store: ArtifactStore,
    cache_key: str,
    run_id: str,
    node_id: str,
    cls: type[BaseCard],
    result: TaskResult,
    *,
    attempt: str | None = None,
) -> bool:
    """Commit a finished node's cache entry ``_meta.json`` (the commit marker; it carries the preview).

    The entry names its ``attempt`` (the artifact folder) and a stamp of each artifact, so a
    lookup can refuse an entry of an abandoned attempt or with changed bytes
    (:mod:`tensorrag.storage.integrity`); ``store.read_preview`` reads the preview from it.

    Returns:
        False (nothing written) when the engine already abandoned ``attempt``.
    """
    entry = {
        "card_type": cls.card_type,
        "node_id": node_id,
        "run_id": run_id,
        "outputs": result.outputs,
        "extras": result.extras,
        "preview": result.preview,
        "output_type": cls.output_view_type,
        "logs": result.logs,  # at most TENSORRAG_MAX_LOG_CHARS (capture.LineSink)
        "timings": result.timings,
        "created_at": now_iso(),
        "attempt": attempt,
        "stamps": entry_stamps(store, [result.outputs, result.extras]),
    }
    # The abandon check is part of the commit: on local disk a mark takes the name the commit creates.
    return store.commit_entry(cache_key, entry, attempt=attempt)


def _collect(
    cls: type[BaseCard], task: Task, refs: Any, handle: CardStorage
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    if refs is None:
        refs = {}
    if not isinstance(refs, dict):
        raise CardExecutionError(
            f"Card {cls.card_type!r}: execute() must return a dict of output port -> ref; got {type(refs).__name__}.",
            node_id=task.node_id,
            card_type=cls.card_type,
        )
    saved = handle.saved
    by_ref: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, art in saved.items():
        by_ref[str(art.get("uri") or f"__mem__/{key}")] = (key, art)
    for port, spec in task.inputs.items():
        if "uri" in spec:
            by_ref.setdefault(str(spec["uri"]), (f"__input__{port}", spec))
    declared = cls.outputs()
    missing = [p for p in declared if p not in refs]
    if missing:
        raise MissingOutputError(
            f"Card {cls.card_type!r} (node {task.node_id!r}) did not produce declared output(s) "
            f"{', '.join(map(repr, missing))}; execute() returned {sorted(refs)}. Save each declared output "
            "with storage.save_<type>(...) and return {port: ref}.",
            node_id=task.node_id,
            card_type=cls.card_type,
        )
    outputs: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for port, ref in refs.items():
        hit = by_ref.get(str(ref))
        if hit is None:
            raise CardExecutionError(
                f"Card {cls.card_type!r} returned ref {ref!r} for output {port!r}, but it was not saved through "
                "the storage handle. Save outputs with storage.save_<type>(...) and return the ref it gives.",
                node_id=task.node_id,
                card_type=cls.card_type,
            )
        key, art = hit
        used.add(key)
        outputs[port] = dict(art)
    extras = {key: dict(art) for key, art in saved.items() if key not in used}
    return outputs, extras


def run_wire(payload: dict[str, Any]) -> dict[str, Any]:
    """The worker entry over the wire format: task payload in, result payload out."""
    task = Task.from_wire(payload)
    return run_task(task).to_wire()
