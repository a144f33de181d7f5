"""Helpers for the import-race checks: a script whose root cards each do a first import, run in a fresh process.

Used by tests/executors/test_import_race.py and benchmarks/import_race.py. Each check runs in a
new interpreter, because a first import happens once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CIRCULAR_IMPORTS", "SKLEARN_IMPORTS", "Outcome", "race_script", "run_fresh", "write_circular_package"]

#: Four different scikit-learn submodules, each imported for the first time by its own card.
SKLEARN_IMPORTS = [
    "from sklearn.linear_model import LogisticRegression",
    "from sklearn.ensemble import RandomForestClassifier",
    "from sklearn.svm import SVC",
    "from sklearn.neighbors import KNeighborsClassifier",
]

#: A package with circular imports that is safe from any entry point in one thread, and races in two:
#: a thread importing ``circpkg.b`` runs ``core`` while the first thread is still in ``__init__``, then
#: waits for ``__init__``, which waits for ``core``; CPython breaks that deadlock by handing the
#: first thread the partial ``core`` (``cannot import name 'clone' from partially initialized module``).
_CIRCULAR = {
    "__init__.py": "import time\ntime.sleep(0.1)\nVERSION = 1\nfrom circpkg.core import clone\n",
    "core.py": "from circpkg import VERSION\n\n\ndef clone(x):\n    return x\n",
    "a.py": "from circpkg.core import clone\n",
    "b.py": "from circpkg.core import clone\n",
    "c.py": "from circpkg.core import clone\n",
    "d.py": "from circpkg.core import clone\n",
}

#: One card per entry point; the later ones start a little later, once ``__init__`` is running.
CIRCULAR_IMPORTS = [
    "from circpkg.a import clone",
    "time.sleep(0.03); from circpkg.b import clone",
    "time.sleep(0.03); from circpkg.c import clone",
    "time.sleep(0.03); from circpkg.d import clone",
]


def write_circular_package(root: Path) -> None:
    """Write the ``circpkg`` package (see ``_CIRCULAR``) under ``root``."""
    for name, text in _CIRCULAR.items():
        path = root / "circpkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


_TEMPLATE = """\
import sys
import time

import tensorrag as tr
from tensorrag.executors import LocalExecutor

{cards}

pipeline = tr.Pipeline("import-race")
for fn in ({names},):
    pipeline.add(fn)
t0 = time.perf_counter()
run = pipeline.run(executor=LocalExecutor(max_workers={workers}), storage=sys.argv[1], cache=False, progress=False)
elapsed = time.perf_counter() - t0
for node_id in pipeline.nodes:
    error = run.error(node_id)
    if error:
        print(f"{{node_id}}: {{error['type']}}: {{error['message']}}")
print(f"elapsed {{elapsed:.3f}}")
sys.exit(0 if run.ok else 1)
"""

_CARD = """\
@tr.card(category="data")
def race_{i}() -> dict:
    {statement}
    time.sleep({sleep})
    return {{"card": {i}}}
"""


def race_script(imports: list[str], *, sleep: float = 0.0) -> str:
    """A script with one root card per import statement, all run at once on a ``LocalExecutor``."""
    cards = "\n\n".join(_CARD.format(i=i, statement=s, sleep=sleep) for i, s in enumerate(imports))
    names = ", ".join(f"race_{i}" for i in range(len(imports)))
    return _TEMPLATE.format(cards=cards, names=names, workers=len(imports))


@dataclass
class Outcome:
    """One fresh process: its exit status and what it printed."""

    returncode: int
    output: str

    @property
    def elapsed(self) -> float | None:
        """The run's wall time the script printed (None if it died before)."""
        for line in self.output.splitlines():
            if line.startswith("elapsed "):
                return float(line.split()[1])
        return None


def run_fresh(
    script: Path,
    workdir: Path,
    *,
    runs: int,
    parallel: int = 2,
    pythonpath: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> list[Outcome]:
    """Run ``script`` in ``runs`` fresh interpreters (``parallel`` at a time), each with its own store."""
    base = dict(os.environ)
    base.update(env or {})
    paths = [p for p in (pythonpath, str(script.parent), base.get("PYTHONPATH")) if p]
    base["PYTHONPATH"] = os.pathsep.join(paths)

    def one(i: int) -> Outcome:
        proc = subprocess.run(
            [sys.executable, str(script), str(workdir / f"store{i}")],
            capture_output=True,
            text=True,
            env=base,
            timeout=timeout,
            check=False,
        )
        return Outcome(proc.returncode, (proc.stdout + proc.stderr)[-4000:])

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(runs)))


if __name__ == "__main__":  # pragma: no cover - a quick manual check
    print(textwrap.indent(race_script(SKLEARN_IMPORTS), "  "))
