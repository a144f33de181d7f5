import json
import subprocess
import sys

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
    assert "train" not in captured.out  # only split and what it needs ran
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
