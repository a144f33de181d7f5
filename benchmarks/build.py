"""Build benchmark: building a pipeline and checking it grow linearly with its size.

A chain of N nodes (``data_load`` then ``N - 1`` ``data_split`` cards, each fed by the previous one)
is built with ``add`` + ``connect``, then checked with ``problems()``. Printed per size: the build
time, the ``problems()`` time and (build + problems) per node; then the growth of the per-node time
from the smallest to each larger size (1.0 is linear). Targets: 5,000 vs 500 nodes <= 2x per node;
a 10,000-node chain builds in <= 1 s.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/build.py`` (the code on PYTHONPATH is measured,
so ``PYTHONPATH=/path/to/other/checkout`` measures that one). Options: ``--sizes 500 5000 10000``,
``--repeat 3`` (the best of the repeats is reported), ``--json out.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import tensorrag as tr


def chain(n: int) -> tr.Pipeline:
    """``load`` then ``n - 1`` splits, each fed by the previous one."""
    p = tr.Pipeline(f"chain-{n}")
    p.add("data_load", id="n0")
    for i in range(1, n):
        p.add("data_split", id=f"n{i}")
        p.connect(f"n{i - 1}", "dataset" if i == 1 else "train_dataset", f"n{i}", "dataset")
    return p


def measure(n: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` seconds to build an ``n``-chain and to run ``problems()`` on it."""
    build, check = float("inf"), float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = chain(n)
        t1 = time.perf_counter()
        found = p.problems()
        t2 = time.perf_counter()
        assert len(p) == n and len(p.edges) == n - 1 and not found, found
        build, check = min(build, t1 - t0), min(check, t2 - t1)
    return {"nodes": n, "build_s": build, "problems_s": check, "per_node_us": (build + check) / n * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    chain(50).problems()  # warm up: card classes loaded, schemas normalised
    rows = [measure(n, args.repeat) for n in sorted(args.sizes)]
    print(f"tensorrag from {tr.__file__}")
    print(f"{'nodes':>8} {'build s':>10} {'problems s':>11} {'µs/node':>10} {'growth':>8}")
    base = rows[0]["per_node_us"]
    for row in rows:
        row["growth"] = row["per_node_us"] / base
        print(
            f"{row['nodes']:>8} {row['build_s']:>10.3f} {row['problems_s']:>11.3f} "
            f"{row['per_node_us']:>10.1f} {row['growth']:>7.2f}x"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
