"""First imports from card threads never race (issue 8 §2), for any package, without serialising the work.

Each check runs its cards in fresh interpreters (a first import happens once per process): see
tests/executors/import_race.py. benchmarks/import_race.py runs the same checks 50 times.
"""

from __future__ import annotations

import sys
import textwrap
import threading

import pytest

import tensorrag as tr
from tensorrag.cards import imports
from tensorrag.executors import LocalExecutor
from tests.executors.import_race import (
    CIRCULAR_IMPORTS,
    SKLEARN_IMPORTS,
    race_script,
    run_fresh,
    write_circular_package,
)


def _failures(outcomes):
    return [o.output for o in outcomes if o.returncode != 0]


def test_sklearn_submodules_imported_by_four_cards_at_once_never_race(tmp_path):
    pytest.importorskip("sklearn")
    script = tmp_path / "race.py"
    script.write_text(race_script(SKLEARN_IMPORTS))
    outcomes = run_fresh(script, tmp_path, runs=8, parallel=2)
    assert _failures(outcomes) == [], "\n---\n".join(_failures(outcomes))


def test_any_package_with_circular_imports_is_safe(tmp_path):
    # Without the guard every run of this package fails (benchmarks/import_race.py shows it).
    write_circular_package(tmp_path)
    script = tmp_path / "race.py"
    script.write_text(race_script(CIRCULAR_IMPORTS))
    outcomes = run_fresh(script, tmp_path, runs=4, parallel=2)
    assert _failures(outcomes) == [], "\n---\n".join(_failures(outcomes))


def test_cards_real_work_stays_parallel(tmp_path):
    write_circular_package(tmp_path)
    script = tmp_path / "race.py"
    script.write_text(race_script(CIRCULAR_IMPORTS, sleep=0.5))
    (outcome,) = run_fresh(script, tmp_path, runs=1)
    assert outcome.returncode == 0, outcome.output
    assert outcome.elapsed is not None and outcome.elapsed < 2.0, outcome.output  # serialised: >= 2 s


def test_module_that_starts_an_importing_thread_does_not_deadlock(tmp_path):
    # The thread a module starts is not a card thread, so it never waits for the guard its starter holds.
    (tmp_path / "spawner.py").write_text(
        textwrap.dedent(
            """
            import threading

            def _work():
                import spawned_child

            t = threading.Thread(target=_work)
            t.start()
            t.join()
            """
        )
    )
    (tmp_path / "spawned_child.py").write_text("VALUE = 1\n")
    script = tmp_path / "race.py"
    script.write_text(race_script(["import spawner", "time.sleep(0.03); import json, spawned_child"]))
    (outcome,) = run_fresh(script, tmp_path, runs=1, timeout=60)  # a deadlock would hit the timeout
    assert outcome.returncode == 0, outcome.output


def test_guard_disabled_by_setting(tmp_path):
    write_circular_package(tmp_path)
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\nfrom tensorrag.cards import imports\nprint(imports.install())\n"
        "print(imports._bootstrap._find_and_load is imports._find_and_load)\n"
    )
    for value, expected in (("false", "False\nFalse"), ("true", "True\nTrue")):
        (outcome,) = run_fresh(probe, tmp_path, runs=1, env={"TENSORRAG_IMPORT_GUARD": value})
        assert outcome.returncode == 0, outcome.output
        assert outcome.output.strip() == expected


def test_a_card_run_installs_the_guard_and_releases_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "guard_probe_mod.py").write_text("VALUE = 41\n")

    @tr.card(category="data")
    def guard_probe() -> dict:
        import guard_probe_mod

        return {"value": guard_probe_mod.VALUE + 1}

    p = tr.Pipeline("guard-probe")
    p.add(guard_probe, id="g")
    run = p.run(executor=LocalExecutor(max_workers=2), storage=tmp_path / "store", cache=False, progress=False)
    assert run.ok, run.error("g")
    assert run.output("g")["value"] == 42
    assert imports._bootstrap._find_and_load is imports._find_and_load
    # Nobody holds the guard after the run: another thread can take it at once.
    taken: list[bool] = []

    def take() -> None:
        taken.append(imports._lock.acquire(timeout=5))
        imports._lock.release()

    t = threading.Thread(target=take)
    t.start()
    t.join()
    assert taken == [True]


def test_import_error_inside_a_card_fails_the_node_and_frees_the_guard(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "guard_broken_mod.py").write_text("raise ValueError('broken at import')\n")
    (tmp_path / "guard_fine_mod.py").write_text("VALUE = 1\n")

    @tr.card(category="data")
    def guard_broken() -> dict:
        import guard_broken_mod  # noqa: F401

        return {}

    @tr.card(category="data")
    def guard_fine() -> dict:
        import guard_fine_mod

        return {"value": guard_fine_mod.VALUE}

    p = tr.Pipeline("guard-broken")
    p.add(guard_broken, id="bad")
    p.add(guard_fine, id="good")
    run = p.run(executor=LocalExecutor(max_workers=2), storage=tmp_path / "store", cache=False, progress=False)
    assert run.error("bad")["message"] == "broken at import"
    assert run.output("good")["value"] == 1
    assert "guard_broken_mod" not in sys.modules


def test_heavy_imports_still_works():
    with tr.cards.heavy_imports():
        import json

        with tr.cards.heavy_imports():  # re-entrant
            import csv
    assert json.dumps([1]) == "[1]" and csv.QUOTE_ALL
