"""``run(rerun=...)`` re-runs nodes and their descendants; ``run(save_pipeline=False)`` leaves the saved graph alone."""

import pandas as pd
import pytest

import tensorrag as tr


@tr.card
def make(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n)})


@tr.card
def double(data: pd.DataFrame) -> pd.DataFrame:
    return data * 2


@tr.card
def total(data: pd.DataFrame) -> dict:
    return {"total": int(data["x"].sum())}


def pipeline() -> tr.Pipeline:
    """make -> double -> total, and make -> side."""
    p = tr.Pipeline("rerun")
    for card in (make, double, total):
        p.register(card)
    p.add("make", id="make")
    p.add("double", id="double")
    p.add("total", id="total")
    p.add("total", id="side")
    p.connect("make", "double")
    p.connect("double", "total")
    p.connect("make", "side")
    return p


def test_rerun_forces_the_nodes_and_their_descendants_and_narrows_the_run(tmp_path):
    p = pipeline()
    assert p.run(storage=tmp_path).ok
    run = p.run(storage=tmp_path, rerun=["double"])
    assert run.status == {"make": "cached", "double": "completed", "total": "completed"}
    assert run.output("total") == {"total": 6}
    assert p.run(storage=tmp_path, rerun="side").status == {"make": "cached", "side": "completed"}  # a str: one node


def test_rerun_with_targets_and_errors(tmp_path):
    p = pipeline()
    assert p.run(storage=tmp_path).ok
    run = p.run(storage=tmp_path, targets=["total"], rerun=["make"])
    assert run.status == {"make": "completed", "double": "completed", "total": "completed"}
    with pytest.raises(tr.ArgumentError, match=r"Cannot re-run node\(s\) 'double': not part of this run"):
        p.run(storage=tmp_path, targets=["side"], rerun=["double"])
    with pytest.raises(tr.UnknownNodeError, match="Did you mean 'double'"):
        p.run(storage=tmp_path, rerun=["dubble"])


def test_resume_of_a_rerun_covers_the_same_nodes_without_forcing_them(tmp_path):
    p = pipeline()
    assert p.run(storage=tmp_path).ok
    again = p.run(storage=tmp_path, rerun=["double"]).resume()
    assert again.status == {"make": "cached", "double": "cached", "total": "cached"}


def test_save_pipeline_false_keeps_the_saved_graph(tmp_path):
    project = tr.Workspace(tmp_path).create_project("proj")
    p = pipeline()
    assert p.run(storage=tmp_path, project="proj").ok
    saved = project.load_pipeline().to_dict()
    p.configure("make", n=5)
    run = p.run(storage=tmp_path, project="proj", save_pipeline=False)
    assert run.output("side") == {"total": 10}
    assert project.load_pipeline().to_dict() == saved
    assert run.manifest()["graph"]["nodes"][0]["data"]["config"] == {"n": 5}  # the manifest has what ran
    p.run(storage=tmp_path, project="proj")
    assert project.load_pipeline().to_dict()["nodes"][0]["data"]["config"] == {"n": 5}
