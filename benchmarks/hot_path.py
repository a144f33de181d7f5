"""The per-node cost of an in-process run in figures that do not move with the machine's load.

    python benchmarks/hot_path.py [--nodes 500] [--top 25]

On the 500-node no-op chain of ``overhead.py`` (1 worker, ``memory://``, events on) it prints, per
node: the Python function calls made (every thread of the run, counted by cProfile), the container
objects a finished run keeps alive (what the garbage collector walks, and most of the RSS a big
run adds), and the collections of each generation a run triggers; then the functions with the
most calls per node. Wall-clock figures are ``overhead.py``'s; these say where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, however this is run

from overhead import chain, run_ok

from tensorrag.executors import engine as engine_module


def calls(n: int, top: int) -> tuple[float, list[tuple[float, str]]]:
    """Function calls per node over every thread of one run, and the ``top`` functions by calls per node."""
    p = chain(n)
    run_ok(p, 1)  # warm: plans, imports, the card threads
    prof = cProfile.Profile()
    serve = engine_module.Engine._serve

    def profiled(self: Any, me: object) -> None:
        prof.enable()  # the worker thread: cProfile sees only the thread that enabled it
        try:
            serve(self, me)
        finally:
            prof.disable()

    engine_module.Engine._serve = profiled  # type: ignore[method-assign]
    try:
        main = cProfile.Profile()
        main.enable()
        run_ok(p, 1)
        main.disable()
    finally:
        engine_module.Engine._serve = serve  # type: ignore[method-assign]
    stats = pstats.Stats(prof)
    stats.add(main)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[1] for v in raw.values())
    ranked = sorted(((v[1] / n, f"{os.path.basename(k[0])}:{k[1]}({k[2]})") for k, v in raw.items()), reverse=True)
    return total / n, ranked[:top]


def kept(n: int) -> float:
    """Container objects per node that a finished run keeps alive (the Run held, its store open)."""
    p = chain(n)
    run_ok(p, 1)
    gc.collect()
    before = len(gc.get_objects())
    run = run_ok(p, 1)
    gc.collect()
    after = len(gc.get_objects())
    del run
    return (after - before) / n


def collections(n: int, runs: int = 5) -> dict[int, float]:
    """Garbage collections per run, by generation."""
    p = chain(n)
    run_ok(p, 1)
    counts = {0: 0, 1: 0, 2: 0}

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            counts[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(count)
    try:
        for _ in range(runs):
            run_ok(p, 1)
    finally:
        gc.callbacks.remove(count)
    return {g: c / runs for g, c in counts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    per_node, ranked = calls(args.nodes, args.top)
    print(f"chain {args.nodes} no-op, 1 worker, memory://, events on (load {os.getloadavg()[0]:.2f})")
    print(f"function calls per node      {per_node:.1f}")
    print(f"containers kept per node     {kept(args.nodes):.1f}")
    gcs = collections(args.nodes)
    print("collections per run          " + ", ".join(f"gen{g} {c:.1f}" for g, c in gcs.items()))
    print(f"most calls per node ({time.perf_counter() - t0:.1f} s):")
    for count, name in ranked:
        print(f"  {count:6.2f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
