"""``tensorrag sweep PIPELINE SPACE.json --metric NODE.PORT.KEY``: run a pipeline over a space of configs.

The space file is a JSON object ``{"node.field": [values], ...}`` (JSON only: tensorrag does not
depend on PyYAML). Prints the results table and the best branch; ``--json`` prints
``{"run_id", "branches": [rows], "best"}``. Exit 1 when a branch failed, 2 on bad input.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorrag._json import load_json
from tensorrag.errors import ArgumentError, SweepError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from tensorrag.storage import ArtifactStore

__all__ = ["add_parser", "sweep"]


def add_parser(sub: Any, where: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``sweep`` command to the ``tensorrag`` subparsers."""
    p = sub.add_parser("sweep", help="run a pipeline over a space of configs and print the results table")
    p.add_argument("pipeline", help="path or fsspec URL of a _pipeline.json file")
    p.add_argument("space", help='a JSON file: {"node.field": [values], "node.field.key": [values], ...}')
    p.add_argument("--metric", default=None, metavar="NODE.PORT.KEY", help="what to score each branch by")
    p.add_argument("--mode", choices=["max", "min"], default="max", help="which end of the metric is best")
    p.add_argument("--search", choices=["grid", "random"], default="grid", help="every combination, or n draws")
    p.add_argument("--n", type=int, default=None, help="random search: how many branches")
    p.add_argument("--seed", type=int, default=None, help="random search: the seed")
    p.add_argument("--executor", default=None, help="local (default), process, modal, auto or a plugin")
    p.add_argument("--max-parallel", type=int, default=None, help="at most this many tasks at once")
    where(p)
    p.add_argument("--project", default=None, help="project folder of the runs (default: the pipeline's name)")
    p.add_argument("--module", action="append", default=[], metavar="NAME",
                   help="import this module so its cards can be used (repeatable)")
    p.add_argument("--no-cache", action="store_true", help="execute every branch even if cached")
    p.add_argument("--json", action="store_true", help="print the table and the best branch as JSON")


def read_space(path: str) -> dict[str, Any]:
    """The space in a JSON file.

    Raises:
        ArgumentError: a YAML file, or the file is not a JSON object.
        SpecError: the file is not valid JSON.
    """
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        raise ArgumentError(f"Space file {path!r}: tensorrag reads JSON space files (it does not depend on PyYAML); "
                            'write it as JSON: {"node.field": [values]}.')
    space = load_json(Path(path).read_bytes(), f"Space file {path!r}")
    if not isinstance(space, dict):
        raise SweepError(f'Space file {path!r} must hold a JSON object {{"node.field": [values]}}; got '
                         f"{type(space).__name__}.")
    return space


def sweep(args: argparse.Namespace, root: Callable[[], ArtifactStore]) -> int:
    """Run the ``sweep`` command; returns the exit code."""
    from tensorrag.cli._run import import_card_modules
    from tensorrag.pipeline import Pipeline

    space = read_space(args.space)
    cards = import_card_modules(args.module)
    p = Pipeline.load(args.pipeline)
    for cls in cards:
        p.register(cls, clobber=True)
    s = p.sweep(space, metric=args.metric, mode=args.mode, search=args.search, n=args.n, seed=args.seed)
    print(f"sweep of {p.name!r}: {len(s)} branches ({', '.join(s.keys)}), {len(s.shared_nodes)} shared node(s)",
          file=sys.stderr)
    result = s.run(executor=args.executor, max_parallel=args.max_parallel, storage=root(), user=args.user,
                   project=args.project, cache=not args.no_cache, progress=False, echo=False)
    table = result.table
    try:
        best = result.best if s.metrics else None
    except Exception as exc:  # no branch has a value: the table says why
        best, why = None, str(exc)
    else:
        why = ""
    if args.json:
        rows = [{"branch": int(i), **{k: _plain(v) for k, v in row.items()}} for i, row in table.iterrows()]
        doc = {"run_id": result.run.run_id, "branches": rows,
               "best": None if best is None else {"branch": best.index, "config": best.config, "metrics": best.metrics}}
        print(json.dumps(doc, default=str))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            print(table.to_string())
        if best is not None:
            values = ", ".join(f"{k}={v!r}" for k, v in best.config.items())
            print(f"best: branch {best.index} ({values}): {s.metrics[0].name} = {best.metrics[s.metrics[0].name]}")
        print(f"run {result.run.run_id}: {result.run.state}")
    if why:
        print(f"error: {why}", file=sys.stderr)
    bad = [b for b in result.branches if b.status not in ("completed", "cached")]
    for b in bad if args.json else ():
        print(f"branch {b.index} {b.status}: {b.error}", file=sys.stderr)
    return 1 if bad or why else 0


def _plain(value: Any) -> Any:
    """Table cells as JSON values (NaN: null; numpy scalars: Python ones)."""
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return None if isinstance(value, float) and math.isnan(value) else value
