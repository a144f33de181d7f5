"""Filesystem metadata operations per node of a local-disk run, and its time against one raw atomic write.

    python benchmarks/disk_ops.py [--nodes 100] [--repeats 5]

Runs a chain of small json ``@tr.card`` cards on a fresh temp-dir store with ``LocalExecutor(1)``
twice (cold: every node executes; warm: every node is cached) with the ``os`` calls below wrapped
and counted by function and by place (``runs/`` manifests, ``artifacts/``, other). The timed runs are
separate and unwrapped; their µs/node is compared with one raw atomic small-file write (temp file +
``os.replace``) timed in the same process. Prints the load average, as the figures are noisy.
"""

from __future__ import annotations

import argparse
import builtins
import collections
import os
import statistics
import tempfile
import time

import tensorrag as tr
from tensorrag.executors import LocalExecutor

OPS = ["stat", "lstat", "open", "mkdir", "makedirs", "rename", "replace", "unlink", "remove", "listdir", "scandir",
       "fsync", "readlink", "symlink", "link"]
COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()


@tr.card
def source() -> dict:
    return {"n": 0}


@tr.card
def step(x: dict, i: int = 0) -> dict:
    return {"n": x["n"] + i}


def _place(path: object) -> str:
    p = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
    return "runs" if "/runs/" in p or p.endswith("/runs") else "artifacts" if "/artifacts" in p else "other"


def _wrap(owner: object, name: str, label: str) -> None:
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        if not (owner is builtins and args and isinstance(args[0], int)):  # open(fd): a file object, no path op
            COUNTS[(label, _place(args[-1] if name == "symlink" else args[0]) if args else "other")] += 1
        return real(*args, **kwargs)

    setattr(owner, name, counted)
    UNWRAP.append((owner, name, real))


UNWRAP: list[tuple[object, str, object]] = []


def chain(n: int) -> tr.Pipeline:
    p = tr.Pipeline("chain")
    p.add(source, id="n0")
    for i in range(1, n):
        p.add(step, id=f"n{i}", i=i)
        p.connect(f"n{i - 1}", "output", f"n{i}", "x")
    return p


def run(p: tr.Pipeline, where: str, expect: str) -> None:
    r = p.run(executor=LocalExecutor(max_workers=1), storage=where, progress=False)
    if set(r.status.values()) != {expect}:
        raise SystemExit(f"benchmark run not all {expect}: {collections.Counter(r.status.values())}")


def raw_write_us(folder: str, repeats: int = 2000) -> float:
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        tmp, final = f"{folder}/.tmp-{i}", f"{folder}/f{i}.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, b'{"n": 1}')
        os.close(fd)
        os.replace(tmp, final)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, p = args.nodes, chain(args.nodes)
    with tempfile.TemporaryDirectory() as tmp:
        run(chain(3), f"{tmp}/warmup", "completed")  # imports and first-run caches out of the figures
        for name in OPS:
            _wrap(os, name, "os." + name)
        _wrap(builtins, "open", "builtins.open")
        counts = {}
        for phase, expect in (("cold", "completed"), ("warm", "cached")):
            COUNTS.clear()
            run(p, f"{tmp}/counted", expect)
            counts[phase] = dict(COUNTS)
        for owner, name, real in UNWRAP:
            setattr(owner, name, real)
        cold, warm = [], []
        for i in range(args.repeats):
            t0 = time.perf_counter()
            run(p, f"{tmp}/timed{i}", "completed")
            t1 = time.perf_counter()
            run(p, f"{tmp}/timed{i}", "cached")
            cold.append(t1 - t0)
            warm.append(time.perf_counter() - t1)
        os.mkdir(f"{tmp}/raw")
        raw = raw_write_us(f"{tmp}/raw")
    print(f"disk ops: chain of {n} json cards, LocalExecutor(1), temp dir; load average {os.getloadavg()}")
    for phase, found in counts.items():
        # os.makedirs is shown but not summed: the os.mkdir/os.stat calls it makes are counted themselves.
        total = sum(v for (lab, _), v in found.items() if lab != "os.makedirs")
        node = sum(v for (lab, place), v in found.items() if place != "runs" and lab != "os.makedirs")
        print(f"\n{phase}: {total / n:.2f} ops/node in all, {node / n:.2f} without runs/ manifests")
        for label in sorted({lab for lab, _ in found}):
            parts = {place: v for (lab, place), v in found.items() if lab == label}
            detail = ", ".join(f"{place} {v / n:.2f}" for place, v in sorted(parts.items()))
            print(f"  {label:<15} {sum(parts.values()) / n:6.2f}   ({detail})")
    for phase, times in (("cold", cold), ("warm", warm)):
        us = statistics.median(times) / n * 1e6
        print(f"{phase}: {us:8.1f} µs/node = {us / raw:5.1f} x one raw atomic write ({raw:.1f} µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
