"""What a sweep costs: 200 branches of a 50 ms card as one plan, against the ideal and against a loop of runs.

    python benchmarks/sweep.py [--branches 200] [--sleep 0.05] [--parallel 16] [--repeats 3]

Rows (medians of ``--repeats`` runs, every baseline measured in the same run, ``memory://`` fresh per run):

* build     ``p.sweep(...)``: checking the space and expanding ``--branches`` copies, per branch.
* sweep     the sweep on the local executor with ``max_parallel=--parallel``, over the ideal
            ``ceil(branches / parallel) x sleep`` (issue 16's "overhead over ideal at parallelism 16").
* per run   the same pipeline's no-op version run ``--branches`` times in a loop, per run, against the
            no-op sweep per branch: what one more branch costs inside a sweep vs one more ``p.run()``.

Each branch is the swept ``work`` card (it sleeps ``sleep`` s) after a shared ``source`` that runs once.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, however this is run

from _measure import load
from _table import Row, duration, number, render

import tensorrag as tr


@tr.card(outputs={"data": "json"})
def bench_source() -> dict:
    return {"x": 1}


@tr.card(outputs={"out": "json"})
def bench_work(data: dict, i: int = 0, sleep: float = 0.0) -> dict:
    if sleep:
        time.sleep(sleep)
    return {"i": i, "x": data["x"]}


def pipeline(sleep: float) -> tr.Pipeline:
    """source -> work(sleep): the pipeline every figure sweeps or loops over."""
    p = tr.Pipeline("bench-sweep")
    p.add(bench_source, id="source")
    p.add(bench_work, id="work", sleep=sleep)
    p.connect("source", "data", "work", "data")
    return p


def store() -> str:
    return f"memory://bench-sweep-{uuid.uuid4().hex}"


def run_sweep(branches: int, sleep: float, parallel: int) -> tuple[float, float]:
    """(build seconds, run seconds) of one sweep over ``branches`` values of ``work.i``."""
    t0 = time.perf_counter()
    sweep = pipeline(sleep).sweep({"work.i": list(range(branches))})
    t1 = time.perf_counter()
    result = sweep.run(executor="local", max_parallel=parallel, storage=store(), echo=False, progress=False)
    t2 = time.perf_counter()
    if not result.ok:
        raise SystemExit(f"the sweep failed: {result.table['error'].dropna().head(3).tolist()}")
    return t1 - t0, t2 - t1


def run_loop(branches: int, sleep: float) -> float:
    """Seconds to run the pipeline ``branches`` times, one ``work.i`` each, one after the other."""
    where = store()
    p = pipeline(sleep)
    t0 = time.perf_counter()
    for i in range(branches):
        p.configure("work", i=i)
        run = p.run(executor="local", storage=where, echo=False, progress=False, save_pipeline=False)
        if not run.ok:
            raise SystemExit(f"run {i} failed: {run.status}")
    return time.perf_counter() - t0


def measure(branches: int, sleep: float, parallel: int, repeats: int) -> list[Row]:
    """The table's rows (see the module docstring)."""
    builds, sweeps, noop_sweeps, loops = [], [], [], []
    for _ in range(repeats):
        built, ran = run_sweep(branches, sleep, parallel)
        builds.append(built)
        sweeps.append(ran)
        noop_sweeps.append(sum(run_sweep(branches, 0.0, parallel)))
        loops.append(run_loop(branches, 0.0))
    build, swept = statistics.median(builds), statistics.median(sweeps)
    noop, loop = statistics.median(noop_sweeps), statistics.median(loops)
    ideal = math.ceil(branches / parallel) * sleep
    return [
        Row(f"build {branches}", duration(build), "", build / branches * 1e3, "ms/branch",
            note="space checks + expansion"),
        Row(f"sweep {branches} x {number(sleep * 1e3)} ms, p={parallel}", duration(swept), f"ideal {duration(ideal)}",
            swept / ideal if ideal else None, "×", note=f"{duration((swept - ideal) / branches)}/branch over ideal"),
        Row(f"per branch, no-op x {branches}", f"{duration(noop / branches)}/branch",
            f"loop of p.run(): {duration(loop / branches)}/run", noop / loop, "× loop"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the table (and the machine's load, since figures are noisy on a shared machine)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--sleep", type=float, default=0.05)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    before = load()
    rows = measure(args.branches, args.sleep, args.parallel, args.repeats)
    print(render(rows))
    print(f"load (1/5/15 min): {before} before, {load()} after; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
