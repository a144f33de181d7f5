import json
import os
import subprocess
import sys
import uuid

import pytest

import tensorrag as tr
from tensorrag.cli import main
from tensorrag.demo import build


def test_cards_lists_builtins(capsys):
    assert main(["cards"]) == 0
    out = capsys.readouterr().out
    assert "data_split" in out and "dataset:dataframe -> train_dataset:dataframe" in out


def test_cards_json_is_card_schema(capsys):
    assert main(["cards", "--json"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert {s["card_type"] for s in schemas} >= {"data_load", "train", "evaluate"}
    assert set(schemas[0]) == {
        "card_type", "display_name", "description", "category", "execution_mode",
        "config_schema", "input_schema", "output_schema", "output_view_type",
    }


def test_run_a_saved_pipeline(tmp_path, capsys):
    path = tmp_path / "p.json"
    build().save(path)
    assert main(["run", str(path), "--storage", str(tmp_path / "store"), "--target", "split"]) == 0
    captured = capsys.readouterr()
    assert "split" in captured.out and "completed" in captured.out
    assert "\ntrain " not in captured.out  # only split and what it needs ran
    assert "load: completed" in captured.err  # progress goes to stderr


def test_failed_run_exits_1_and_names_the_node(tmp_path, capsys):
    p = tr.Pipeline("bad")
    p.add("data_load", id="load", source="csv", path=str(tmp_path / "missing.csv"))
    path = tmp_path / "bad.json"
    p.save(path)
    assert main(["run", str(path), "--storage", str(tmp_path / "store"), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["nodes"]["load"]["status"] == "failed"
    assert "node 'load' failed" in captured.err


def test_missing_file_is_a_message_not_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tensorrag.cli", "run", str(tmp_path / "nope.json")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- projects, cards, validate, runs

CARD = '''\
from tensorrag import BaseCard


class Make(BaseCard):
    card_type = "make"
    display_name = "Make"
    description = "Emit n * 2"
    category = "data"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {"n": {"type": "integer", "default": 3}}
    output_schema = {"value": "json"}

    def execute(self, config, inputs, storage):
        if config["n"] < 0:
            raise ValueError("n must not be negative")
        value = {"value": config["n"] * 2}
        return {"value": storage.save_json(config["_pipeline_id"], config["_node_id"], "value", value)}
'''

BAD_CARD = '''\
from tensorrag import BaseCard


class Bad(BaseCard):
    card_type = "bad card"
    display_name = "Bad"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
'''


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A storage root with user 'alice' and project 'p' holding the 'make' card; env settings cleared."""
    for name in list(os.environ):
        if name.startswith(("TENSORRAG_", "S3_", "STORAGE_DIR", "DEFAULT_USER_ID")):
            monkeypatch.delenv(name)
    path = tmp_path / "root"
    proj = tr.Workspace(path, user="alice").create_project("p")
    assert proj.write_card("gen/make.py", CARD).success
    return str(path)


def where(root):
    return ["--storage", root, "--user", "alice"]


class TestValidate:
    def test_valid_card(self, tmp_path, capsys):
        path = tmp_path / "make.py"
        path.write_text(CARD)
        assert main(["validate", str(path)]) == 0
        out = capsys.readouterr().out
        assert f"{path}: ok (card_type 'make')" in out
        assert f"{path}:4: warning: Missing method: get_output_preview()" in out

    def test_invalid_card_lists_errors_with_lines_and_exits_1(self, tmp_path, capsys):
        good, bad = tmp_path / "good.py", tmp_path / "bad.py"
        good.write_text(CARD)
        bad.write_text(BAD_CARD)
        assert main(["validate", str(good), str(bad)]) == 1
        out = capsys.readouterr().out
        assert f"{bad}:4: error: Missing required attribute: description" in out
        assert f"{bad}:4: error: Missing required method: execute()" in out
        assert f"{bad}:5: error: card_type 'bad card' must be a valid Python identifier" in out
        assert f"{bad}: invalid (3 errors)" in out and f"{good}: ok" in out

    def test_json(self, tmp_path, capsys):
        good, bad = tmp_path / "good.py", tmp_path / "bad.py"
        good.write_text(CARD)
        bad.write_text(BAD_CARD)
        assert main(["validate", "--json", str(good)]) == 0
        one = json.loads(capsys.readouterr().out)
        assert one["path"] == str(good) and one["success"] is True
        assert one["extracted_schema"]["output_schema"] == {"value": "json"}
        assert main(["validate", "--json", str(good), str(bad)]) == 1
        both = json.loads(capsys.readouterr().out)
        assert [d["success"] for d in both] == [True, False]
        assert {"line": 5, "severity": "error"}.items() <= both[1]["errors"][-1].items()

    def test_missing_file(self, tmp_path, capsys):
        assert main(["validate", str(tmp_path / "nope.py")]) == 2
        assert capsys.readouterr().err.startswith("error:")

    def test_never_executes_the_file(self, tmp_path, capsys):
        marker = tmp_path / "ran"
        path = tmp_path / "probe.py"
        path.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n" + CARD)
        assert main(["validate", str(path)]) == 0
        assert not marker.exists()


class TestProjectsCardsRuns:
    def test_projects(self, root, capsys):
        tr.Workspace(root, user="alice").create_project("another one")
        assert main(["projects", *where(root)]) == 0
        assert capsys.readouterr().out.splitlines() == ["another one", "p"]
        assert main(["projects", "--json", *where(root)]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [d["name"] for d in listed] == ["another one", "p"]
        assert listed[1]["url"].endswith("/alice/workspace/p")
        assert main(["projects", "--storage", root, "--user", "nobody"]) == 0
        captured = capsys.readouterr()
        assert captured.out == "" and "no projects" in captured.err

    def test_cards_of_a_project(self, root, capsys):
        project = tr.Workspace(root, user="alice").project("p")
        project.store.write_bytes("cards/bad.py", BAD_CARD.encode())
        assert main(["cards", "--project", "p", *where(root)]) == 0
        captured = capsys.readouterr()
        assert "make" in captured.out and "[gen/make.py]" in captured.out and "data_split" in captured.out
        assert "card file bad.py:4: not registered: Missing required attribute: description" in captured.err
        assert main(["cards", "--project", "p", "--json", *where(root)]) == 0
        schemas = {s["card_type"]: s for s in json.loads(capsys.readouterr().out)}
        assert schemas["make"]["path"] == "gen/make.py" and "path" not in schemas["data_split"]
        assert main(["cards"]) == 0
        assert "make" not in capsys.readouterr().out.split()  # project cards are not global

    def test_run_a_file_with_project_cards_then_list_runs(self, root, tmp_path, capsys):
        p = tr.Pipeline("gen", project=tr.Workspace(root, user="alice").project("p"))
        p.add("make", id="m", n=5)
        path = tmp_path / "gen.json"
        p.save(path)
        assert main(["run", str(path), "--project", "p", *where(root)]) == 0
        captured = capsys.readouterr()
        assert "m: completed" in captured.err and "completed" in captured.out
        assert main(["runs", "p", *where(root)]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[0].split() == ["run_id", "status", "seconds", "nodes", "failed"]
        assert "completed" in out.splitlines()[1]
        assert main(["runs", "p", "--json", *where(root)]) == 0
        (summary,) = json.loads(capsys.readouterr().out)
        assert summary["status"] == "completed" and summary["nodes"] == {"m": "completed"}

    def test_run_the_saved_pipeline_of_a_project(self, root, capsys):
        project = tr.Workspace(root, user="alice").project("p")
        p = project.pipeline()
        p.add("make", id="m", n=-1)
        project.save_pipeline(p)
        assert main(["run", "--project", "p", "--json", *where(root)]) == 1
        captured = capsys.readouterr()
        assert json.loads(captured.out)["nodes"]["m"]["status"] == "failed"
        assert "node 'm' failed: ValueError: n must not be negative" in captured.err
        assert project.runs()[0]["failed"] == ["m"]

    def test_run_needs_a_pipeline_or_a_project(self, root, capsys):
        with pytest.raises(SystemExit) as exc:
            main(["run"])
        assert exc.value.code == 2
        assert main(["run", "--project", "p", *where(root)]) == 2
        assert "has no saved pipeline" in capsys.readouterr().err

    def test_run_with_a_new_project_and_create_creates_it(self, root, tmp_path, capsys):
        path = tmp_path / "p.json"
        build().save(path)
        assert main(["run", str(path), "--project", "fresh", "--target", "load", *where(root)]) == 2
        assert "No project 'fresh'" in capsys.readouterr().err and "fresh" not in tr.Workspace(root, user="alice")
        assert main(["run", str(path), "--project", "fresh", "--create", "--target", "load", *where(root)]) == 0
        assert "created project 'fresh'" in capsys.readouterr().err
        assert len(tr.Workspace(root, user="alice").project("fresh").runs()) == 1

    @pytest.mark.parametrize(
        "argv",
        [
            ["runs", "nope"],
            ["runs", "../p"],
            ["runs", "p", "--user", "../alice"],
            ["cards", "--project", "nope"],
            ["cards", "--project", "a/b"],
            ["run", "--project", "..", "x.json"],
        ],
    )
    def test_bad_names_are_messages(self, root, argv, capsys):
        argv = [*argv, "--storage", root] + ([] if "--user" in argv else ["--user", "alice"])
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and "Traceback" not in err
        assert ("No project 'nope'" in err) or ("Unsafe" in err)


# --------------------------------------------------------------------------- end to end, in a subprocess


def cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tensorrag.cli", *args],
        capture_output=True, text=True, check=False, env=env, cwd=cwd, timeout=120,
    )


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORRAG_", "S3_", "STORAGE_DIR"))}
    env.update(extra)
    return env


def test_end_to_end_local(tmp_path):
    (tmp_path / "make.py").write_text(CARD)
    (tmp_path / "bad.py").write_text(BAD_CARD)
    bad = cli("validate", "bad.py", "make.py", cwd=tmp_path, env=clean_env())
    assert bad.returncode == 1 and "bad.py:5: error: card_type 'bad card'" in bad.stdout
    root = tmp_path / "root"
    proj = tr.Workspace(root, user="alice").create_project("e2e")
    proj.write_card("make.py", CARD)
    p = proj.pipeline("e2e")
    p.add("make", id="m", n=21)
    proj.save_pipeline(p)
    env = clean_env(TENSORRAG_STORAGE=str(root), TENSORRAG_USER="alice")
    run = cli("run", "--project", "e2e", "--executor", "local", "--json", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    manifest = json.loads(run.stdout)
    assert manifest["status"] == "completed" and "m: completed" in run.stderr
    assert proj.run(manifest["run_id"])["nodes"]["m"]["status"] == "completed"
    runs = cli("runs", "e2e", "--json", env=env, cwd=tmp_path)
    assert runs.returncode == 0 and [r["run_id"] for r in json.loads(runs.stdout)] == [manifest["run_id"]]


def test_end_to_end_s3(tmp_path, s3_server, aws_env):
    prefix = f"s3://{s3_server['bucket']}/cli-{uuid.uuid4().hex[:10]}"
    proj = tr.Workspace(prefix, user="alice", **s3_server["options"]).create_project("e2e")
    proj.write_card("make.py", CARD)
    p = proj.pipeline("e2e")
    p.add("make", id="m", n=4)
    path = tmp_path / "e2e.json"
    p.save(path)
    env = clean_env(
        S3_ENABLED="true", S3_BUCKET=s3_server["bucket"], S3_ENDPOINT=s3_server["endpoint"],
        S3_ACCESS_KEY="testing", S3_SECRET_KEY="testing", S3_REGION=s3_server["region"],
    )
    run = cli("run", str(path), "--project", "e2e", "--storage", prefix, "--user", "alice", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "m: completed" in run.stderr and "completed" in run.stdout
    (summary,) = proj.runs()
    assert summary["status"] == "completed"
    assert tr.Workspace(prefix, user="alice", **s3_server["options"]).project("e2e").run(summary["run_id"])[
        "nodes"]["m"]["outputs"]["value"]["uri"].startswith(proj.url)
    listed = cli("projects", "--storage", prefix, "--user", "alice", "--json", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and [d["name"] for d in json.loads(listed.stdout)] == ["e2e"]


def test_modal_deploy_without_a_token_says_what_to_do(tmp_path):
    pytest.importorskip("modal")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_TOKEN")}
    env["HOME"] = str(tmp_path)  # no ~/.modal.toml either
    env.pop("MODAL_CONFIG_PATH", None)
    (tmp_path / "my_cards.py").write_text("X = 1\n")  # found in the project folder: only the token is missing
    proc = subprocess.run(
        [sys.executable, "-m", "tensorrag.cli", "modal", "deploy", "--app", "tr-test", "--module", "my_cards"],
        capture_output=True, text=True, env={**env, "PYTHONPATH": os.getcwd()}, timeout=120, check=False, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "modal token new" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[1]", "must be a JSON object; got list [1]"),
        (b"\xff\xfe{", "is not valid UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"nodeCounter": ' + b"9" * 5000 + b"}", "5000 digits"),
        (b'{"nodes": [{"id": "a", "data": {"card_type": "data_load", "resources": [1]}}]}', "[a.resources] must be"),
    ],
)
def test_malformed_pipeline_files_exit_2_with_one_line(tmp_path, data, words):
    path = tmp_path / "p.json"
    path.write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "tensorrag.cli", "run", str(path), "--storage", str(tmp_path / "store")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error:")
    assert words in proc.stderr
    if b"resources" not in data:
        assert proc.stderr.count("\n") == 1 and "p.json" in proc.stderr


def test_a_corrupt_saved_pipeline_of_a_project_exits_2(tmp_path):
    store = tmp_path / "store"
    tr.Workspace(store).create_project("proj")
    (store / "default" / "workspace" / "proj" / "_pipeline.json").write_bytes(b'{"nodes": [')
    proc = subprocess.run(
        [sys.executable, "-m", "tensorrag.cli", "run", "--project", "proj", "--storage", str(store)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "proj/_pipeline.json is not valid JSON" in proc.stderr
