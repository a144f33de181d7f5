"""The peers tensorrag's chain and fan cases are compared with: plain Python, Hamilton, Dask, Kedro.

Every builder does its setup (generated modules, graphs, drivers, pipelines) once and returns a
zero-argument callable that runs the whole graph and returns the final value, so only the run is
timed. A peer that is not installed gives ``None``; the table prints :data:`MISSING` for it.
Install them with ``pip install tensorrag[bench]``. Imports are lazy: importing this module costs
nothing.

Shapes (the same work as the tensorrag pipelines in ``overhead.py``):

* chain: ``n0`` returns ``{"n": 0}``, then ``n1 .. n{n-1}`` each return their input.
* fan: ``src`` returns ``{"n": 0}``, ``f0 .. f{w-1}`` each return it, ``join`` sums their ``"n"``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import types
from collections.abc import Callable
from typing import Any

MISSING = "n/a (pip install tensorrag[bench])"
PEERS = ("plain", "hamilton", "dask", "kedro")

Runner = Callable[[], Any]


def source() -> dict:
    return {"n": 0}


def noop(x: dict) -> dict:
    return x


def join(*xs: dict) -> dict:
    return {"n": sum(x["n"] for x in xs)}


def bare_noop(i: int) -> int:
    """The no-op a bare process pool round-trips (module level, so a worker process can import it)."""
    return i


# ------------------------------------------------------------------ plain Python


def plain_chain(n: int) -> Runner:
    def run() -> dict:
        x = source()
        for _ in range(1, n):
            x = noop(x)
        return x

    return run


def plain_fan(width: int) -> Runner:
    def run() -> dict:
        x = source()
        return join(*[noop(x) for _ in range(width)])

    return run


# ------------------------------------------------------------------ Hamilton


def chain_module_source(n: int) -> str:
    """Python source of ``n`` Hamilton functions in a chain (Hamilton wires by parameter name)."""
    lines = ["def n0() -> dict:\n    return {'n': 0}\n"]
    lines += [f"def n{i}(n{i - 1}: dict) -> dict:\n    return n{i - 1}\n" for i in range(1, n)]
    return "\n".join(lines)


def fan_module_source(width: int) -> str:
    """Python source of ``src`` -> ``width`` functions -> ``join`` for Hamilton."""
    lines = ["def src() -> dict:\n    return {'n': 0}\n"]
    lines += [f"def f{i}(src: dict) -> dict:\n    return src\n" for i in range(width)]
    params = ", ".join(f"f{i}: dict" for i in range(width))
    total = " + ".join(f"f{i}['n']" for i in range(width))
    lines.append(f"def join({params}) -> dict:\n    return {{'n': {total}}}\n")
    return "\n".join(lines)


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # functions get __module__ == name
    sys.modules[name] = module  # Hamilton finds a module's functions through inspect.getmodule
    return module


def _hamilton(name: str, source: str, final: str) -> Runner | None:
    os.environ.setdefault("HAMILTON_TELEMETRY_ENABLED", "false")  # no network calls from a benchmark
    try:
        from hamilton import driver
    except ImportError:
        return None
    dr = driver.Builder().with_modules(_module(name, source)).build()  # sequential by default
    return lambda: dr.execute([final])[final]


def hamilton_chain(n: int) -> Runner | None:
    return _hamilton("bench_hamilton_chain", chain_module_source(n), f"n{n - 1}")


def hamilton_fan(width: int) -> Runner | None:
    return _hamilton("bench_hamilton_fan", fan_module_source(width), "join")


# ------------------------------------------------------------------ Dask


def _dask(graph: dict[str, Any], final: str, workers: int) -> Runner | None:
    try:
        import dask.threaded
    except ImportError:
        return None
    return lambda: dask.threaded.get(graph, final, num_workers=workers)


def dask_chain(n: int, workers: int) -> Runner | None:
    graph: dict[str, Any] = {"n0": (source,)}
    graph.update({f"n{i}": (noop, f"n{i - 1}") for i in range(1, n)})
    return _dask(graph, f"n{n - 1}", workers)


def dask_fan(width: int, workers: int) -> Runner | None:
    graph: dict[str, Any] = {"src": (source,)}
    graph.update({f"f{i}": (noop, "src") for i in range(width)})
    graph["join"] = (join, *[f"f{i}" for i in range(width)])
    return _dask(graph, "join", workers)


# ------------------------------------------------------------------ Kedro


@contextlib.contextmanager
def _quiet_kedro() -> Any:
    """Kedro configures rich logging on import and logs every node at INFO: keep the table readable."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level  # kedro's import adds a rich handler to the root logger
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        root.handlers[:] = handlers  # everyone else's logging stays where it was (not rich, not on stdout)
        root.setLevel(level)
        logging.getLogger("kedro").setLevel(logging.WARNING)


def _kedro(nodes: list[tuple[Callable[..., Any], list[str], str]], final: str) -> Runner | None:
    try:
        with _quiet_kedro():
            from kedro.io import DataCatalog
            from kedro.pipeline import node, pipeline
            from kedro.runner import SequentialRunner
    except ImportError:
        return None
    pipe = pipeline([node(fn, inputs or None, out, name=out) for fn, inputs, out in nodes])
    runner = SequentialRunner()

    def run() -> Any:
        catalog = DataCatalog()  # fresh per run: every node runs, outputs are MemoryDatasets
        out = runner.run(pipe, catalog)
        # Kedro 0.19 returns the free outputs' values, 1.x their datasets.
        value = out[final]
        return value.load() if hasattr(value, "load") else value

    return run


def kedro_chain(n: int) -> Runner | None:
    nodes: list[tuple[Callable[..., Any], list[str], str]] = [(source, [], "n0")]
    nodes += [(noop, [f"n{i - 1}"], f"n{i}") for i in range(1, n)]
    return _kedro(nodes, f"n{n - 1}")


def kedro_fan(width: int) -> Runner | None:
    nodes: list[tuple[Callable[..., Any], list[str], str]] = [(source, [], "src")]
    nodes += [(noop, ["src"], f"f{i}") for i in range(width)]
    nodes.append((join, [f"f{i}" for i in range(width)], "join"))
    return _kedro(nodes, "join")


# ------------------------------------------------------------------ all of them


def chain_peers(n: int, workers: int = 1) -> dict[str, Runner | None]:
    """Every peer's runner for an ``n``-chain (``None`` for one not installed)."""
    return {"plain": plain_chain(n), "hamilton": hamilton_chain(n), "dask": dask_chain(n, workers),
            "kedro": kedro_chain(n)}


def fan_peers(width: int, workers: int) -> dict[str, Runner | None]:
    """Every peer's runner for a 1 -> ``width`` -> 1 fan (``None`` for one not installed)."""
    return {"plain": plain_fan(width), "hamilton": hamilton_fan(width), "dask": dask_fan(width, workers),
            "kedro": kedro_fan(width)}
