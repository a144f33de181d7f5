"""data_load's formats by extension, the digits sample, and csv_loader (real files, real memory:// URLs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pytest

from tensorrag.cards.data.load import CsvLoaderCard, DataLoadCard
from tensorrag.cards.data.readers import format_of
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from tests.cards.runner import Runner

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, None, 2.5]})


def _write(path: Path, kind: str) -> None:
    writers = {
        "csv": lambda: FRAME.to_csv(path, index=False),
        "tsv": lambda: FRAME.to_csv(path, sep="\t", index=False),
        "parquet": lambda: FRAME.to_parquet(path, index=False),
        "json": lambda: FRAME.to_json(path, orient="records"),
        "jsonl": lambda: FRAME.to_json(path, orient="records", lines=True),
    }
    writers[kind]()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("t.csv", "csv"), ("t.tsv", "tsv"), ("t.parquet", "parquet"), ("t.json", "json"), ("t.jsonl", "jsonl"),
     ("t.ndjson", "jsonl"), ("t.csv.gz", "csv")],
)  # fmt: skip
def test_data_load_reads_each_format_by_extension(runner: Runner, tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    _write(path, kind)
    runner.run(DataLoadCard, "load", {"source": "csv", "path": str(path)})
    pd.testing.assert_frame_equal(runner.load("load", "dataset"), FRAME, check_dtype=False)


def test_data_load_format_field_overrides_the_extension(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "table.data"
    _write(path, "parquet")
    with pytest.raises(CardConfigError, match=r"cannot tell the format of .*table\.data.*set format") as info:
        runner.run(DataLoadCard, "load", {"source": "csv", "path": str(path)})
    assert info.value.problems[0]["field"] == "format"
    runner.run(DataLoadCard, "load2", {"source": "csv", "path": str(path), "format": "parquet"})
    assert runner.load("load2", "dataset").shape == (3, 3)


def test_data_load_parquet_from_an_fsspec_url(runner: Runner) -> None:
    import fsspec

    url = "memory://readers-test/table.parquet"
    with fsspec.open(url, "wb") as f:
        FRAME.to_parquet(f, index=False)
    runner.run(DataLoadCard, "load", {"source": "url", "url": url})
    assert runner.load("load", "dataset")["b"].tolist() == ["x", "y", "z"]


def test_data_load_unreadable_json_is_a_config_error(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CardConfigError, match=r"cannot read path .*bad\.json.* as json") as info:
        runner.run(DataLoadCard, "load", {"source": "csv", "path": str(path)})
    assert info.value.node_id == "load"


def test_digits_sample_matches_sklearn(runner: Runner) -> None:
    from sklearn.datasets import load_digits

    runner.run(DataLoadCard, "load", {"source": "sample", "sample_name": "digits"})
    df = runner.load("load", "dataset")
    expected = load_digits(as_frame=True).frame
    assert df.shape == (1797, 65) and "target" in df.columns
    pd.testing.assert_frame_equal(df, expected.reset_index(drop=True))


def test_format_of() -> None:
    assert format_of("s3://b/x.PARQUET") == "parquet"
    assert format_of("https://h/data.jsonl?token=1") == "jsonl"
    assert format_of("/a.b/file") is None
    assert format_of("x.bin", "csv") == "csv"


def test_csv_loader_reads_url_and_fingerprints_it(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    FRAME.to_csv(path, index=False)
    _, preview, _ = runner.run(CsvLoaderCard, "csv", {"url": str(path)})
    assert preview["shape"] == {"rows": 3, "cols": 3}
    token = CsvLoaderCard().cache_token({"url": str(path)})
    assert token
    pd.concat([FRAME, FRAME]).to_csv(path, index=False)
    assert CsvLoaderCard().cache_token({"url": str(path)}) != token  # a rewritten file is read again


def test_csv_loader_needs_a_url(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"url is required but it is empty") as info:
        runner.run(CsvLoaderCard, "csv", {})
    assert info.value.problems[0]["field"] == "url"
