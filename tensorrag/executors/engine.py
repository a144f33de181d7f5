"""The engine: the one scheduling loop that runs a pipeline on any executor.

Algorithm (in the spirit of dask's ``get_async``):

* **Plan.** The selected nodes (all, or the targets and everything they need) are put in
  topological order; ties break by insertion order, so runs are deterministic. Each node's
  config is validated and filled once, up front.
* **Ready set, no levels.** A node becomes ready the moment its last parent finishes. Ready
  nodes are started in plan order while fewer than ``executor.max_workers`` are in flight.
* **Cache** and **logs**: see :mod:`tensorrag.executors.steps` (what happens to one node).
* **Two ways to hand out work, one set of transitions.** Executors that run tasks elsewhere
  (processes, Modal) get them through ``submit`` and only ``put`` results into a queue this thread
  reads. ``LocalExecutor`` lends worker threads that take ready nodes from the heap themselves,
  under one lock, with no hand-off per node. Either way one thread at a time changes run state or
  calls listeners (:mod:`tensorrag.executors.steps`), so events keep their order.
* **Disabled nodes** and their descendants are not planned: ``skipped`` from the start, with why.
* **Failure.** A failed node's descendants become ``skipped``; independent branches go on
  (``fail_fast`` stops starting new nodes instead). Timeouts and ``cancel()`` end nodes the
  same way. Every run ends in a terminal state with a ``pipeline_completion`` event.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import queue
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from tensorrag.config import get_settings
from tensorrag.errors import TaskCancelledError
from tensorrag.executors import capture
from tensorrag.executors.caching import cache_key
from tensorrag.executors.plan import make_plan
from tensorrag.executors.runtime import run_task
from tensorrag.executors.state import TERMINAL, NodeRecord, RunState
from tensorrag.executors.steps import Listener, NodeSteps

if TYPE_CHECKING:
    from collections.abc import Iterable
    from concurrent.futures import Future

    from tensorrag.executors.base import Executor
    from tensorrag.pipeline import Pipeline
    from tensorrag.spec import TaskResult
    from tensorrag.storage import ArtifactStore

__all__ = ["TERMINAL", "Engine", "NodeRecord", "RunState", "cache_key"]

_GROW_S = 0.001  # pull mode: a node held this long while others wait brings in more workers
_NEVER = float("inf")


class Engine(NodeSteps):
    """Run ``pipeline`` on ``executor`` over ``store`` (see the module docstring).

    Args:
        pipeline: the pipeline (planned when the engine is made; later edits don't leak in).
        executor: where tasks run.
        store: the project-scoped artifact store.
        run_id: this run's id.
        cache: reuse results whose key is already in the store.
        targets: run only these nodes and what they need (default: every node).
        fail_fast: stop starting new nodes after the first failure.
        rerun: execute these nodes and their descendants even if cached; without ``targets`` only
            they, their descendants and what those need are run.
        listeners: called with every event, in order, one call at a time.
        max_workers: at most this many tasks in flight, below ``executor.max_workers`` (a sweep's
            ``max_parallel`` on an executor it did not make); None: the executor's own limit.
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
        max_workers: int | None = None,
    ) -> None:
        self.pipeline, self.executor, self.store = pipeline, executor, store
        self.cache, self.fail_fast = cache, fail_fast
        self.listeners = list(listeners)
        self._queue: queue.SimpleQueue[tuple[str, str, Any]] = queue.SimpleQueue()
        self._owners, self._parked, self._attempts, self._streamed = {}, {}, {}, {}
        self._cancelled = threading.Event()
        self._lock = threading.RLock()  # pull mode: held by whoever changes run state
        self._work = threading.Condition(self._lock)  # idle workers wait here for ready nodes
        self._attention = threading.Event()  # pull mode: the engine thread has something to look at
        self._log_limits = (get_settings().max_log_lines, get_settings().max_log_chars)
        self._logged, self._card_refs, self._pulling, self.lazy_previews = {}, {}, False, False
        self._plan, self._fresh, self._bypassed = make_plan(pipeline, targets, rerun)
        # Refuse what cannot run, first (with resources: "auto" routes a node by them).
        self.executor.preflight_nodes([(p.card, p.resources) for p in self._plan.values()])
        self._store_wire = store.to_wire()
        self.state = RunState(
            run_id=run_id,
            pipeline=pipeline.name,
            nodes={nid: NodeRecord(nid, p.card.card_type, output_type=p.output_type) for nid, p in self._plan.items()},
        )
        for nid in self._bypassed:  # disabled nodes and their descendants: in the manifest, never planned
            self.state.nodes[nid] = NodeRecord(nid, pipeline.nodes[nid].card_type)
        self._ready, self._waiting = [], {}
        self._inflight: dict[str, tuple[Any, float | None]] = {}  # node -> (future or worker, deadline)
        self._stopping, self._over = False, False  # over: the run has ended, idle workers leave
        self._workers, self._idle = 0, 0  # pull mode: worker loops lent (retired ones not counted), idle ones
        self._broken: BaseException | None = None  # pull mode: a worker loop died (an engine bug)
        self._loans: dict[object, Future[None] | None] = {}  # pull mode: worker -> its pool future (None: being lent)
        self._started: dict[str, float] = {}  # pull mode: node -> when a worker took it
        self._limit = max(1, min(executor.max_workers, max_workers or executor.max_workers))

    def cancel(self) -> None:
        """Stop the run: nothing new starts; running nodes are abandoned as failed."""
        self._cancelled.set()
        self._queue.put(("cancel", "", None))
        self._attention.set()

    def run(self) -> RunState:
        """Run to a terminal state and return it (also written as the run manifest)."""
        t0 = time.perf_counter()
        for nid in self._plan:
            self._status(nid, "pending")
        for nid, why in self._bypassed.items():
            self._status(nid, "skipped", why)
        self._waiting = {nid: p.parents for nid, p in self._plan.items()}
        self._ready = [(p.rank, nid) for nid, p in self._plan.items() if p.parents == 0]
        heapq.heapify(self._ready)
        self.executor.start()
        lend = getattr(self.executor, "lend", None)
        self._pulling = lend is not None
        self.lazy_previews = self._pulling and self.store.protocol == "memory"  # nothing persists them
        route = capture.routing() if self.executor.in_process else contextlib.nullcontext()
        try:
            with route:
                self._pull(lend) if lend is not None else self._push_tasks()
        finally:
            with self._lock:
                self._over = True
                self._work.notify_all()
                self._end(t0)
        return self.state

    def _push_tasks(self) -> None:
        """Submit mode: hand tasks to ``executor.submit``; only this thread changes run state."""
        inflight, limit = self._inflight, self._limit
        while True:
            while self._ready and len(inflight) < limit and not self._stopping:
                _, nid = heapq.heappop(self._ready)
                started = self._start(nid)
                if started is not None:
                    inflight[nid] = started
            if not inflight:
                return
            kind, nid, payload = self._next()
            if kind == "cancel" or self._cancelled.is_set():
                self._cancel_running()
            elif kind == "timeout":
                self._time_out(nid)
            elif nid not in inflight:
                continue  # news of a node already ended (timed out, cancelled)
            elif kind == "log":
                self._log(nid, payload)
            elif kind == "progress":
                self._emit({"type": "progress", "node_id": nid, "current": payload[0], "total": payload[1]})
            elif kind == "done":
                inflight.pop(nid)
                fut: Future[TaskResult] = payload
                exc = fut.exception() if not fut.cancelled() else TaskCancelledError(f"node {nid!r} was cancelled")
                self._finish(nid, exc if exc is not None else fut.result())
                self._stopping = self._stopping or (self.fail_fast and self.state.nodes[nid].status == "failed")

    def _next(self) -> tuple[str, str, Any]:
        while True:
            soonest = self._soonest()
            wait = None if soonest is None else soonest[0] - time.monotonic()
            if wait is not None and wait <= 0:
                return ("timeout", soonest[1], None)  # type: ignore[index]
            try:
                return self._queue.get(timeout=wait)
            except queue.Empty:
                continue

    def _pull(self, lend: Any) -> None:
        """Pull mode: lend worker threads that take ready nodes themselves; this thread keeps deadlines and cancel."""
        while True:
            with self._lock:
                if self._cancelled.is_set() or self._broken is not None:
                    self._cancel_running()
                now = time.monotonic()
                for nid, (_, deadline) in list(self._inflight.items()):
                    if deadline is not None and deadline <= now:
                        self._time_out(nid)
                if not self._inflight and (self._stopping or not self._ready):
                    return
                wake, new = self._grow(now)
            for me in new:  # lent outside the lock: each new worker starts at once, not after the last
                loan = lend(functools.partial(self._serve, me))
                with self._lock:
                    if me in self._loans:  # still serving
                        self._loans[me] = loan
                loan.add_done_callback(self._loan_ended)
            soonest = self._soonest()
            wake = min(wake, soonest[0]) if soonest is not None else wake
            self._attention.wait(None if wake == _NEVER else max(0.0, wake - time.monotonic()))
            self._attention.clear()

    def _grow(self, now: float) -> tuple[float, list[object]]:
        """Reserve workers while nodes wait (under the lock); return when to look again, and the workers to lend.

        The first worker is lent at once; then, each time nodes wait while a busy one has held its
        node for :data:`_GROW_S`, as many again (1, 2, 4, ...). Cards of microseconds so run on one
        thread (under the GIL, more threads only add hand-offs; one slow syscall no longer brings in
        every worker), and cards that wait (I/O, sleep, native code) in parallel.
        """
        if not self._ready or self._stopping or self._idle or self._workers >= self._limit:
            return _NEVER, []
        since = min(self._started.values(), default=now)
        if self._workers and now - since < _GROW_S:
            return since + _GROW_S, []
        new = [object() for _ in range(min(len(self._ready), self._limit - self._workers, max(1, self._workers)))]
        for me in new:
            self._loans[me] = None  # its pool future, once lent
        self._workers += len(new)
        return _NEVER, new

    def _serve(self, me: object) -> None:
        """One worker (``me``): take the first ready node, run it, record it, until the run ends."""
        with self._lock:
            try:
                while not self._over:
                    if self._stopping or not self._ready:
                        self._idle += 1
                        self._work.wait()
                        self._idle -= 1
                        continue
                    _, nid = heapq.heappop(self._ready)
                    self._inflight[nid], self._started[nid] = (me, None), time.monotonic()  # busy: not over
                    if self._ready and self._idle:
                        self._work.notify()  # more ready nodes: wake the next idle worker
                    elif self._ready and self._workers < self._limit:
                        self._attention.set()  # the engine may lend another worker if this node takes long
                    try:
                        if not self._run_here(nid, me):
                            return  # retired: the node timed out or the run was cancelled while it ran
                    except BaseException as exc:  # a bug here must fail the node, never hang the run
                        if self._inflight.pop(nid, (None,))[0] is me and self.state.nodes[nid].status not in TERMINAL:
                            self._fail_with(nid, exc, traceback.format_exc())
                            self._skip_descendants(nid)
                    finally:
                        self._started.pop(nid, None)
                    if self.fail_fast and self.state.nodes[nid].status == "failed":
                        self._stopping = True
                    if not self._inflight and (self._stopping or not self._ready):
                        self._attention.set()  # the end, unless the engine finds more
            finally:
                if me in self._loans:  # retired ones were already let go
                    del self._loans[me]
                    self._workers -= 1
                self._attention.set()

    def _run_here(self, nid: str, me: object) -> bool:
        """Run ``nid`` on this worker (lock held on entry and exit); False when this worker was retired."""
        self._lock.release()
        try:
            prep = self._try_prepare(nid)  # store reads, outside the lock
        finally:
            self._lock.acquire()
        if self._inflight.get(nid, (None,))[0] is not me:
            return False  # cancelled meanwhile
        task = self._open(nid, prep)
        if task is None:
            del self._inflight[nid]  # cached, parked or failed: nothing to run
            return True
        deadline = self._deadline(nid)
        self._inflight[nid] = (me, deadline)
        if deadline is not None:
            self._attention.set()  # a new deadline to keep
        self._lock.release()
        try:
            result: Any = run_task(task, on_log=self._live_log(nid, me), on_progress=self._live_progress(nid, me),
                                   log_chars=self._log_limits[1])
        except BaseException as exc:  # run_task catches card errors; this is a bug or an interrupt
            result = exc
        finally:
            self._lock.acquire()
        if self._inflight.get(nid, (None,))[0] is not me:
            return False
        del self._inflight[nid]
        self._finish(nid, result)
        return True
