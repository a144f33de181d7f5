"""Import-race benchmark: how many fresh processes fail when cards do their first imports at once.

Two pipelines, each run in N fresh interpreters (2 at a time), with the import guard
(tensorrag/cards/imports.py) off (``TENSORRAG_IMPORT_GUARD=false``: what main did) and on:

* ``sklearn``: four root ``@tr.card`` s, each importing a different scikit-learn submodule
  (``linear_model``, ``ensemble``, ``svm``, ``neighbors``), on ``LocalExecutor(max_workers=4)``.
* ``circular``: four cards importing entry points of a small package with circular imports
  (tests/executors/import_race.py: ``circpkg``), no third-party code.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/import_race.py`` (options: ``--runs 50``,
``--parallel 2``, ``--cases sklearn circular``). Prints ``failures/N`` per case and mode, and the
median run time of the guarded runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.executors.import_race import (
    CIRCULAR_IMPORTS,
    SKLEARN_IMPORTS,
    race_script,
    run_fresh,
    write_circular_package,
)

CASES = {"sklearn": SKLEARN_IMPORTS, "circular": CIRCULAR_IMPORTS}


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()
    print(f"{'case':<10} {'guard':<6} {'failures':>10} {'median s':>9}  first error")
    for case in args.cases:
        for guard in ("false", "true"):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                write_circular_package(root)
                script = root / "race.py"
                script.write_text(race_script(CASES[case]))
                outcomes = run_fresh(
                    script, root, runs=args.runs, parallel=args.parallel, env={"TENSORRAG_IMPORT_GUARD": guard}
                )
            failed = [o for o in outcomes if o.returncode != 0]
            times = [o.elapsed for o in outcomes if o.elapsed is not None]
            median = f"{statistics.median(times):.3f}" if times else "-"
            first = failed[0].output.strip().splitlines()[0][:90] if failed else ""
            label = "on" if guard == "true" else "off"
            print(f"{case:<10} {label:<6} {len(failed):>5}/{len(outcomes):<4} {median:>9}  {first}", flush=True)


if __name__ == "__main__":
    main()
