"""The engine: the one scheduling loop that runs a pipeline on any executor.

Algorithm (in the spirit of dask's ``get_async``):

* **Plan.** The selected nodes (all, or the targets and everything they need) are put in
  topological order; ties break by insertion order, so runs are deterministic. Each node's
  config is validated and filled once, up front.
* **Ready set, no levels.** A node becomes ready the moment its last parent finishes. Ready
  nodes are started in plan order while fewer than ``executor.max_workers`` are in flight.
* **Cache.** Starting a node first computes its key (:func:`cache_key`): a hash of the card's
  type, code fingerprint (its source and the same-module helpers it calls, computed once per
  run) and ``version``, its normalised config, the sha256 of each input artifact, and the
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
* **One queue.** Executors and their worker threads only ``put`` into a queue (task done, log
  line, progress); this loop is the only code that changes run state or calls listeners, so
  listeners never run concurrently.
* **Logs.** Per node, a run keeps at most ``TENSORRAG_MAX_LOG_LINES`` log events and
  ``TENSORRAG_MAX_LOG_CHARS`` characters of them (each line at most 10,000); the rest is counted
  and reported in one last log event when the node ends (``NodeRecord.logs_truncated``). Listeners
  hear what the run keeps, so a card printing millions of lines floods neither the manifest nor a
  canvas. ``Run.logs`` holds the first and last part of the full text (executors/capture.py).
* **Failure.** A failed node's descendants become ``skipped``; independent branches go on
  (``fail_fast`` stops starting new nodes instead). Timeouts and ``cancel()`` end nodes the
  same way. Every run ends in a terminal state with a ``pipeline_completion`` event.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import ArgumentError, PipelineValidationError, TaskCancelledError, TaskTimeoutError
from tensorrag.executors import capture
from tensorrag.executors.caching import cache_key, card_token, refresh_cards, verified_entry
from tensorrag.executors.runtime import card_ref, commit_entry
from tensorrag.spec import Task, TaskResult
from tensorrag.storage.integrity import abandon

if TYPE_CHECKING:
    from tensorrag.cards import BaseCard
    from tensorrag.executors.base import Executor
    from tensorrag.pipeline import Pipeline
    from tensorrag.storage import ArtifactStore

__all__ = ["TERMINAL", "Engine", "NodeRecord", "RunState", "cache_key"]

log = logging.getLogger(__name__)

#: Node states after which nothing more happens to the node in this run.
TERMINAL = frozenset({"completed", "cached", "failed", "skipped"})
Listener = Callable[[dict[str, Any]], None]
_MAX_LINE = 10_000  # characters of one log event's text


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class NodeRecord:
    """What one run knows about one node."""

    node_id: str
    card_type: str
    status: str = "pending"
    key: str | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    preview: dict[str, Any] | None = None
    output_type: str = "table"
    error: dict[str, str] | None = None
    logs: str = ""
    logs_truncated: bool = False  # not every log line was kept (in the events or in ``logs``)
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The node's part of the run manifest."""
        return {
            "node_id": self.node_id,
            "card_type": self.card_type,
            "status": self.status,
            "key": self.key,
            "outputs": self.outputs,
            "extras": self.extras,
            "output_type": self.output_type,
            "error": self.error,
            "logs_truncated": self.logs_truncated,
            "message": self.message,
            "timings": self.timings,
        }


@dataclass
class RunState:
    """The state of one run, written as ``runs/{run_id}.json`` when it starts, while it runs and when it ends."""

    run_id: str
    pipeline: str
    nodes: dict[str, NodeRecord]
    status: str = "running"
    events: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None
    execution_time: float | None = None
    owner: dict[str, Any] | None = None  # who runs it: see tensorrag.executors.liveness
    heartbeat_at: str | None = None

    def to_manifest(self, graph: dict[str, Any] | None = None, *, events: bool = True) -> dict[str, Any]:
        """The run manifest (status, node states, artifact refs, events, and the graph).

        ``events=False`` leaves the event list empty: the manifests rewritten while a run goes on
        carry node states only, so a big run does not re-encode every event each second.
        """
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "execution_time": self.execution_time,
            "owner": self.owner,
            "heartbeat_at": self.heartbeat_at,
            "nodes": {nid: rec.to_dict() for nid, rec in self.nodes.items()},
            "events": list(self.events) if events else [],
            "graph": graph,
        }


@dataclass
class _Plan:
    node_id: str
    rank: int
    card: type[BaseCard]
    config: dict[str, Any]
    inputs: dict[str, tuple[str, str]]  # port -> (source node, source port)
    children: list[str]
    resources: dict[str, Any]
    output_type: str
    cache: bool = True  # the node's own opt-out (``Node.cache``)
    fingerprint: str = ""


class Engine:
    """Run ``pipeline`` on ``executor`` over ``store`` (see the module docstring).

    Args:
        pipeline: the pipeline (snapshotted when :meth:`run` starts; later edits don't leak in).
        executor: where tasks run.
        store: the project-scoped artifact store.
        run_id: this run's id.
        cache: reuse results whose key is already in the store.
        targets: run only these nodes and what they need (default: every node).
        fail_fast: stop starting new nodes after the first failure.
        rerun: execute these nodes and their descendants even if cached; without ``targets`` only
            they, their descendants and what those need are run.
        listeners: called with every event, in order, from the engine's thread.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        executor: Executor,
        store: ArtifactStore,
        *,
        run_id: str,
        cache: bool = True,
        targets: Iterable[str] | None = None,
        fail_fast: bool = False,
        rerun: Iterable[str] | None = None,
        listeners: Iterable[Listener] = (),
    ) -> None:
        self.pipeline = pipeline
        self.executor = executor
        self.store = store
        self.cache = cache
        self.fail_fast = fail_fast
        self.listeners = list(listeners)
        self._queue: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
        self._owners: dict[str, str] = {}  # cache key -> node computing it now
        self._parked: dict[str, list[str]] = {}  # cache key -> nodes waiting for that computation
        self._attempts: dict[str, str] = {}  # node -> artifact folder of its attempt
        self._streamed: dict[str, bool] = {}  # node -> its logs arrived live (no replay at the end)
        self._cancelled = threading.Event()
        settings = get_settings()
        self._log_limits = (settings.max_log_lines, settings.max_log_chars)
        self._logged: dict[str, list[int]] = {}  # node -> [lines kept, characters kept, lines not kept]
        self._plan, self._fresh = self._make_plan(targets, rerun)
        # Refuse cards that cannot run on this executor before anything runs.
        self.executor.preflight([p.card for p in self._plan.values()])
        self._store_wire = store.to_wire()
        self.state = RunState(
            run_id=run_id,
            pipeline=pipeline.name,
            nodes={nid: NodeRecord(nid, p.card.card_type, output_type=p.output_type) for nid, p in self._plan.items()},
        )

    # ------------------------------------------------------------------ planning

    def _make_plan(
        self, targets: Iterable[str] | None, rerun: Iterable[str] | None
    ) -> tuple[dict[str, _Plan], set[str]]:
        """The plan of the selected nodes, and the nodes that must execute even if cached."""
        p = self.pipeline
        fresh_roots = [p.node(n).id for n in rerun] if rerun is not None else []
        fresh = set(fresh_roots) | p.descendants(fresh_roots)
        if targets is None and rerun is not None:
            targets = fresh  # re-run from these nodes: what is downstream of them, and what that needs
        if targets is None:
            selected = set(p.nodes)
        else:
            wanted = [p.node(t).id for t in targets]
            selected = set(wanted) | p.ancestors(wanted)
        outside = [n for n in fresh_roots if n not in selected]
        if outside:
            raise ArgumentError(
                f"Cannot re-run node(s) {', '.join(map(repr, outside))}: not part of this run, which covers the "
                f"targets {sorted(wanted)} and what they need. Add them to targets, or drop targets."
            )
        refresh_cards(p, selected)
        problems = p.problems()
        if targets is not None:  # a partial run needs only its own part to be valid
            problems = [x for x in problems if x.get("node_id") in selected or x.get("node_id") is None]
        if problems:
            raise PipelineValidationError(problems, p.name)
        order = p.topological_order(selected)
        plan: dict[str, _Plan] = {}
        fingerprints: dict[type[BaseCard], str] = {}  # once per card class and run: cheap, never stale
        for rank, nid in enumerate(order):
            node = p.nodes[nid]
            assert node.card is not None
            if node.card not in fingerprints:
                fingerprints[node.card] = node.card.fingerprint()
            resources = {**(node.card.resources or {}), **(node.resources or {})}
            plan[nid] = _Plan(
                node_id=nid,
                rank=rank,
                card=node.card,
                config=node.resolved_config(),
                inputs={},
                children=[],
                resources=resources,
                output_type=node.card.output_view_type,
                cache=node.cache,
                fingerprint=fingerprints[node.card],
            )
        for edge in p.edges:
            if edge.source in plan and edge.target in plan:
                plan[edge.target].inputs[edge.target_input] = (edge.source, edge.source_output)
                plan[edge.source].children.append(edge.target)
        return plan, fresh & selected

    # ------------------------------------------------------------------ events

    def _emit(self, event: dict[str, Any]) -> None:
        event.setdefault("timestamp", _now())
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
        if status in TERMINAL:
            self._end_logs(nid)
        rec.status, rec.message = status, message
        self._emit({"type": "node_status", "node_id": nid, "status": status, "message": message})

    # ------------------------------------------------------------------ control

    def cancel(self) -> None:
        """Stop the run: nothing new starts; running nodes are abandoned as failed."""
        self._cancelled.set()
        self._queue.put(("cancel", "", None))

    def run(self) -> RunState:
        """Run to a terminal state and return it (also written as the run manifest)."""
        t0 = time.perf_counter()
        plan, nodes = self._plan, self.state.nodes
        for nid in plan:
            self._status(nid, "pending")
        waiting = {nid: len({src for src, _ in p.inputs.values()}) for nid, p in plan.items()}
        ready = [(p.rank, nid) for nid, p in plan.items() if waiting[nid] == 0]
        heapq.heapify(ready)
        inflight: dict[str, tuple[Future[TaskResult], float | None]] = {}
        stopping = False
        limit = max(1, self.executor.max_workers)
        self.executor.start()
        route = capture.routing() if self.executor.in_process else contextlib.nullcontext()
        try:
            route.__enter__()
            while True:
                while ready and len(inflight) < limit and not stopping:
                    _, nid = heapq.heappop(ready)
                    try:
                        started = self._start(nid)
                    except Exception as exc:  # e.g. the store is unreachable for the cache lookup
                        tb = traceback.format_exc()
                        self._fail(nid, {"type": type(exc).__name__, "message": str(exc), "traceback": tb})
                        self._skip_descendants(nid)
                        stopping = stopping or self.fail_fast
                        continue
                    if started is None:  # cached: its children may be ready now
                        self._release(nid, waiting, ready)
                    elif started != "parked":
                        inflight[nid] = started  # type: ignore[assignment]
                if not inflight:
                    break
                kind, nid, payload = self._next(inflight)
                if kind == "cancel" or self._cancelled.is_set():
                    stopping = True
                    for rid in list(inflight):
                        self.executor.cancel(inflight.pop(rid)[0])
                        self._abandon(rid)
                        self._unpark(rid, ready)
                        why = TaskCancelledError(f"node {rid!r} was running when the run was cancelled")
                        self._fail(rid, {"type": type(why).__name__, "message": str(why), "traceback": ""})
                    continue
                if kind == "timeout":
                    fut, _ = inflight.pop(nid)
                    self.executor.cancel(fut)
                    self._abandon(nid)
                    self._unpark(nid, ready)
                    secs = plan[nid].resources.get("timeout")
                    err = TaskTimeoutError(f"node {nid!r} ran past its timeout of {secs} s")
                    self._fail(nid, {"type": type(err).__name__, "message": str(err), "traceback": ""})
                    self._skip_descendants(nid)
                    stopping = stopping or self.fail_fast
                elif kind == "log":
                    if nid in inflight:
                        self._log(nid, payload)
                elif kind == "progress":
                    if nid in inflight:
                        cur, tot = payload
                        self._emit({"type": "progress", "node_id": nid, "current": cur, "total": tot})
                elif kind == "done" and nid in inflight:
                    inflight.pop(nid)
                    ok = self._finish(nid, payload)
                    self._unpark(nid, ready)
                    if ok:
                        self._release(nid, waiting, ready)
                    else:
                        self._skip_descendants(nid)
                        stopping = stopping or self.fail_fast
        finally:
            for nid, rec in nodes.items():
                if rec.status not in TERMINAL:
                    self._status(nid, "skipped", "cancelled" if self._cancelled.is_set() else "not run")
            self.state.execution_time = round(time.perf_counter() - t0, 6)
            self.state.finished_at = _now()
            statuses = {rec.status for rec in nodes.values()}
            if self._cancelled.is_set():
                self.state.status = "cancelled"
            elif "failed" in statuses or "skipped" in statuses:
                self.state.status = "failed"
            else:
                self.state.status = "completed"
            self._emit(
                {
                    "type": "pipeline_completion",
                    "status": self.state.status,
                    "execution_time": round(self.state.execution_time, 3),
                }
            )
            route.__exit__(None, None, None)
        return self.state

    def _next(self, inflight: dict[str, tuple[Future[TaskResult], float | None]]) -> tuple[str, str, Any]:
        deadlines = [(d, nid) for nid, (_, d) in inflight.items() if d is not None]
        while True:
            wait = None
            if deadlines:
                soonest, nid = min(deadlines)
                wait = soonest - time.monotonic()
                if wait <= 0:
                    return ("timeout", nid, None)
            try:
                return self._queue.get(timeout=wait)
            except queue.Empty:
                continue

    def _abandon(self, nid: str) -> None:
        """Mark the node's attempt abandoned, so work still running elsewhere never commits or is served."""
        if self.state.nodes[nid].key is None:
            return  # uncached: it commits nothing anyway
        try:
            abandon(self.store, self._attempts[nid])
        except Exception:  # the store is unreachable: the entry may survive, say so
            log.warning("could not mark the abandoned attempt of node %r; its late result may be cached", nid,
                        exc_info=True)

    def _unpark(self, nid: str, ready: list[tuple[int, str]]) -> None:
        key = self.state.nodes[nid].key
        if key is None or self._owners.get(key) != nid:
            return
        del self._owners[key]
        for waiter in self._parked.pop(key, []):  # they start again: a cache hit, or their own attempt
            heapq.heappush(ready, (self._plan[waiter].rank, waiter))

    def _release(self, nid: str, waiting: dict[str, int], ready: list[tuple[int, str]]) -> None:
        for child in dict.fromkeys(self._plan[nid].children):
            waiting[child] -= 1
            if waiting[child] == 0 and self.state.nodes[child].status == "pending":
                heapq.heappush(ready, (self._plan[child].rank, child))

    def _skip_descendants(self, nid: str) -> None:
        for child in self._plan[nid].children:
            rec = self.state.nodes[child]
            if rec.status == "pending":
                self._status(child, "skipped", f"upstream node {nid!r} did not complete")
                self._skip_descendants(child)

    # ------------------------------------------------------------------ one node

    def _start(self, nid: str) -> tuple[Future[TaskResult], float | None] | str | None:
        """Cache hit -> None; an identical node is running -> "parked"; else (future, deadline)."""
        plan, rec = self._plan[nid], self.state.nodes[nid]
        inputs = {port: dict(self.state.nodes[src].outputs[out]) for port, (src, out) in plan.inputs.items()}
        token = card_token(plan.card, plan.config, nid) if plan.cache else None
        key = cache_key(plan.card, plan.config, inputs, token or "", fingerprint=plan.fingerprint)
        cacheable = token is not None  # None: never looked up, never committed
        rec.key = key if cacheable else None
        if self.cache and cacheable and nid not in self._fresh:
            entry = self._lookup(nid, key)
            if entry is not None:
                rec.outputs = entry.get("outputs", {})
                rec.extras = entry.get("extras", {})
                rec.preview = entry.get("preview")
                rec.logs = entry.get("logs", "")
                self._status(nid, "cached")
                return None
            if key in self._owners:  # the same computation is running: wait for it, then hit the cache
                self._parked.setdefault(key, []).append(nid)
                return "parked"
        # Each attempt writes into its own folder, so artifacts are never overwritten; the entry
        # at ``key`` (written last) says which attempt the cache serves.
        attempt = f"{key}-{hashlib.sha256(f'{self.state.run_id}/{nid}'.encode()).hexdigest()[:8]}"
        self._attempts[nid] = attempt
        if cacheable:
            self._owners[key] = nid
        task = Task(
            run_id=self.state.run_id,
            node_id=nid,
            card=card_ref(plan.card),
            config=plan.config,
            inputs=inputs,
            key=attempt,
            cache_key=key if cacheable else None,
            pipeline_id=self.pipeline.name,
            storage=self._store_wire,
            resources=plan.resources,
            card_class=plan.card,  # in-process executors use these two; others send the wire form
            store=self.store,
        )
        if not self.executor.uri_mode(task, self.store):
            # The worker cannot reach this store (e.g. memory://): inputs travel as bytes, outputs
            # come back as bytes and the engine commits them.
            task.inputs = {port: self._payload(ref) for port, ref in inputs.items()}
            task.storage = task.cache_key = None
        self._streamed[nid] = self.executor.streams_logs_for(task)
        self._status(nid, "running")
        q = self._queue
        try:
            fut = self.executor.submit(task, lambda kind, payload: q.put((kind, nid, payload)))
        except Exception as exc:  # the executor refused: the node fails, the run goes on
            fut = Future()
            fut.set_exception(exc)
        fut.add_done_callback(lambda f: q.put(("done", nid, f)))
        timeout = plan.resources.get("timeout")
        deadline = time.monotonic() + float(timeout) if timeout else None
        return fut, deadline

    def _lookup(self, nid: str, key: str) -> dict[str, Any] | None:
        """The cache entry of ``key`` if every artifact in it still matches its sha256, else None."""
        entry, problems = verified_entry(self.store, key)
        for problem in problems:  # never served: say why, then recompute
            self._emit({"type": "warning", "node_id": nid, "message": f"{problem} Recomputing node {nid!r}."})
        return entry

    def _finish(self, nid: str, fut: Future[TaskResult]) -> bool:
        rec = self.state.nodes[nid]
        try:
            result = fut.result()
        except BaseException as exc:
            tb = "".join(traceback.format_exception(exc))
            self._fail(nid, {"type": type(exc).__name__, "message": str(exc), "traceback": tb})
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
                plan = self._plan[nid]
                commit_entry(self.store, rec.key, self.state.run_id, nid, plan.card, result, attempt=attempt)
        except Exception as exc:
            tb = traceback.format_exc()
            self._fail(nid, {"type": type(exc).__name__, "message": f"saving results failed: {exc}", "traceback": tb})
            return False
        self._status(nid, "completed")
        return True

    def _payload(self, ref: dict[str, Any]) -> dict[str, Any]:
        if "data" in ref:
            return ref
        data = self.store.get_bytes(ref)
        return {"type": ref.get("type", "bytes"), "data": data, "ext": ref.get("ext"), "sha256": ref.get("sha256")}

    def _persist(self, key: str, name: str, art: dict[str, Any]) -> dict[str, Any]:
        if "data" not in art:
            return art
        data = art["data"]
        if not isinstance(data, (bytes, bytearray)):
            data = json.dumps(data).encode()
        return self.store.put_bytes(key, name, bytes(data), art.get("type", "bytes"), art.get("ext"))

    def _fail(self, nid: str, error: dict[str, str]) -> None:
        rec = self.state.nodes[nid]
        rec.error = error
        self._status(nid, "failed", f"{error.get('type')}: {error.get('message')}")
