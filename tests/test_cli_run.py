"""``tensorrag run`` options, driven through the real command in subprocesses against a temp storage root."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tensorrag as tr

REPO = Path(__file__).resolve().parents[1]

#: A module of function cards, imported by ``--module my_cards`` from the working directory.
MY_CARDS = '''\
import pandas as pd

import tensorrag as tr


@tr.card
def make(n: int = 3, scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"x": [i * scale for i in range(n)]})


@tr.card
def double(data: pd.DataFrame) -> pd.DataFrame:
    return data * 2


@tr.card(outputs={"report": "json"}, output_view_type="metrics")
def score(data: pd.DataFrame, bias: float = 0.0) -> dict:
    return {"total": float(data["x"].sum()) + bias, "rows": len(data)}


@tr.card(outputs={"count": "json"})
def count(data: pd.DataFrame, fail: bool = False) -> dict:
    if fail:
        raise ValueError("asked to fail")
    return {"rows": len(data)}
'''


def node(nid, card_type, **config):
    data = {"card_type": card_type, "config": config}
    return {"id": nid, "type": "cardNode", "position": {"x": 0, "y": 0}, "data": data}


def edge(source, target, out="output", inp="data"):
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": out, "targetHandle": inp,
            "data": {"source_output": out, "target_input": inp}}


#: make -> double -> score, and a side branch make -> count.
GRAPH = {
    "schema_version": 1,
    "nodes": [node("make", "make", n=4), node("double", "double"), node("score", "score"), node("count", "count")],
    "edges": [edge("make", "double"), edge("double", "score"), edge("make", "count")],
}


@pytest.fixture
def work(tmp_path):
    """A working directory holding my_cards.py and pipe.json, a storage root with project 'demo'."""
    (tmp_path / "my_cards.py").write_text(MY_CARDS)
    (tmp_path / "pipe.json").write_text(json.dumps(GRAPH))
    root = tmp_path / "root"
    tr.Workspace(root, user="alice").create_project("demo")
    return tmp_path


def tensorrag(work, *args, script=False):
    """Run the command in ``work`` with this checkout's code first on the path and the env settings cleared."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORRAG_", "S3_", "STORAGE_DIR"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    exe = [str(Path(sys.executable).with_name("tensorrag"))] if script else [sys.executable, "-m", "tensorrag.cli"]
    where = ["--storage", str(work / "root"), "--user", "alice"]
    return subprocess.run([*exe, *args, *where], capture_output=True, text=True, env=env, cwd=work, timeout=180,
                          check=False)


def one_line_error(proc):
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def projects(work):
    return sorted(p.name for p in (work / "root" / "alice" / "workspace").iterdir())


class TestProject:
    @pytest.mark.parametrize("with_file", [False, True])
    def test_a_mistyped_project_is_refused_with_did_you_mean_and_not_created(self, work, with_file):
        args = ["run", *(["pipe.json"] if with_file else []), "--project", "dmeo", "--module", "my_cards"]
        err = one_line_error(tensorrag(work, *args))
        assert "No project 'dmeo'" in err and "Did you mean 'demo'?" in err and "--create" in err
        assert projects(work) == ["demo"]

    def test_create_makes_it(self, work):
        proc = tensorrag(work, "run", "pipe.json", "--project", "fresh", "--create", "--module", "my_cards")
        assert proc.returncode == 0, proc.stderr
        assert "created project 'fresh'" in proc.stderr and projects(work) == ["demo", "fresh"]

    def test_the_console_script_runs_this_code(self, work):
        if not Path(sys.executable).with_name("tensorrag").exists():
            pytest.skip("no tensorrag console script next to this interpreter")
        err = one_line_error(tensorrag(work, "run", "--project", "dmeo", script=True))
        assert "Did you mean 'demo'?" in err and projects(work) == ["demo"]


class TestModuleAndOutputs:
    def test_module_cards_run_and_sink_outputs_are_printed(self, work):
        proc = tensorrag(work, "run", "pipe.json", "--module", "my_cards")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert 'score.report: {"total": 12.0, "rows": 4}' in lines  # (0+1+2+3) * 2
        assert 'count.count: {"rows": 4}' in lines
        assert not any(line.startswith(("make.", "double.")) for line in lines)  # not sinks

    @pytest.mark.parametrize("executor", ["local", "process"])
    def test_json_has_the_sink_outputs(self, work, executor):
        proc = tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--executor", executor, "--json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["status"] == "completed"
        assert doc["sink_outputs"] == {
            "score.report": {"type": "json", "value": {"total": 12.0, "rows": 4}},
            "count.count": {"type": "json", "value": {"rows": 4}},
        }

    def test_a_dataframe_sink_is_summarised(self, work):
        proc = tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--target", "double")
        assert proc.returncode == 0, proc.stderr
        assert "double.output: dataframe 4 rows x 1 cols" in proc.stdout.splitlines()

    def test_a_failed_node_is_named_with_its_error_and_the_other_sinks_still_print(self, work):
        proc = tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--param", "count.fail=true")
        assert proc.returncode == 1
        assert "node 'count' failed: ValueError: asked to fail" in proc.stderr
        assert 'score.report: {"total": 12.0, "rows": 4}' in proc.stdout.splitlines()

    def test_without_the_module_the_card_type_is_unknown(self, work):
        proc = tensorrag(work, "run", "pipe.json")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "[make] Unknown card type 'make'" in proc.stderr  # one line per problem

    @pytest.mark.parametrize(
        ("module", "words"),
        [("no_such_cards", "--module no_such_cards: cannot import it"), ("json", "--module json: it defines no card")],
    )
    def test_a_bad_module_is_one_line(self, work, module, words):
        assert words in one_line_error(tensorrag(work, "run", "pipe.json", "--module", module))


class TestParam:
    def test_overrides_apply_to_this_run_only(self, work):
        project = tr.Workspace(work / "root", user="alice").project("demo")
        project.save_pipeline(tr.Pipeline.from_dict(GRAPH, project=project))  # unknown types load; --module adds them
        saved = (work / "root/alice/workspace/demo/_pipeline.json").read_bytes()
        proc = tensorrag(work, "run", "--project", "demo", "--module", "my_cards", "--json",
                         "--param", "make.n=2", "--param", "make.scale=10", "--param", "score.bias=0.5")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["sink_outputs"]["score.report"]["value"] == {"total": 20.5, "rows": 2}  # (0 + 10) * 2 + 0.5
        ran = {n["id"]: n["data"]["config"] for n in doc["graph"]["nodes"]}
        assert ran["make"] == {"n": 2, "scale": 10} and ran["score"] == {"bias": 0.5}  # the manifest has what ran
        assert (work / "root/alice/workspace/demo/_pipeline.json").read_bytes() == saved  # not persisted

    def test_a_string_value_and_null_reset(self, work):
        proc = tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--json", "--param", "make.n=null")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["sink_outputs"]["count.count"]["value"] == {"rows": 3}  # n's default

    @pytest.mark.parametrize(
        ("param", "words"),
        [
            ("make.n=abc", "Invalid config for node 'make' (make): n:"),
            ("make.nn=1", "nn: is not a config field of this card"),
            ("mkae.n=1", "No node with id 'mkae'. Did you mean 'make'?"),
            ("make=1", "--param expects NODE.FIELD=VALUE"),
            ("make.n.deep=1", "'n' of node 'make' is not an object"),
        ],
    )
    def test_bad_overrides_are_one_line_and_nothing_runs(self, work, param, words):
        err = one_line_error(tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--param", param))
        assert words in err
        assert not (work / "root" / "alice" / "workspace" / "pipeline").exists()  # no run was recorded


class TestFrom:
    def statuses(self, proc):
        assert proc.returncode == 0, proc.stderr
        return {nid: n["status"] for nid, n in json.loads(proc.stdout)["nodes"].items()}

    def test_reruns_the_node_and_its_descendants_only(self, work):
        run = ("run", "pipe.json", "--module", "my_cards", "--json")
        assert set(self.statuses(tensorrag(work, *run)).values()) == {"completed"}
        assert set(self.statuses(tensorrag(work, *run)).values()) == {"cached"}
        assert self.statuses(tensorrag(work, *run, "--from", "double")) == {
            "make": "cached", "double": "completed", "score": "completed",  # the side branch 'count' is not run
        }
        assert self.statuses(tensorrag(work, *run, "--from", "double", "--from", "count")) == {
            "make": "cached", "double": "completed", "score": "completed", "count": "completed",
        }

    def test_with_a_target(self, work):
        run = ("run", "pipe.json", "--module", "my_cards", "--json")
        self.statuses(tensorrag(work, *run))
        assert self.statuses(tensorrag(work, *run, "--target", "score", "--from", "make")) == {
            "make": "completed", "double": "completed", "score": "completed",
        }
        err = one_line_error(tensorrag(work, *run, "--target", "count", "--from", "double"))
        assert "Cannot re-run node(s) 'double': not part of this run" in err

    def test_an_unknown_node_is_one_line(self, work):
        err = one_line_error(tensorrag(work, "run", "pipe.json", "--module", "my_cards", "--from", "dobule"))
        assert "No node with id 'dobule'. Did you mean 'double'?" in err
