"""Random search and max_parallel: 50 branches at most 8 at once, on a named executor and on an instance."""

from __future__ import annotations

import random

import pytest

import tensorrag as tr
from tensorrag.executors.local import LocalExecutor
from tests.sweep import cards as C


@pytest.fixture(autouse=True)
def _fresh():
    C.reset()
    yield
    C.RELEASE.set()


def pipe() -> tr.Pipeline:
    p = tr.Pipeline("par")
    p.add(C.source, id="src")
    p.add(C.score, id="fit", sleep=0.02)
    p.connect("src", "data", "fit", "data")
    return p


def test_a_random_search_of_50_branches_runs_at_most_8_at_once(tmp_path):
    sweep = pipe().sweep({"fit.lr": lambda rng: rng.uniform(0, 1), "fit.sleep": [0.02, 0.03]},
                         search="random", n=50, seed=7, metric=("fit", "report", "loss"), mode="min")
    result = sweep.run(executor="local", max_parallel=8, storage=tmp_path, echo=False)
    assert result.ok and len(result.table) == 50 and set(result.table["status"]) == {"completed"}
    assert C.ACTIVE["calls"] == 50
    assert 1 < C.ACTIVE["max"] <= 8  # overlapping, never more than max_parallel
    best = result.best
    assert best.metrics["fit.report.loss"] == result.table["fit.report.loss"].min()
    assert best.config["fit.lr"] == pytest.approx(min(result.table["fit.lr"], key=lambda v: (v - 0.3) ** 2))


def test_the_same_seed_draws_the_same_branches_and_a_distribution_draws_too():
    space = {"fit.lr": lambda rng: round(rng.uniform(0, 1), 6), "fit.sleep": [0.0, 0.01]}
    first = pipe().sweep(space, search="random", n=5, seed=3).configs
    assert first == pipe().sweep(space, search="random", n=5, seed=3).configs
    assert first != pipe().sweep(space, search="random", n=5, seed=4).configs
    rng = random.Random(3)
    assert first[0]["fit.lr"] == round(rng.uniform(0, 1), 6)  # a callable gets a random.Random

    class Uniform:  # scipy.stats-like: anything with rvs(random_state=...)
        def rvs(self, random_state=None):
            import numpy as np

            return np.random.default_rng(random_state).uniform(0.0, 0.5)

    drawn = pipe().sweep({"fit.lr": Uniform()}, search="random", n=4, seed=0).configs
    assert all(type(c["fit.lr"]) is float and 0 <= c["fit.lr"] < 0.5 for c in drawn)  # numpy float -> float


def test_max_parallel_bounds_an_executor_instance_too(tmp_path):
    exe = LocalExecutor(max_workers=16)
    sweep = pipe().sweep({"fit.lr": [i / 20 for i in range(12)]})
    result = sweep.run(executor=exe, max_parallel=3, storage=tmp_path, echo=False)
    assert result.ok and C.ACTIVE["calls"] == 12
    assert 1 < C.ACTIVE["max"] <= 3
    exe.shutdown()
