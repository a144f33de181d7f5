"""Per-task overhead of ``ProcessExecutor`` against a bare ``ProcessPoolExecutor`` round trip.

    python benchmarks/process_overhead.py [--repeats 7] [--tasks 200] [--workers 2]

A pipeline source -> N independent no-op cards runs on one warmed ``ProcessExecutor`` (a fresh
store per repeat, so every node executes), on a local temporary directory and on ``memory://``
(payload mode); the same N no-op tasks also go to the executor directly (no engine, no store: the
executor's own overhead). The baseline is N no-op calls through a warmed ``ProcessPoolExecutor``,
all submitted at once, or at most ``--workers`` in flight (what the engine does with any executor).
The local executor's pipeline figure is the engine's own share. Cases run interleaved, each figure
is a per-task median in µs, and a ratio is ProcessExecutor / the matching bare pool figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import tensorrag as tr
from tensorrag.executors import Executor, LocalExecutor
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


def run_ok(p: tr.Pipeline, ex: Executor, storage: str) -> None:
    if not p.run(executor=ex, storage=storage, progress=False).ok:
        raise SystemExit("benchmark pipeline failed")


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
    n, k = args.tasks, args.workers
    p = tr.Pipeline("proc-overhead")
    p.add(source, id="src")
    for i in range(n):
        p.add(noop, id=f"f{i}", i=i)  # distinct configs: identical nodes would share a cache entry
        p.connect("src", "output", f"f{i}", "x")
    tasks = noop_tasks(n)
    with ProcessPoolExecutor(k) as pool, ProcessExecutor(max_workers=k) as ex, LocalExecutor(k) as local, \
            tempfile.TemporaryDirectory() as tmp:
        def in_dir() -> str:
            return os.path.join(tmp, uuid.uuid4().hex)

        def in_memory() -> str:
            return f"memory://bench-{uuid.uuid4().hex}"

        cases: dict[str, tuple[Callable[[], object], int, str]] = {  # name: (one run, tasks, its baseline)
            "bare pool, all at once": (lambda: drain(lambda i: pool.submit(_noop, i), n, n), n, ""),
            f"bare pool, <= {k} in flight": (lambda: drain(lambda i: pool.submit(_noop, i), n, k), n, ""),
            "executor, all at once": (lambda: drain(lambda i: ex.submit(tasks[i]), n, n), n, "all at once"),
            f"executor, <= {k} in flight": (lambda: drain(lambda i: ex.submit(tasks[i]), n, k), n, "in flight"),
            "pipeline, local dir": (lambda: run_ok(p, ex, in_dir()), n + 1, "in flight"),
            "pipeline, memory://": (lambda: run_ok(p, ex, in_memory()), n + 1, "in flight"),
            "(local executor, memory://)": (lambda: run_ok(p, local, in_memory()), n + 1, "in flight"),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for rep in range(args.repeats + 1):  # interleaved, so load from elsewhere hits every case alike
            for name, (once, count, _) in cases.items():
                t0 = time.perf_counter()
                once()
                if rep:  # the first round warms workers, pools and resolved cards
                    times[name].append((time.perf_counter() - t0) / count * 1e6)
    us = {name: statistics.median(t) for name, t in times.items()}
    for name, (_, _, against) in cases.items():
        base = [b for b in cases if b.startswith("bare") and against and against in b]
        ratio = f"   ratio {us[name] / us[base[0]]:5.2f}  (vs {base[0]})" if base else ""
        print(f"{name:30s} {us[name]:8.1f} µs/task{ratio}")
    print(f"median of {args.repeats}; load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
