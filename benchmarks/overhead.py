"""Per-node overhead of tensorrag's engine + local executor, against plain Python, in one run.

    python benchmarks/overhead.py [--repeats 5] [--quick]

Prints one table. Every tensorrag figure is compared with a baseline measured in the same run:

* chain     500 no-op cards in a chain; baseline: the same 500 function calls in a loop.
* fan       1 -> 200 -> 1 no-op cards; baseline: the same 202 calls.
* sleep     200 cards sleeping 50 ms on 16 workers; baseline: the ideal 13 waves x 50 ms = 0.65 s.
* frame     a 1M x 10 float frame passed through two cards on local disk; baseline: a raw pyarrow
            parquet write + read of the same frame (Table.from_pandas, write_table, read_table, to_pandas).
* rerun     a 100-card pipeline (each card transforms a 20k-row frame, local disk) run once, then
            again unchanged (every node cached); the figure is rerun / first run.

Runs use ``memory://`` storage (fresh per repeat, so every node executes) except frame and rerun,
which use a temporary directory. Figures are medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import tensorrag as tr
from tensorrag.executors import LocalExecutor

if TYPE_CHECKING:
    from collections.abc import Callable

TARGETS = {"chain": 10.0, "fan": 10.0, "sleep": 15.0, "frame": 1.15, "rerun": 0.05}


@tr.card
def source() -> dict:
    return {"n": 0}


@tr.card
def noop(x: dict, i: int = 0) -> dict:
    return x


@tr.card
def nap(x: dict, i: int = 0) -> dict:
    time.sleep(0.05)
    return x


class Join(tr.BaseCard):
    """Join 200 json inputs (ports built at class creation)."""

    card_type = "bench_join"
    input_schema = {f"x{i}": "json" for i in range(200)}
    output_schema = {"out": "json"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        total = sum(storage.load_json(ref)["n"] for ref in inputs.values())
        return {"out": storage.save_json("", "", "out", {"n": total})}


_FRAME: dict[str, pd.DataFrame] = {}


@tr.card
def make_frame() -> pd.DataFrame:
    return _FRAME["df"]


@tr.card
def count_rows(df: pd.DataFrame) -> dict:
    return {"rows": len(df)}


@tr.card
def transform(df: pd.DataFrame, step: int = 0) -> pd.DataFrame:
    out = df.copy()
    out["a"] = out["a"] * 1.0001 + step
    return out.sort_values("b").reset_index(drop=True)


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_ok(p: tr.Pipeline, workers: int, storage: str | None = None) -> tr.Run:
    run = p.run(executor=LocalExecutor(max_workers=workers), storage=storage or f"memory://bench-{uuid.uuid4().hex}",
                progress=False)
    if not run.ok:
        raise SystemExit(f"benchmark pipeline failed: {run.status}")
    return run


def chain(n: int, repeats: int) -> tuple[float, float]:
    p = tr.Pipeline("chain")
    p.add(source, id="n0")
    for i in range(1, n):
        p.add(noop, id=f"n{i}", i=i)  # distinct configs: identical nodes would share a cache entry
        p.connect(f"n{i-1}", "output", f"n{i}", "x")

    def plain() -> None:
        x = source()
        for i in range(1, n):
            x = noop(x, i=i)

    base = median_time(plain, repeats)
    ours = median_time(lambda: run_ok(p, 1), repeats)
    return base, ours


def fan(width: int, repeats: int) -> tuple[float, float]:
    p = tr.Pipeline("fan")
    p.add(source, id="src")
    p.add(Join, id="join")
    for i in range(width):
        p.add(noop, id=f"f{i}", i=i)
        p.connect("src", "output", f"f{i}", "x")
        p.connect(f"f{i}", "output", "join", f"x{i}")

    def plain() -> None:
        x = source()
        outs = [noop(x, i=i) for i in range(width)]
        sum(o["n"] for o in outs)

    base = median_time(plain, repeats)
    ours = median_time(lambda: run_ok(p, 4), repeats)
    return base, ours


def sleep_fan(repeats: int) -> tuple[float, float]:
    p = tr.Pipeline("sleep")
    p.add(source, id="src")
    for i in range(200):
        p.add(nap, id=f"s{i}", i=i)
        p.connect("src", "output", f"s{i}", "x")
    ideal = 13 * 0.05
    ours = median_time(lambda: run_ok(p, 16), repeats)
    return ideal, ours


def frame_ratio(repeats: int, rows: int) -> tuple[float, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((rows, 10)), columns=[f"c{i}" for i in range(10)])
    _FRAME["df"] = df
    p = tr.Pipeline("frame")
    p.add(make_frame, id="make")
    p.add(count_rows, id="count")
    p.connect("make", "output", "count", "df")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "raw.parquet")

        def raw() -> None:
            pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
            pq.read_table(path).to_pandas()

        def ours() -> None:
            run_ok(p, 2, os.path.join(tmp, f"store-{uuid.uuid4().hex}"))

        raw()  # warm the page cache and pyarrow's allocator alike for both
        return median_time(raw, repeats), median_time(ours, repeats)


def rerun(repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    _FRAME["df"] = pd.DataFrame({"a": rng.standard_normal(20_000), "b": rng.standard_normal(20_000)})
    p = tr.Pipeline("rerun")
    p.add(make_frame, id="make")
    for i in range(100):
        p.add(transform, id=f"t{i}", step=i)
        p.connect("make" if i < 10 else f"t{i - 10}", "output", f"t{i}", "df")
    firsts, seconds = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run_ok(p, 4, tmp)
            firsts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run = run_ok(p, 4, tmp)
            seconds.append(time.perf_counter() - t0)
            assert set(run.status.values()) == {"cached"}
    return statistics.median(firsts), statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller frame (100k rows), 3 repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else max(5, args.repeats)
    rows = 100_000 if args.quick else 1_000_000
    run_ok(tr.Pipeline("warm"), 1)  # first-run imports out of the timings

    rows_out = []
    base, ours = chain(500, repeats)
    rows_out.append(("chain 500 no-op", f"{base * 1e3:.2f} ms", f"{ours * 1e3:.1f} ms",
                     (ours - base) / 500 * 1e6, "µs/node", "chain"))
    base, ours = fan(200, repeats)
    rows_out.append(("fan 1->200->1", f"{base * 1e3:.2f} ms", f"{ours * 1e3:.1f} ms",
                     (ours - base) / 202 * 1e6, "µs/node", "fan"))
    ideal, ours = sleep_fan(repeats)
    rows_out.append(("sleep 200x50ms/16w", f"{ideal:.3f} s ideal", f"{ours:.3f} s", (ours - ideal) * 1e3,
                     "ms over", "sleep"))
    raw, ours = frame_ratio(repeats, rows)
    rows_out.append((f"frame {rows // 1000}k x 10", f"{raw:.3f} s raw", f"{ours:.3f} s", ours / raw, "ratio",
                     "frame"))
    first, second = rerun(repeats)
    rows_out.append(("rerun 100 cards", f"{first:.3f} s first", f"{second:.3f} s", second / first, "ratio",
                     "rerun"))

    print(f"tensorrag {tr.__version__} overhead benchmark — Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, median of {repeats}")
    print(f"{'case':<20} {'baseline':>16} {'tensorrag':>12} {'figure':>10} {'unit':<8} {'target':>7}  ok")
    for name, base_s, ours_s, figure, unit, key in rows_out:
        target = TARGETS[key]
        ok = "yes" if figure <= target else "NO"
        print(f"{name:<20} {base_s:>16} {ours_s:>12} {figure:>10.3f} {unit:<8} {target:>7}  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
