"""tensorrag's overhead against plain Python and its peers, in one table, every baseline from the same run.

    python benchmarks/overhead.py [--repeats 7] [--quick]

Rows (targets are issue 10's; figures are medians of ``--repeats`` runs, at least 7):

* chain     500 no-op cards in a chain, 1 worker, ``memory://`` fresh per repeat, events and cache
            keys on; against a plain loop, Hamilton's sequential driver, Dask's threaded scheduler
            and Kedro's SequentialRunner, the systems alternating inside every round. Figure:
            tensorrag / Hamilton.
* fan       1 -> 200 -> 1 (the join card takes 200 inputs), tensorrag and Dask on 4 workers.
* sleep     200 cards sleeping 50 ms on 16 workers, over the ideal 13 waves x 50 ms.
* import    ``python -c "import tensorrag"`` minus ``python -c "pass"``, and the heavy modules it loads.
* build     add + connect + ``problems()`` per node, 5,000-node chain over 500-node chain.
* rerun     a fully cached re-run of 100 frame cards on local disk, as a share of the first run.
* disk      a 100-card json chain on a local folder, per node, against one raw atomic file write;
            and the filesystem metadata calls per node (``_fsops.count_fs_ops``).
* process   200 independent no-op cards on ``ProcessExecutor(2)`` against a warm bare
            ``ProcessPoolExecutor(2)`` round-tripping as many calls, per task.
* memory    RSS growth over consecutive 500-chain runs, each on a fresh ``memory://`` store.
* 10k       build time, run time and peak RSS added by a 10,000-node chain on ``memory://``.
* frame     a 1M x 10 float frame between two cards on local disk, against raw pyarrow parquet.

``memory`` and ``10k`` run in a fresh interpreter each (``--child``), so earlier cases' allocations do
not hide their growth. The peers come from ``pip install tensorrag[bench]``; a missing one is
reported as such. ``--quick`` keeps the shapes the targets are defined on and the >= 7 repeats of
chain, fan and import, and cuts the rest (3 repeats, a 100k-row frame, 20 memory runs).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the sibling modules, however this is run

import _peers
import build
import import_time
import numpy as np
import pandas as pd
from _fsops import count_fs_ops, raw_atomic_write
from _measure import interleaved, load, median_time, peak_rss_added, rss_bytes, timed
from _table import Row, duration, number, render

import tensorrag as tr
from tensorrag.executors import Executor, LocalExecutor
from tensorrag.executors.process import ProcessExecutor

MB = 1e6
LABELS = {"plain": "plain Python loop", "hamilton": "Hamilton sequential", "dask": "Dask threaded",
          "kedro": "Kedro SequentialRunner"}


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


# ------------------------------------------------------------------ pipelines and runs


def chain(n: int) -> tr.Pipeline:
    p = tr.Pipeline(f"chain-{n}")
    p.add(source, id="n0")
    for i in range(1, n):
        p.add(noop, id=f"n{i}", i=i)  # distinct configs: identical nodes would share a cache entry
        p.connect(f"n{i - 1}", "output", f"n{i}", "x")
    return p


def fan_out(width: int, card: Any = noop, joined: bool = False) -> tr.Pipeline:
    p = tr.Pipeline(f"fan-{width}")
    p.add(source, id="src")
    if joined:
        p.add(Join, id="join")
    for i in range(width):
        p.add(card, id=f"f{i}", i=i)
        p.connect("src", "output", f"f{i}", "x")
        if joined:
            p.connect(f"f{i}", "output", "join", f"x{i}")
    return p


def memory_url() -> str:
    return f"memory://bench-{uuid.uuid4().hex}"


def run_ok(p: tr.Pipeline, executor: int | Executor, storage: str | None = None) -> tr.Run:
    """Run ``p`` (an int is a LocalExecutor's worker count) with events on; stop the benchmark if it fails."""
    ex = LocalExecutor(max_workers=executor) if isinstance(executor, int) else executor
    where = storage or memory_url()
    run = p.run(executor=ex, storage=where, progress=False, on_event=lambda event: None)
    if not run.ok:
        failed = {node: state for node, state in run.status.items() if state not in ("completed", "cached")}
        first = next(iter(failed), None)
        raise SystemExit(
            f"benchmark pipeline {p.name!r} did not succeed on {where}: {len(failed)} node(s) not completed "
            f"({dict(list(failed.items())[:3])}); first error: {run.error(first) if first else None}. "
            "The timings would be meaningless: fix the run first."
        )
    return run


def per_node(seconds: float, nodes: int) -> str:
    return f"{duration(seconds)} ({number(seconds / nodes * 1e6)} µs/node)"


# ------------------------------------------------------------------ the cases


def versus_peers(case: str, p: tr.Pipeline, workers: int, peers: dict[str, Any], repeats: int) -> list[Row]:
    """tensorrag against every peer, interleaved; figure: tensorrag / Hamilton."""
    nodes = len(p)
    systems = {"tensorrag": lambda: run_ok(p, workers), **{k: fn for k, fn in peers.items() if fn}}
    for name, fn in systems.items():  # warm-up, and every peer computes the same answer
        got = fn()
        if name != "tensorrag" and got != {"n": 0}:
            raise SystemExit(f"the {LABELS[name]} peer of {case!r} returned {got!r}, expected {{'n': 0}}")
    med = interleaved(systems, repeats)
    ours = med["tensorrag"]
    ham = med.get("hamilton")
    rows = [Row(case, per_node(ours, nodes), f"Hamilton seq {per_node(ham, nodes)}" if ham else _peers.MISSING,
                ours / ham if ham else None, "×", 0.5, "figure: tensorrag / Hamilton")]
    for name in ("plain", "dask", "kedro"):
        label = LABELS[name] + (f" ({workers}w)" if name == "dask" else "")
        if name in med:
            rows.append(Row(f"  vs {name}", "", f"{label} {per_node(med[name], nodes)}", ours / med[name], "×"))
        else:
            rows.append(Row(f"  vs {name}", "", _peers.MISSING))
    return rows


def chain_case(repeats: int) -> list[Row]:
    return versus_peers("chain 500 no-op (1w)", chain(500), 1, _peers.chain_peers(500, workers=1), repeats)


def fan_case(repeats: int) -> list[Row]:
    p = fan_out(200, joined=True)
    return versus_peers("fan 1->200->1 (4w)", p, 4, _peers.fan_peers(200, workers=4), repeats)


def sleep_case(repeats: int) -> list[Row]:
    p = fan_out(200, card=nap)
    ideal = 13 * 0.05
    ours = median_time(lambda: run_ok(p, 16), repeats)
    return [Row("sleep 200x50ms (16w)", duration(ours), f"ideal {duration(ideal)}", (ours - ideal) * 1e3,
                "ms over", 10)]


def import_case(repeats: int) -> list[Row]:
    imported, bare, heavy = import_time.over_bare(repeats)
    banned = [m for m in import_time.MUST_BE_ABSENT if m in heavy]
    return [
        Row("import tensorrag", f"{number(imported)} ms", f'python -c "pass" {number(bare)} ms', imported - bare,
            "ms", 55),
        Row("  heavy after import", ", ".join(heavy) or "none", "absent: " + ", ".join(import_time.MUST_BE_ABSENT),
            len(banned), "loaded", 0),
    ]


def build_case(repeats: int) -> list[Row]:
    build.chain(50).problems()  # warm up: card classes loaded, schemas normalised
    small, large = build.measure(500, repeats), build.measure(5000, repeats)
    growth = large["per_node_us"] / small["per_node_us"]
    return [Row("build+problems 5k vs 500", f"{number(large['per_node_us'])} µs/node",
                f"500 nodes {number(small['per_node_us'])} µs/node", growth, "×", 2, "best of the repeats")]


def rerun_case(repeats: int) -> list[Row]:
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
            firsts.append(timed(lambda: run_ok(p, 4, tmp)))
            t0 = time.perf_counter()
            run = run_ok(p, 4, tmp)
            seconds.append(time.perf_counter() - t0)
            if set(run.status.values()) != {"cached"}:
                raise SystemExit(f"the rerun case's second run re-executed nodes: {run.status}")
    first, second = statistics.median(firsts), statistics.median(seconds)
    return [Row("rerun 100 cards (cached)", duration(second), f"first run {duration(first)}", second / first * 100,
                "%", 1)]


def raw_writes(folder: str, data: bytes, count: int) -> None:
    for _ in range(count):
        raw_atomic_write(folder, data)


def disk_case(repeats: int) -> list[Row]:
    p, nodes = chain(100), 100
    data = json.dumps({"n": 0}).encode()
    with tempfile.TemporaryDirectory() as tmp:
        run_ok(p, 1, os.path.join(tmp, "warm"))
        stores = iter(os.path.join(tmp, f"s{i}") for i in range(repeats + 1))
        ours = median_time(lambda: run_ok(p, 1, next(stores)), repeats) / nodes
        raw = median_time(lambda: raw_writes(tmp, data, 100), repeats) / 100
        with count_fs_ops() as raw_ops:
            raw_atomic_write(tmp, data)
        with count_fs_ops() as ops:
            run_ok(p, 1, os.path.join(tmp, "counted"))
    return [
        Row("disk json chain 100 (1w)", f"{number(ours * 1e6)} µs/node", f"raw atomic write {duration(raw)}",
            ours / raw, "× raw", None, "per node over one temp-write + os.replace"),
        Row("  fs metadata ops", f"{ops.total} ({nodes} nodes)", f"raw atomic write: {raw_ops.total} ops",
            ops.total / nodes, "ops/node", 3),
        Row("    by function", "", "", note=ops.top(6, per=nodes)),
        Row("    by tensorrag line", "", "", note=ops.top(5, per=nodes, sites=True)),
    ]


def process_case(repeats: int, tasks: int = 200) -> list[Row]:
    p = fan_out(tasks)
    calls = len(p)
    ex = ProcessExecutor(max_workers=2)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        try:
            run_ok(p, ex)  # warm: workers started, libraries imported
            list(pool.map(_peers.bare_noop, range(calls)))
            med = interleaved({"tensorrag": lambda: run_ok(p, ex),
                               "bare": lambda: list(pool.map(_peers.bare_noop, range(calls)))}, repeats)
        finally:
            ex.shutdown()
    ours, bare = med["tensorrag"] / calls, med["bare"] / calls
    return [Row(f"process {tasks} no-op (2 procs)", f"{number(ours * 1e6)} µs/task",
                f"bare ProcessPool {number(bare * 1e6)} µs/task", ours / bare, "×", 1.5, "memory:// store")]


def memory_child(runs: int) -> dict[str, Any]:
    p = chain(500)
    run_ok(p, 1)
    first, how = rss_bytes()
    for _ in range(runs - 1):
        run_ok(p, 1)
    last, _ = rss_bytes()
    return {"first": first, "last": last, "runs": runs, "how": how}


def memory_case(runs: int) -> list[Row]:
    out = child("memory", runs)
    grew = (out["last"] - out["first"]) / MB
    note = f"{out['how']}" + ("" if runs >= 100 else f"; {runs} runs only (--quick), the target is for 100")
    return [Row(f"memory {runs} x chain 500", f"after run {runs}: {number(out['last'] / MB)} MB",
                f"after run 1: {number(out['first'] / MB)} MB", grew, "MB", 20, note)]


def big_child() -> dict[str, Any]:
    run_ok(chain(5), 1)  # the first run's imports out of the timings
    t0 = time.perf_counter()
    p = chain(10_000)
    built = time.perf_counter() - t0
    with peak_rss_added() as mem:
        t0 = time.perf_counter()
        run_ok(p, 1)
        ran = time.perf_counter() - t0
    return {"build": built, "run": ran, **mem}


def big_case() -> list[Row]:
    out, n = child("big", 0), 10_000
    return [
        Row("10k chain build", duration(out["build"]), f"{number(out['build'] / n * 1e6)} µs/node", out["build"], "s",
            1),
        Row("10k chain run (1w)", duration(out["run"]), f"{number(out['run'] / n * 1e6)} µs/node", out["run"], "s",
            0.1),
        Row("10k chain peak RSS added", f"{number(out['added'] / MB)} MB",
            f"RSS before {number(out['before'] / MB)} MB", out["added"] / MB, "MB", 50, out["how"]),
    ]


def frame_case(repeats: int, rows: int) -> list[Row]:
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

        raw()  # warm the page cache and pyarrow's allocator alike for both
        med = interleaved({"raw": raw, "tensorrag": lambda: run_ok(p, 2, os.path.join(tmp, uuid.uuid4().hex))},
                          repeats)
    return [Row(f"frame {rows // 1000}k x 10 (extra)", duration(med["tensorrag"]),
                f"raw parquet {duration(med['raw'])}", med["tensorrag"] / med["raw"], "×", 1.15, "regression row")]


# ------------------------------------------------------------------ driver


def child(case: str, runs: int) -> dict[str, Any]:
    """Run ``case`` in a fresh interpreter (this script with ``--child``); its JSON result."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, "--runs", str(runs)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {case!r} case failed in its own process ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def plan(quick: bool, repeats: int) -> dict[str, Any]:
    """Repeats and sizes: at least 7 repeats where the issue asks for a median of 7, fewer elsewhere in quick."""
    many = max(7, repeats)
    few = 3 if quick else many
    return {"many": many, "few": few, "rows": 100_000 if quick else 1_000_000, "memory_runs": 20 if quick else 100}


def measure(quick: bool, repeats: int) -> list[Row]:
    cfg = plan(quick, repeats)
    run_ok(tr.Pipeline("warm"), 1)  # first-run imports out of the timings
    rows = chain_case(cfg["many"]) + fan_case(cfg["many"]) + sleep_case(cfg["few"]) + import_case(cfg["many"])
    rows += build_case(3) + rerun_case(cfg["few"]) + disk_case(cfg["few"]) + process_case(cfg["few"])
    rows += memory_case(cfg["memory_runs"]) + big_case() + frame_case(cfg["few"], cfg["rows"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="repeats per figure (at least 7)")
    parser.add_argument("--quick", action="store_true", help="3 repeats where the issue allows, smaller frame")
    parser.add_argument("--child", choices=["memory", "big"], help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(memory_child(args.runs) if args.child == "memory" else big_child()))
        return 0
    before, t0 = load(), time.perf_counter()
    rows = measure(args.quick, args.repeats)
    cfg = plan(args.quick, args.repeats)
    print(f"tensorrag {tr.__version__} ({os.path.dirname(tr.__file__)}) — Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load {before} before / {load()} after, {time.perf_counter() - t0:.0f} s")
    same = cfg["many"] == cfg["few"]
    print(f"median of {cfg['many']}" if same else
          f"--quick: median of {cfg['many']} (chain, fan, import), of {cfg['few']} (others)")
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
