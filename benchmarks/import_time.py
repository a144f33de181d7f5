"""Wall time of ``import tensorrag`` over a bare interpreter, median of fresh processes.

    python benchmarks/import_time.py [--repeats 9]

Each repeat starts a new interpreter that times only ``import tensorrag`` (``time.perf_counter``
around the import, so interpreter start-up is not counted) and lists which heavy libraries the
import pulled in. One untimed warm-up run first writes the bytecode caches (``PYTHONDONTWRITEBYTECODE``
is dropped for the children), as a user's installed package has them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TARGET_MS = 55.0
#: Modules ``import tensorrag`` must never load (issue 10).
MUST_BE_ABSENT = ("numpy", "pandas", "fsspec", "pyarrow")
HEAVY = ("numpy", "pandas", "pyarrow", "fsspec", "pydantic", "networkx", "joblib", "tqdm", "regex")

_CHILD = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "import tensorrag\n"
    "ms = (time.perf_counter() - t) * 1000\n"
    f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
    "print(json.dumps([ms, heavy]))\n"
)


def child_env() -> dict[str, str]:
    """This process's environment, with bytecode caches allowed (an installed package has them)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def one_run(env: dict[str, str]) -> tuple[float, list[str]]:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, check=True)
    ms, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    return float(ms), list(heavy)


def wall_ms(code: str, env: dict[str, str]) -> float:
    """Milliseconds a fresh ``python -c code`` takes from start to exit (interpreter start-up included)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    return (time.perf_counter() - t0) * 1000


def over_bare(repeats: int) -> tuple[float, float, list[str]]:
    """Median wall ms of ``python -c "import tensorrag"`` and of ``python -c "pass"``, and the heavy modules.

    The two commands alternate, so a burst of machine load lands on both; one warm-up run first.
    """
    env = child_env()
    _, heavy = one_run(env)  # warm-up: compiles and caches bytecode
    imports, bares = [], []
    for _ in range(max(7, repeats)):
        imports.append(wall_ms("import tensorrag", env))
        bares.append(wall_ms("pass", env))
    return statistics.median(imports), statistics.median(bares), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="fresh processes to time (at least 7)")
    args = parser.parse_args()
    env = child_env()
    one_run(env)  # warm-up: compiles and caches bytecode
    runs = [one_run(env) for _ in range(max(7, args.repeats))]
    times = sorted(ms for ms, _ in runs)
    heavy = sorted({name for _, names in runs for name in names})
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET_MS else "OVER"
    print(
        f"import tensorrag: median {median:.1f} ms over {len(times)} fresh processes "
        f"(min {times[0]:.1f}, max {times[-1]:.1f}; target <= {TARGET_MS:.0f} ms: {verdict}); "
        f"heavy modules loaded: {', '.join(heavy) or 'none'}"
    )


if __name__ == "__main__":
    main()
