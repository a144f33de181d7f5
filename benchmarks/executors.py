"""Executors compared in one run: per-task overhead, and bytes the orchestrator moves.

    python benchmarks/executors.py [--repeats 5] [--quick]

* overhead   a chain of 100 no-op cards on LocalExecutor(1) and ProcessExecutor(1) (workers
             warmed up first); figure: µs per task over plain Python calls of the same functions.
* bytes      a ~100 MB frame (1.3M rows x 10 random floats) produced by one card and read by the
             next, on the Modal executor behind the LocalProcessTransport seam (the real worker
             entry in another process): payload mode (local-disk store: artifacts travel in the
             call payloads) against URI mode (an S3-compatible server on 127.0.0.1 plus a secret:
             only URIs travel). Figure: artifact bytes carried through the orchestrator.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorrag as tr
from tensorrag.executors import LocalExecutor
from tensorrag.executors.process import ProcessExecutor


@tr.card
def b_source() -> dict:
    return {"n": 0}


@tr.card
def b_noop(x: dict, i: int = 0) -> dict:
    return x


@tr.card
def b_frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.standard_normal((rows, 10)), columns=[f"c{i}" for i in range(10)])


@tr.card
def b_rows(df: pd.DataFrame) -> dict:
    return {"rows": len(df)}


def chain(n: int) -> tr.Pipeline:
    p = tr.Pipeline("chain")
    p.add(b_source, id="n0")
    for i in range(1, n):
        p.add(b_noop, id=f"n{i}", i=i)
        p.connect(f"n{i - 1}", "output", f"n{i}", "x")
    return p


def overhead(repeats: int, tasks: int = 100) -> list[tuple[str, float]]:
    p = chain(tasks)

    def plain() -> None:
        x = b_source()
        for i in range(1, tasks):
            x = b_noop(x, i=i)

    t0 = time.perf_counter()
    for _ in range(repeats):
        plain()
    base = (time.perf_counter() - t0) / repeats
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, ex in (("local", LocalExecutor(1)), ("process", ProcessExecutor(1))):
            p.run(executor=ex, storage=os.path.join(tmp, "warm"), progress=False)  # start workers, import libraries
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                run = p.run(executor=ex, storage=os.path.join(tmp, uuid.uuid4().hex), progress=False)
                times.append(time.perf_counter() - t)
                assert run.ok, run.status
            ex.shutdown()
            rows.append((name, (statistics.median(times) - base) / tasks * 1e6))
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bytes_moved(rows: int) -> list[tuple[str, int, float]]:
    from moto.server import ThreadedMotoServer

    from tensorrag.executors.modal import LocalProcessTransport, ModalExecutor

    p = tr.Pipeline("bytes")
    p.add(b_frame, id="make", rows=rows)
    p.add(b_rows, id="count")
    p.connect("make", "output", "count", "df")
    out = []
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the S3 server's request log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # what the modal.Secret provides
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1").create_bucket(
            Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        with tempfile.TemporaryDirectory() as tmp:
            cases: list[tuple[str, Any, dict[str, Any], str | None]] = [
                ("payload (local disk)", tmp, {}, None),
                ("uri (S3 + secret)", "s3://bench/tr", {"client_kwargs": {"endpoint_url": endpoint}}, "s3-creds"),
            ]
            for name, storage, options, secret in cases:
                transport = LocalProcessTransport(max_workers=1)
                ex = ModalExecutor(transport=transport, secret=secret, poll=0.05, modules=["benchmarks", "__main__"])
                t = time.perf_counter()
                run = p.run(executor=ex, storage=storage, storage_options=options, progress=False)
                secs = time.perf_counter() - t
                assert run.ok, (run.status, run.error("make"), run.error("count"))
                moved = sum(c.get("artifact_bytes_in", 0) + c.get("result_artifact_bytes", 0) for c in transport.calls)
                transport.close()
                out.append((name, moved, secs))
    finally:
        server.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats, a 10 MB frame")
    args = parser.parse_args()
    repeats = 3 if args.quick else max(5, args.repeats)
    rows = 130_000 if args.quick else 1_300_000
    print(f"tensorrag {tr.__version__} executor benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'per-task overhead (100-card chain)':<40} {'µs/task':>10}")
    for name, us in overhead(repeats):
        print(f"  {name:<38} {us:>10.0f}")
    print(f"{f'bytes through the orchestrator ({rows * 80 / 1e6:.0f} MB frame)':<40} {'bytes':>14} {'seconds':>8}")
    for name, moved, secs in bytes_moved(rows):
        print(f"  {name:<38} {moved:>14,} {secs:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
