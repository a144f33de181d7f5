"""What happens to one node in a run: events, logs, the cache decision, the task, the result.

:class:`NodeSteps` is the half of :class:`~tensorrag.executors.engine.Engine` that changes one
node's state; the engine's loop (engine.py) decides *when*. Every method here that changes run
state or emits is called by one thread at a time: the engine thread, or a worker holding the
engine's lock.

* **Cache.** Starting a node first computes its key (:func:`~tensorrag.executors.caching.cache_key`):
  a hash of the card's type, code fingerprint (its source and the same-module helpers it calls,
  computed once per run) and ``version``, its normalised config, the sha256 of each input
  artifact (its uri on ``memory://``, where nothing is hashed: a new attempt has a new uri), and the
  card's ``cache_token(config)`` (a fingerprint of files/URLs it reads, computed here, in the
  orchestrator). A token of ``None``, ``Node.cache == False``, ``run(cache=False)`` or a node
  being re-run (``rerun``: those nodes and their descendants) skips the lookup; the first two
  also never commit. If the store holds a complete entry for the key (its
  ``_meta.json`` and every artifact it lists, from an attempt that was not abandoned) whose
  artifacts still match their sha256 (checked by stamp, hashed when the stamp changed), the node
  is ``cached`` at once and its children become ready; a corrupt artifact emits a ``warning``
  event and the node recomputes. Otherwise a task is built and submitted. Only an attempt the
  engine still wants commits: a timeout or cancel marks the attempt abandoned
  (:mod:`tensorrag.storage.integrity`) before the node fails, and an entry of an abandoned
  attempt is neither written nor served. What a key does not cover: docs/cache.md.
* **Logs.** Per node, a run keeps at most ``TENSORRAG_MAX_LOG_LINES`` log events and
  ``TENSORRAG_MAX_LOG_CHARS`` characters of them (each line at most 10,000); the rest is counted
  and reported in one last log event when the node ends (``NodeRecord.logs_truncated``). Listeners
  hear what the run keeps, so a card printing millions of lines floods neither the manifest nor a
  canvas. ``Run.logs`` holds the first and last part of the full text (executors/capture.py).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from tensorrag.errors import TaskCancelledError, TaskTimeoutError
from tensorrag.executors import capture
from tensorrag.executors.caching import cache_key, card_token, verified_entry
from tensorrag.executors.runtime import card_ref, commit_entry, preview_of
from tensorrag.executors.state import TERMINAL, RunState, now_iso
from tensorrag.spec import Task, TaskResult
from tensorrag.storage.integrity import abandon

if TYPE_CHECKING:
    import queue
    import threading

    from tensorrag.cards import BaseCard
    from tensorrag.errors import ArtifactCorruptError
    from tensorrag.executors.base import Executor
    from tensorrag.executors.plan import NodePlan
    from tensorrag.pipeline import Pipeline
    from tensorrag.storage import ArtifactStore

__all__ = ["Listener", "NodeSteps", "Prepared"]

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
_MAX_LINE = 10_000  # characters of one log event's text


class Prepared:
    """A node's cache decision, made before it starts: its inputs, key, and the entry found (if any)."""

    __slots__ = ("cacheable", "entry", "inputs", "key", "problems")

    def __init__(self, inputs: dict[str, dict[str, Any]], key: str, cacheable: bool) -> None:
        self.inputs, self.key, self.cacheable = inputs, key, cacheable
        self.entry: dict[str, Any] | None = None
        self.problems: list[ArtifactCorruptError] = []


class NodeSteps:
    """Per-node state changes of a run (see the module docstring)."""

    pipeline: Pipeline
    executor: Executor
    store: ArtifactStore
    state: RunState
    cache: bool
    listeners: list[Listener]
    _plan: dict[str, NodePlan]
    _bypassed: dict[str, str]  # skipped because disabled (the node or an ancestor) -> why
    _fresh: set[str]
    _store_wire: dict[str, Any] | None
    _owners: dict[str, str]  # cache key -> node computing it now
    _parked: dict[str, list[str]]  # cache key -> nodes waiting for that computation
    _attempts: dict[str, str]  # node -> artifact folder of its attempt
    _streamed: dict[str, bool]  # node -> its logs arrived live (no replay at the end)
    _log_limits: tuple[int, int]
    _logged: dict[str, list[int]]  # node -> [lines kept, characters kept, lines not kept]
    _card_refs: dict[type[BaseCard], dict[str, Any]]  # card class -> its wire reference, once per run
    lazy_previews: bool  # previews are made when Run.preview asks (memory:// in pull mode)
    _pulling: bool  # pull mode: tasks run on lent threads of this process (card_class is what they use)
    _ready: list[tuple[int, str]]
    _waiting: dict[str, int]
    fail_fast: bool
    _inflight: dict[str, tuple[Any, float | None]]  # node -> (future or worker, deadline)
    _loans: dict[object, Future[None] | None]
    _workers: int
    _stopping: bool
    _cancelled: threading.Event
    _lock: threading.RLock
    _started: dict[str, float]
    _queue: queue.SimpleQueue[tuple[str, str, Any]]
    _attention: threading.Event
    _broken: BaseException | None

    # ------------------------------------------------------------------ events

    def _emit(self, event: dict[str, Any]) -> None:
        if "timestamp" not in event:
            event["timestamp"] = now_iso()
        event["run_id"] = self.state.run_id  # listeners may hear events before they hold the Run
        self.state.events.append(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the run
                log.exception("on_event listener failed on %s", event.get("type"))

    def _log(self, nid: str, text: str) -> None:
        counts = self._logged.setdefault(nid, [0, 0, 0])
        max_lines, max_chars = self._log_limits
        if len(text) > _MAX_LINE:
            text = f"{text[:_MAX_LINE]}… ({len(text) - _MAX_LINE:,} more characters)"
        if counts[2] or counts[0] >= max_lines or counts[1] + len(text) > max_chars:
            counts[2] += 1  # once full, later lines are only counted: what is kept stays in order
            return
        counts[0] += 1
        counts[1] += len(text)
        self._emit({"type": "log", "node_id": nid, "text": text})

    def _end_logs(self, nid: str) -> None:
        counts = self._logged.pop(nid, None)
        if counts is None or not counts[2]:
            return
        self.state.nodes[nid].logs_truncated = True
        max_lines, max_chars = self._log_limits
        text = (
            f"… {counts[2]:,} more lines not kept (limit {max_lines:,} lines and {max_chars:,} characters per node: "
            "TENSORRAG_MAX_LOG_LINES, TENSORRAG_MAX_LOG_CHARS); run.logs(node_id) has the first and last part"
        )
        self._emit({"type": "log", "node_id": nid, "text": text, "truncated": counts[2]})

    def _status(self, nid: str, status: str, message: str = "") -> None:
        rec = self.state.nodes[nid]
        if status in TERMINAL and nid in self._logged:
            self._end_logs(nid)
        rec.status, rec.message = status, message
        self._emit({"type": "node_status", "node_id": nid, "status": status, "message": message})

    def _fail(self, nid: str, error: dict[str, str]) -> None:
        self.state.nodes[nid].error = error
        self._status(nid, "failed", f"{error.get('type')}: {error.get('message')}")

    def _fail_with(self, nid: str, exc: BaseException, tb: str = "") -> None:
        self._fail(nid, {"type": type(exc).__name__, "message": str(exc), "traceback": tb})

    # ------------------------------------------------------------------ the graph

    def _release(self, nid: str) -> None:
        """``nid`` finished: children whose last parent it was become ready."""
        waiting, nodes, plan = self._waiting, self.state.nodes, self._plan
        for child in plan[nid].children:
            waiting[child] -= 1
            if waiting[child] == 0 and nodes[child].status == "pending":
                self._push(child)

    def _push(self, nid: str) -> None:
        heapq.heappush(self._ready, (self._plan[nid].rank, nid))

    def _skip_descendants(self, nid: str) -> None:
        # Depth first, in edge order; iterative so a failed root of a 10,000-node chain cannot overflow.
        stack: list[tuple[str, Iterator[str]]] = [(nid, iter(self._plan[nid].children))]
        while stack:
            src, children = stack[-1]
            for child in children:
                if self.state.nodes[child].status == "pending":
                    self._status(child, "skipped", f"upstream node {src!r} did not complete")
                    stack.append((child, iter(self._plan[child].children)))
                    break
            else:
                stack.pop()

    def _unpark(self, nid: str) -> None:
        key = self.state.nodes[nid].key
        if key is None or self._owners.get(key) != nid:
            return
        del self._owners[key]
        for waiter in self._parked.pop(key, []):  # they start again: a cache hit, or their own attempt
            self._push(waiter)

    def _abandon(self, nid: str) -> None:
        """Mark the node's attempt abandoned, so work still running elsewhere never commits or is served."""
        if self.state.nodes[nid].key is None:
            return  # uncached: it commits nothing anyway
        try:
            abandon(self.store, self._attempts[nid])
        except Exception:  # the store is unreachable: the entry may survive, say so
            log.warning("could not mark the abandoned attempt of node %r; its late result may be cached", nid,
                        exc_info=True)

    # ------------------------------------------------------------------ starting a node

    def _prepare(self, nid: str) -> Prepared:
        """The node's inputs, key and cache entry (store reads only: no run state changes)."""
        plan, nodes = self._plan[nid], self.state.nodes
        inputs = {port: dict(nodes[src].outputs[out]) for port, (src, out) in plan.inputs.items()}
        token = card_token(plan.card, plan.config, nid) if plan.cache else None
        key = cache_key(plan.card, plan.config, inputs, token or "", fingerprint=plan.fingerprint,
                        config_json=plan.config_json)
        prep = Prepared(inputs, key, token is not None)  # token None: never looked up, never committed
        if self.cache and prep.cacheable and nid not in self._fresh:
            prep.entry, prep.problems = verified_entry(self.store, key)
        return prep

    def _try_prepare(self, nid: str) -> Prepared | tuple[Exception, str]:
        """:meth:`_prepare`, or the exception (and traceback) that stopped it: no run state changes."""
        try:
            return self._prepare(nid)
        except Exception as exc:  # e.g. the store is unreachable for the cache lookup
            return exc, traceback.format_exc()

    def _open(self, nid: str, prep: Prepared | tuple[Exception, str]) -> Task | None:
        """Act on the cache decision: the task to run, or None (cached, parked, or it failed to start)."""
        if not isinstance(prep, tuple):
            try:
                task = self._begin(nid, prep)
                return task if isinstance(task, Task) else None
            except Exception as exc:  # e.g. payload mode cannot read an input
                prep = (exc, traceback.format_exc())
        self._fail_with(nid, *prep)
        self._skip_descendants(nid)
        self._stopping = self._stopping or self.fail_fast
        return None

    def _begin(self, nid: str, prep: Prepared) -> Task | str | None:
        """Act on the cache decision: None when cached, ``"parked"`` when an identical node runs, else the task."""
        rec, key = self.state.nodes[nid], prep.key
        rec.key = key if prep.cacheable else None
        for problem in prep.problems:  # never served: say why, then recompute
            self._emit({"type": "warning", "node_id": nid, "message": f"{problem} Recomputing node {nid!r}."})
        entry = prep.entry
        if entry is not None:
            # Copies: an entry may be shared with the store's memo of entries it read.
            rec.outputs = {port: dict(ref) for port, ref in entry.get("outputs", {}).items()}
            rec.extras = {port: dict(ref) for port, ref in entry.get("extras", {}).items()}
            rec.preview = entry.get("preview")
            rec.logs = entry.get("logs", "")
            self._status(nid, "cached")
            self._release(nid)
            return None
        if self.cache and prep.cacheable and nid not in self._fresh and key in self._owners:
            self._parked.setdefault(key, []).append(nid)  # wait for it, then hit the cache
            return "parked"
        # Each attempt writes into its own folder, so artifacts are never overwritten; the entry
        # at ``key`` (written last) says which attempt the cache serves.
        attempt = f"{key}-{hashlib.sha256(f'{self.state.run_id}/{nid}'.encode()).hexdigest()[:8]}"
        self._attempts[nid] = attempt
        if prep.cacheable:
            self._owners[key] = nid
        plan = self._plan[nid]
        task = Task(
            run_id=self.state.run_id,
            node_id=nid,
            card=self._card_ref(plan.card),
            config=plan.task_config(),
            inputs=prep.inputs,
            key=attempt,
            cache_key=key if prep.cacheable else None,
            pipeline_id=self.pipeline.name,
            storage=self._store_wire,
            resources=plan.resources,
            card_class=plan.card,  # in-process executors use these two; others send the wire form
            store=self.store,
            preview=not self.lazy_previews,
        )
        if not self.executor.uri_mode(task, self.store):
            # The worker cannot reach this store (e.g. memory://): inputs travel as bytes, outputs
            # come back as bytes and the engine commits them.
            task.inputs = {port: self._payload(ref) for port, ref in prep.inputs.items()}
            task.storage = task.cache_key = None
        self._streamed[nid] = self.executor.streams_logs_for(task)
        self._status(nid, "running")
        return task

    def _start(self, nid: str) -> tuple[Future[TaskResult], float | None] | None:
        """Submit mode: start ``nid``; None when it needs no task (cached, parked, or failed to start)."""
        task = self._open(nid, self._try_prepare(nid))
        if task is None:
            return None
        q = self._queue
        try:
            fut = self.executor.submit(task, lambda kind, payload: q.put((kind, nid, payload)))
        except Exception as exc:  # the executor refused: the node fails, the run goes on
            fut = Future()
            fut.set_exception(exc)
        fut.add_done_callback(lambda f: q.put(("done", nid, f)))
        return fut, self._deadline(nid)

    def _loan_ended(self, loan: Future[None]) -> None:
        if not loan.cancelled() and loan.exception() is not None:  # the loop itself broke: end the run
            self._broken = loan.exception()
            self._attention.set()

    def preview(self, nid: str) -> dict[str, Any] | None:
        """The node's preview, made now (and kept) if the run left it to be asked for."""
        rec = self.state.nodes[nid]
        if rec.preview is None and self.lazy_previews and rec.status in ("completed", "cached") and rec.outputs:
            rec.preview = preview_of(self._plan[nid].card, self.store, rec.outputs)
        return rec.preview

    def _card_ref(self, card: type[BaseCard]) -> dict[str, Any]:
        """How a worker finds ``card``: once per class and run, and only a name where tasks never leave."""
        ref = self._card_refs.get(card)
        if ref is None:
            ref = self._card_refs[card] = {"card_type": card.card_type} if self._pulling else card_ref(card)
        return ref

    def _payload(self, ref: dict[str, Any]) -> dict[str, Any]:
        if "data" in ref:
            return ref
        data = self.store.get_bytes(ref)
        return {"type": ref.get("type", "bytes"), "data": data, "ext": ref.get("ext"), "sha256": ref.get("sha256")}

    # ------------------------------------------------------------------ ending a node

    def _finish(self, nid: str, result: TaskResult | BaseException) -> None:
        """Record a finished task; then release its children, or skip them when it failed."""
        ok = self._record(nid, result)
        self._unpark(nid)
        if ok:
            self._release(nid)
        else:
            self._skip_descendants(nid)

    def _record(self, nid: str, result: TaskResult | BaseException) -> bool:
        rec = self.state.nodes[nid]
        if isinstance(result, BaseException):
            self._fail_with(nid, result, "".join(traceback.format_exception(result)))
            return False
        rec.logs, rec.timings = result.logs, result.timings
        rec.logs_truncated = result.logs_truncated
        if not self._streamed.get(nid, False):  # replay what the executor could not stream live
            for line in result.logs.splitlines():
                self._log(nid, line)
            for cur, tot in result.progress:
                self._emit({"type": "progress", "node_id": nid, "current": cur, "total": tot})
        if result.error is not None:
            self._fail(nid, result.error)
            return False
        rec.preview = result.preview
        if result.committed:  # the worker wrote artifacts and the cache entry itself
            rec.outputs, rec.extras = result.outputs, result.extras
            self._status(nid, "completed")
            return True
        try:
            attempt = self._attempts[nid]
            rec.outputs = {p: self._persist(attempt, p, a) for p, a in result.outputs.items()}
            rec.extras = {p: self._persist(attempt, p, a) for p, a in result.extras.items()}
            result.outputs, result.extras = rec.outputs, rec.extras
            if rec.key is not None:  # the node is still in flight here: the engine wants this attempt
                commit_entry(self.store, rec.key, self.state.run_id, nid, self._plan[nid].card, result,
                             attempt=attempt)
        except Exception as exc:
            tb = traceback.format_exc()
            self._fail(nid, {"type": type(exc).__name__, "message": f"saving results failed: {exc}", "traceback": tb})
            return False
        self._status(nid, "completed")
        return True

    def _persist(self, key: str, name: str, art: dict[str, Any]) -> dict[str, Any]:
        if "data" not in art:
            return art
        data = art["data"]
        if not isinstance(data, (bytes, bytearray)):
            data = json.dumps(data).encode()
        return self.store.put_bytes(key, name, bytes(data), art.get("type", "bytes"), art.get("ext"))

    # ------------------------------------------------------------------ deadlines, cancel, the end

    def _deadline(self, nid: str) -> float | None:
        plan = self._plan[nid]
        timeout = plan.resources.get("timeout")
        if not timeout:
            return None
        # A remote executor's queueing and cold start are not the card's time (e.g. Modal's startup_timeout).
        return time.monotonic() + float(timeout) + self.executor.startup_allowance(plan.card, plan.resources)

    def _soonest(self) -> tuple[float, str] | None:
        deadlines = [(d, nid) for nid, (_, d) in list(self._inflight.items()) if d is not None]
        return min(deadlines) if deadlines else None

    def _drop(self, nid: str) -> None:
        """Stop waiting for ``nid``: cancel its future, or retire the worker running it (replaced by ``_grow``)."""
        handle, _ = self._inflight.pop(nid)
        self._started.pop(nid, None)
        if isinstance(handle, Future):
            self.executor.cancel(handle)
        else:
            loan = self._loans.pop(handle)
            if loan is not None:  # the pool retires that thread when its card ends
                self.executor.cancel(loan)  # type: ignore[arg-type]
            self._workers -= 1

    def _time_out(self, nid: str) -> None:
        self._drop(nid)
        self._abandon(nid)
        secs = self._plan[nid].resources.get("timeout")
        self._finish(nid, TaskTimeoutError(f"node {nid!r} ran past its timeout of {secs} s"))
        self.state.nodes[nid].error["traceback"] = ""  # type: ignore[index]
        self._stopping = self._stopping or self.fail_fast

    def _cancel_running(self) -> None:
        self._stopping = True
        for nid in list(self._inflight):
            self._drop(nid)
            self._abandon(nid)
            self._unpark(nid)
            self._fail_with(nid, TaskCancelledError(f"node {nid!r} was running when the run was cancelled"))

    def _end(self, t0: float) -> None:
        nodes = self.state.nodes
        for nid, rec in nodes.items():
            if rec.status not in TERMINAL:
                self._status(nid, "skipped", "cancelled" if self._cancelled.is_set() else "not run")
        self.state.execution_time = round(time.perf_counter() - t0, 6)
        self.state.finished_at = now_iso()
        statuses = {rec.status for nid, rec in nodes.items() if nid not in self._bypassed}  # disabled: by choice
        if self._cancelled.is_set():
            self.state.status = "cancelled"
        elif "failed" in statuses or "skipped" in statuses:
            self.state.status = "failed"
        else:
            self.state.status = "completed"
        self._emit({"type": "pipeline_completion", "status": self.state.status,
                    "execution_time": round(self.state.execution_time, 3)})

    def _live_log(self, nid: str, me: object) -> Any:
        def on_log(line: str) -> None:
            with self._lock, capture.uncaptured():  # listeners write to the real streams, not the card's log
                if self._inflight.get(nid, (None,))[0] is me:
                    self._log(nid, line)
        return on_log

    def _live_progress(self, nid: str, me: object) -> Any:
        def on_progress(current: int, total: int) -> None:
            with self._lock, capture.uncaptured():
                if self._inflight.get(nid, (None,))[0] is me:
                    self._emit({"type": "progress", "node_id": nid, "current": current, "total": total})
        return on_progress
