"""Per-task overhead of ``ProcessExecutor`` against a bare ``ProcessPoolExecutor`` round trip.

    python benchmarks/process_overhead.py [--repeats 7] [--tasks 200] [--workers 2]

A pipeline source -> N independent no-op cards runs on one warmed ``ProcessExecutor`` (a fresh
store per repeat, so every node executes), on a local temporary directory and on ``memory://``
(payload mode), and the same N tasks are also submitted to the executor directly (no engine, no
store: the executor's own overhead, what issue 10's target of <= 1.5x is about). The baseline is N
no-op calls through a warmed ``ProcessPoolExecutor``, all submitted at once in both cases. Figures
are per-task medians in µs; the ratio is ProcessExecutor / bare pool.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import tensorrag as tr
from tensorrag.executors.process import ProcessExecutor
from tensorrag.executors.runtime import card_ref
from tensorrag.spec import Task, TaskResult

if TYPE_CHECKING:
    from collections.abc import Callable


@tr.card
def source() -> dict:
    return {"n": 0}


@tr.card
def noop(x: dict, i: int = 0) -> dict:
    return x


def _noop(i: int) -> int:
    return i


def run_ok(p: tr.Pipeline, ex: ProcessExecutor, storage: str) -> None:
    if not p.run(executor=ex, storage=storage, progress=False).ok:
        raise SystemExit("benchmark pipeline failed")


def median_us(fn: Callable[[], object], repeats: int, n: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n * 1e6


def noop_tasks(n: int) -> list[Task]:
    ref = card_ref(noop.card_class)  # what the engine sends for a card of the main script: its source
    x = {"type": "json", "data": b'{"n": 0}'}
    return [Task(run_id="r", node_id=f"f{i}", card=ref, config={"i": i}, inputs={"x": x}, key=f"k{i}")
            for i in range(n)]


def drain(submit: Callable[[int], Future[Any]], n: int, in_flight: int) -> None:
    """Submit ``n`` calls with at most ``in_flight`` unfinished at a time, then wait for all."""
    slots = threading.BoundedSemaphore(in_flight)
    futures = []
    for i in range(n):
        slots.acquire()
        futures.append(submit(i))
        futures[-1].add_done_callback(lambda _: slots.release())
    for f in futures:
        if isinstance(f.result(), TaskResult) and not f.result().ok:
            raise SystemExit(f"benchmark task failed: {f.result().error}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    n = args.tasks
    p = tr.Pipeline("proc-overhead")
    p.add(source, id="src")
    for i in range(n):
        p.add(noop, id=f"f{i}", i=i)  # distinct configs: identical nodes would share a cache entry
        p.connect("src", "output", f"f{i}", "x")

    k = args.workers
    with ProcessPoolExecutor(k) as pool:
        list(pool.map(_noop, range(4 * k)))  # workers started and warm
        bare = {m: median_us(lambda m=m: drain(lambda i: pool.submit(_noop, i), n, m), args.repeats, n)
                for m in (n, k)}

    def show(label: str, ours: float, in_flight: int) -> None:
        base = bare[in_flight]
        print(f"{label:28s} {ours:8.1f} µs/task   bare pool {base:7.1f} µs/task   ratio {ours / base:5.2f}")

    ex = ProcessExecutor(max_workers=k)
    try:
        tasks = noop_tasks(n)
        drain(lambda i: ex.submit(tasks[i]), n, n)  # warm: workers up, the card resolved
        for m, what in ((n, "all at once"), (k, f"<= {k} in flight")):
            show(f"executor, {what}", median_us(lambda m=m: drain(lambda i: ex.submit(tasks[i]), n, m),
                                               args.repeats, n), m)
        with tempfile.TemporaryDirectory() as tmp:
            stores = {"local dir": lambda: os.path.join(tmp, uuid.uuid4().hex),
                      "memory://": lambda: f"memory://bench-{uuid.uuid4().hex}"}
            for label, make in stores.items():
                p.run(executor=ex, storage=make(), progress=False)  # warm: workers up, cards resolved
                ours = median_us(lambda m=make: run_ok(p, ex, m()), args.repeats, n + 1)
                show(f"pipeline, {label}", ours, k)  # the engine keeps <= max_workers in flight
    finally:
        ex.shutdown()
    print("load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
