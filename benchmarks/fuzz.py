"""The long fuzz run of tests/test_fuzz.py: many examples per property, then a table of cases and the slowest call.

    python benchmarks/fuzz.py --examples 3000      # 7 properties x 3000 examples, ~10 calls each

Each property checks that a public call succeeds or raises a TensorragError within 5 s; any other
exception or a hang fails it (pytest shows the shrunk input). Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz suite with ``--examples`` per property and print the statistics."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=3000, help="examples per property (default 3000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = Path(tmp) / "stats.json"
        env = {**os.environ, "TENSORRAG_FUZZ_EXAMPLES": str(args.examples), "TENSORRAG_FUZZ_STATS": str(stats_path)}
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short", "tests/test_fuzz.py"],
            cwd=ROOT, env=env, check=False,
        )
        wall = time.perf_counter() - start
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    print(f"\n{'property':<18} {'examples':>8} {'calls':>8} {'typed errors':>12} {'slowest call (s)':>16}")
    for name, s in sorted(stats.items()):
        print(f"{name:<18} {args.examples:>8} {s['cases']:>8} {s['typed_errors']:>12} {s['slowest_s']:>16.3f}")
    calls = sum(s["cases"] for s in stats.values())
    slowest = max((s["slowest_s"] for s in stats.values()), default=0.0)
    print(f"{'total':<18} {args.examples * len(stats):>8} {calls:>8} "
          f"{sum(s['typed_errors'] for s in stats.values()):>12} {slowest:>16.3f}")
    print(f"untyped exceptions / hangs: {'0' if proc.returncode == 0 else 'see the failures above'}; wall {wall:.0f} s")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
