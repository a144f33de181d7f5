"""Everything a sweep can get wrong is refused before anything runs, with a typed error that says the fix."""

from __future__ import annotations

import pytest

import tensorrag as tr
from tensorrag.errors import PipelineValidationError, SweepError, UnknownSweepFieldError
from tests.sweep import cards as C


def pipe() -> tr.Pipeline:
    p = tr.Pipeline("checks")
    p.add(C.source, id="src")
    p.add(C.score, id="fit", hp={"alpha": 1})
    p.add(C.summarise, id="sum")
    p.connect("src", "data", "fit", "data")
    p.connect("fit", "report", "sum", "report")
    return p


@pytest.mark.parametrize(("space", "words"), [
    ({"fti.lr": [1]}, "Sweep 'fti.lr': pipeline 'checks' has no node 'fti'. Did you mean 'fit'?"),
    ({"fit.lrr": [1]}, "Sweep 'fit.lrr': node 'fit' (score) has no config field 'lrr'. Did you mean 'lr'?"),
    ({"fit.lr.x": [1]}, "field 'lr' of node 'fit' is not an object"),
])
def test_unknown_nodes_and_fields_get_did_you_mean(space, words):
    with pytest.raises(SweepError) as info:
        pipe().sweep(space)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError) and info.value.key == next(iter(space))
    if "has no" in words:
        assert isinstance(info.value, UnknownSweepFieldError) and isinstance(info.value, KeyError)


@pytest.mark.parametrize(("space", "kwargs", "words"), [
    ({}, {}, "The sweep space is empty"),
    ([("fit.lr", [1])], {}, "must be a dict"),
    ({"fit": [1]}, {}, "'node.field' strings"),
    ({"fit.lr": []}, {}, "has no values"),
    ({"fit.lr": 0.1}, {}, "give a list of values (e.g. [0.1])"),
    ({"fit.lr": "0.1"}, {}, "give a list of values"),
    ({"fit.lr": {0.1, 0.2}}, {}, "a set has no order"),
    ({"fit.lr": lambda rng: rng.random()}, {}, "needs search='random'"),
    ({"fit.hp": [{}], "fit.hp.alpha": [1]}, {}, "set the same config field"),
    ({"fit.lr": [1]}, {"search": "bayes"}, "search must be 'grid' or 'random'"),
    ({"fit.lr": [1]}, {"search": "random"}, "needs n, a positive number"),
    ({"fit.lr": [1]}, {"n": 3}, "n=3 is for search='random'"),
    ({"fit.lr": [1]}, {"mode": "maximize"}, "mode must be 'max' or 'min'"),
    ({"fit.lr": ["fast"]}, {}, "branch 0 (fit.lr='fast'): [fit.lr]"),
])
def test_bad_spaces_and_options(space, kwargs, words):
    with pytest.raises(SweepError) as info:
        pipe().sweep(space, **kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize(("metric", "error", "words"), [
    (("fti", "report", "loss"), UnknownSweepFieldError, "has no node 'fti'. Did you mean 'fit'?"),
    (("fit", "reprot", "loss"), UnknownSweepFieldError,
     "node 'fit' has no output port 'reprot'. Did you mean 'report'?"),
    ("fit.reprot.loss", UnknownSweepFieldError, "Did you mean 'report'?"),
    (("src", "data", "n"), SweepError, "node 'src' is not downstream of any swept field"),
    (("fit",), SweepError, "A metric is (node, port, key)"),
    ([("fit", "report", "loss"), "fit.report.loss"], SweepError, "named twice"),
])
def test_bad_metrics(metric, error, words):
    with pytest.raises(error) as info:
        pipe().sweep({"fit.lr": [0.1]}, metric=metric)
    assert words in str(info.value)


def test_an_invalid_pipeline_is_refused_and_nothing_runs(tmp_path):
    p = pipe()
    p.disconnect("src", "data", "fit", "data")
    with pytest.raises(PipelineValidationError):
        p.sweep({"fit.lr": [0.1]})
    sweep = pipe().sweep({"fit.lr": [0.1]})
    with pytest.raises(SweepError, match="max_parallel must be a positive int"):
        sweep.run(storage=tmp_path, max_parallel=0)
    with pytest.raises(tr.ArgumentError, match="Did you mean 'max_parallel'"):
        sweep.run(storage=tmp_path, max_paralel=2)
    assert not list(tmp_path.rglob("runs/*.json"))  # nothing ran


def test_nested_fields_dotted_node_ids_and_metric_strings(tmp_path):
    p = tr.Pipeline("dots")
    p.add(C.source, id="src.v1")
    p.add(C.score, id="fit.v1", hp={"alpha": 1, "beta": 2})
    p.connect("src.v1", "data", "fit.v1", "data")
    sweep = p.sweep({"fit.v1.hp.alpha": [1, 2], "src.v1.n": [2]}, metric="fit.v1.report.nested.k")
    assert sweep.keys == ["fit.v1.hp.alpha", "src.v1.n"] and sweep.branch_nodes == ["src.v1", "fit.v1"]
    result = sweep.run(storage=tmp_path, echo=False)
    assert result.ok
    assert result.branches[1].output("fit.v1")["lr"] == 0.1
    assert list(result.table["fit.v1.report.nested.k"]) == [0.2, 0.2]
    assert result.best_pipeline.node("fit.v1").config["hp"] == {"alpha": 1, "beta": 2}  # other keys kept
    assert result.sweep.expanded.node("fit.v1:1").config["hp"] == {"alpha": 2, "beta": 2}
