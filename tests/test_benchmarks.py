"""The non-timing logic of benchmarks/overhead.py: the table, the filesystem op counter, the peers, run checks.

Nothing here asserts a timing: the benchmark's numbers are for people, its plumbing is for tests.
"""

from __future__ import annotations

import builtins
import io
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _peers  # noqa: E402
from _fsops import count_fs_ops, raw_atomic_write  # noqa: E402
from _table import Row, number, render  # noqa: E402

import tensorrag as tr  # noqa: E402


def test_verdict_is_yes_no_or_dash() -> None:
    assert Row("a", figure=0.4, unit="×", target=0.5).ok == "yes"
    assert Row("a", figure=0.5, unit="×", target=0.5).ok == "yes"
    assert Row("a", figure=0.6, unit="×", target=0.5).ok == "NO"
    assert Row("a", figure=None, unit="×", target=0.5).ok == "-"
    assert Row("a", figure=3.0, unit="×").ok == "-"


def test_numbers_keep_three_digits_and_no_exponent() -> None:
    assert [number(x) for x in (0, 0.0123, 0.5, 1.234, 12.345, 123.4, 4751.2, 0.00002)] == [
        "0", "0.0123", "0.5", "1.23", "12.3", "123", "4751", "0.00002",
    ]  # fmt: skip


def test_table_aligns_columns_and_marks_missing_figures() -> None:
    rows = [
        Row("chain", "275 ms", "Hamilton 7 ms", 38.8, "×", 0.5, "figure: tensorrag / Hamilton"),
        Row("  vs kedro", "", _peers.MISSING, None, "×"),
        Row("    by function", note="lstat 33"),
    ]
    lines = render(rows).splitlines()
    assert lines[0].split() == ["case", "tensorrag", "baseline", "(same", "run)", "figure", "target", "ok"]
    assert set(lines[1]) == {"-"}
    assert "38.8 ×" in lines[2] and "≤ 0.5 ×" in lines[2] and " NO " in lines[2]
    assert lines[2].endswith("figure: tensorrag / Hamilton")
    assert "n/a (pip install tensorrag[bench])" in lines[3] and " n/a " in lines[3]
    # every column starts at the same offset on every line
    assert lines[2].index("275 ms") == lines[0].index("tensorrag")
    assert lines[3].index(_peers.MISSING) == lines[0].index("baseline")
    assert lines[4].endswith("lstat 33") and "n/a" not in lines[4]


def test_fs_ops_count_each_call_once_at_the_os_level(tmp_path: Path) -> None:
    original_stat, original_open = os.stat, builtins.open
    with count_fs_ops(package=str(tmp_path)) as ops:
        os.path.exists(tmp_path)  # one os.stat, not two
        Path(tmp_path, "f").write_text("x")  # pathlib -> io.open
        with open(tmp_path / "g", "w") as fh:
            fh.write("contents are not counted")
        os.replace(tmp_path / "g", tmp_path / "h")
    assert ops.by_function == {"stat": 1, "open()": 2, "replace": 1}
    assert ops.total == 4
    assert os.stat is original_stat and builtins.open is original_open and io.open is original_open


def test_fs_ops_are_restored_after_an_error(tmp_path: Path) -> None:
    original = os.replace
    with pytest.raises(RuntimeError), count_fs_ops():
        raise RuntimeError("boom")
    assert os.replace is original


def test_fs_ops_name_the_calling_line(tmp_path: Path) -> None:
    with count_fs_ops(package=f"{os.sep}tests{os.sep}") as ops:
        os.path.isdir(tmp_path)
    (site,) = ops.by_site
    assert site.startswith("test_benchmarks.py:")
    assert ops.top(3, per=2) == "stat 0.50"


def test_raw_atomic_write_is_a_create_and_a_rename(tmp_path: Path) -> None:
    with count_fs_ops() as ops:
        raw_atomic_write(str(tmp_path), b'{"n": 0}')
    assert ops.by_function == {"open()": 1, "replace": 1}
    assert sorted(os.listdir(tmp_path)) == ["raw.json"]


def test_plain_and_dask_peers_compute_the_same_answer() -> None:
    pytest.importorskip("dask")
    for runner in (_peers.plain_chain(5), _peers.plain_fan(4), _peers.dask_chain(5, 1), _peers.dask_fan(4, 2)):
        assert runner is not None and runner() == {"n": 0}


@pytest.mark.parametrize("build", [lambda: _peers.hamilton_chain(5), lambda: _peers.hamilton_fan(4)])
def test_hamilton_peer_computes_the_same_answer(build) -> None:
    pytest.importorskip("hamilton")
    assert build()() == {"n": 0}


@pytest.mark.parametrize("build", [lambda: _peers.kedro_chain(5), lambda: _peers.kedro_fan(4)])
def test_kedro_peer_computes_the_same_answer(build) -> None:
    pytest.importorskip("kedro")
    assert build()() == {"n": 0}


def test_missing_peers_are_none_not_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("hamilton", "hamilton.driver", "dask", "dask.threaded", "kedro", "kedro.io", "kedro.pipeline",
                 "kedro.runner"):
        monkeypatch.setitem(sys.modules, name, None)  # a None entry makes the import raise ImportError
    for peers in (_peers.chain_peers(5), _peers.fan_peers(4, 2)):
        assert [name for name, runner in peers.items() if runner is None] == ["hamilton", "dask", "kedro"]
        assert peers["plain"]() == {"n": 0}


def test_quick_still_takes_seven_repeats_where_the_issue_asks() -> None:
    import overhead

    assert overhead.plan(quick=True, repeats=3)["many"] == 7
    assert overhead.plan(quick=True, repeats=3)["few"] == 3
    assert overhead.plan(quick=False, repeats=3)["few"] == 7
    assert overhead.plan(quick=False, repeats=9) == {"many": 9, "few": 9, "rows": 1_000_000, "memory_runs": 100}


@tr.card
def bench_broken(x: dict) -> dict:
    raise ValueError("broken on purpose")


def test_a_failed_benchmark_run_stops_with_the_node_and_its_error(tmp_path: Path) -> None:
    import overhead

    p = tr.Pipeline("broken")
    p.add(overhead.source, id="src")
    p.add(bench_broken, id="bad")
    p.connect("src", "output", "bad", "x")
    with pytest.raises(SystemExit) as info:
        overhead.run_ok(p, 1, str(tmp_path / "store"))
    message = str(info.value)
    assert "'broken'" in message and "bad" in message and "broken on purpose" in message


def test_a_missing_peer_is_reported_in_its_row_not_raised() -> None:
    import overhead

    peers = {"plain": _peers.plain_chain(5), "hamilton": None, "dask": None, "kedro": None}
    rows = overhead.versus_peers("chain 5", overhead.chain(5), 1, peers, repeats=1)
    assert [row.case for row in rows] == ["chain 5", "  vs plain", "  vs dask", "  vs kedro"]
    assert rows[0].baseline == _peers.MISSING and rows[0].figure is None and rows[0].ok == "-"
    assert rows[1].figure is not None and rows[1].figure > 0
    assert rows[2].baseline == rows[3].baseline == _peers.MISSING


def test_the_sweep_benchmark_runs_and_prints_its_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    # By path: the name "sweep" is tests/sweep's package when the whole suite runs.
    spec = importlib.util.spec_from_file_location("bench_sweep", BENCH / "sweep.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    assert bench.main(["--branches", "6", "--sleep", "0.001", "--parallel", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for case in ("build 6", "sweep 6 x 1 ms, p=2", "per branch, no-op x 6", "loop of p.run()", "load (1/5/15 min)"):
        assert case in out
