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
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

import tensorrag as tr
from tensorrag.executors.process import ProcessExecutor
from tensorrag.executors.runtime import card_ref
from tensorrag.spec import Task

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


def submit_all(ex: ProcessExecutor, n: int) -> None:
    ref = card_ref(noop.card_class)  # what the engine sends for a card of the main script: its source
    x = {"type": "json", "data": b'{"n": 0}'}
    tasks = [Task(run_id="r", node_id=f"f{i}", card=ref, config={"i": i}, inputs={"x": x}, key=f"k{i}")
             for i in range(n)]
    for f in [ex.submit(t) for t in tasks]:
        if not f.result().ok:
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

    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_noop, range(4 * args.workers)))  # workers started and warm
        base = median_us(lambda: [f.result() for f in [pool.submit(_noop, i) for i in range(n)]], args.repeats, n)

    def show(label: str, ours: float) -> None:
        print(f"{label:17s} {ours:8.1f} µs/task   bare pool {base:7.1f} µs/task   ratio {ours / base:5.2f}")

    ex = ProcessExecutor(max_workers=args.workers)  # the engine keeps at most max_workers tasks in flight
    try:
        submit_all(ex, n)  # warm: workers up, the card resolved
        show("executor alone", median_us(lambda: submit_all(ex, n), args.repeats, n))
        with tempfile.TemporaryDirectory() as tmp:
            stores = {"local dir": lambda: os.path.join(tmp, uuid.uuid4().hex),
                      "memory://": lambda: f"memory://bench-{uuid.uuid4().hex}"}
            for label, make in stores.items():
                p.run(executor=ex, storage=make(), progress=False)  # warm: workers up, cards resolved
                show(f"pipeline {label}", median_us(lambda m=make: run_ok(p, ex, m()), args.repeats, n + 1))
    finally:
        ex.shutdown()
    print("load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
