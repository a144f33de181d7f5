"""select_columns, filter_columns, filter_rows (checked pandas query) and text_preprocessor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from tensorrag.cards.data.columns import FilterColumnsCard, FilterRowsCard, SelectColumnsCard, TextPreprocessorCard
from tensorrag.cards.data.query import QueryError, check_query
from tensorrag.errors import CardConfigError

if TYPE_CHECKING:
    from tests.cards.runner import Runner

FRAME = pd.DataFrame(
    {
        "age": [25, 35, 45, 55, 65],
        "city": ["Paris", "Rome", "Paris", "Oslo", None],
        "sepal length": [1.0, 2.0, 3.0, 4.0, 5.0],
        "text": ["  Hello, World! ", "FOO  bar", None, "Ok.", "a\tb"],
    }
)


def _run(runner: Runner, cls: type, raw: dict[str, Any], df: pd.DataFrame = FRAME) -> pd.DataFrame:
    runner.put("src", "dataset", df, "dataframe")
    runner.run(cls, "node", raw, dataset=("src", "dataset"))
    return runner.load("node", "dataset")


def test_select_columns_keeps_in_order_or_drops(runner: Runner) -> None:
    assert list(_run(runner, SelectColumnsCard, {"columns": ["city", "age"]}).columns) == ["city", "age"]
    assert list(_run(runner, SelectColumnsCard, {"columns": ["age"], "drop": True}).columns) == [
        "city",
        "sepal length",
        "text",
    ]


def test_select_columns_missing_column_has_did_you_mean(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"'agee' \(did you mean 'age'\?\) not found in dataset") as info:
        _run(runner, SelectColumnsCard, {"columns": ["agee"]})
    assert info.value.problems[0]["field"] == "columns"
    with pytest.raises(CardConfigError, match="columns is empty"):
        _run(runner, SelectColumnsCard, {})


def test_filter_columns_takes_the_guides_comma_list(runner: Runner) -> None:
    assert list(_run(runner, FilterColumnsCard, {"keep_columns": " age , city"}).columns) == ["age", "city"]
    assert list(_run(runner, FilterColumnsCard, {}).columns) == list(FRAME.columns)  # empty keeps all


@pytest.mark.parametrize(
    ("query", "mask"),
    [
        ("age > 30 and city == 'Paris'", (FRAME.age > 30) & (FRAME.city == "Paris")),
        ("city in ['Rome', 'Oslo'] or age >= 65", FRAME.city.isin(["Rome", "Oslo"]) | (FRAME.age >= 65)),
        ("`sepal length` * 2 > 5", FRAME["sepal length"] * 2 > 5),
        ("not (age < 40)", ~(FRAME.age < 40)),
    ],
)
def test_filter_rows_keeps_the_rows_pandas_selects(runner: Runner, query: str, mask: pd.Series) -> None:
    out = _run(runner, FilterRowsCard, {"query": query})
    pd.testing.assert_frame_equal(out, FRAME[mask].reset_index(drop=True))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("__import__('os').system('true')", "a function call"),
        ("age.max() > 3", "a function call"),
        ("city.str > 1", "an attribute"),
        ("age > @limit", "uses '@'"),
        ("agee > 3", r"refers to 'agee', which is not a column. Did you mean 'age'\?"),
        ("age >", "not a valid expression"),
        ("", "query is empty"),
    ],
)
def test_filter_rows_rejects_bad_queries_before_running(runner: Runner, query: str, message: str) -> None:
    with pytest.raises(CardConfigError, match=message) as info:
        _run(runner, FilterRowsCard, {"query": query})
    assert info.value.problems[0]["field"] == "query"


def test_check_query_returns_the_columns_used() -> None:
    assert check_query("`sepal length` > 2 and age < 40", list(FRAME.columns)) == ["sepal length", "age"]
    with pytest.raises(QueryError, match="unmatched backtick"):
        check_query("`age > 3", ["age"])


def test_filter_rows_type_mismatch_is_explained(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"failed on the data.*quote strings"):
        _run(runner, FilterRowsCard, {"query": "city > 3"})


def test_text_preprocessor_cleans_the_column(runner: Runner) -> None:
    out = _run(runner, TextPreprocessorCard, {})
    assert out["text"].tolist() == ["hello, world!", "foo  bar", None, "ok.", "a\tb"]
    out = _run(
        runner, TextPreprocessorCard, {"lowercase": False, "remove_punctuation": True, "collapse_whitespace": True}
    )
    assert out["text"].tolist() == ["Hello World", "FOO bar", None, "Ok", "a b"]


def test_text_preprocessor_needs_a_text_column(runner: Runner) -> None:
    with pytest.raises(CardConfigError, match=r"text_column 'age' holds int64 values, not text"):
        _run(runner, TextPreprocessorCard, {"text_column": "age"})
