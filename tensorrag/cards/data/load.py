"""``data_load``: read a table (CSV, Parquet, JSON, JSONL) from a file or URL, or a built-in sample data set."""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd

from tensorrag.cards.base import BaseCard
from tensorrag.cards.data.readers import FORMATS, read_table
from tensorrag.cards.previews import table_preview
from tensorrag.cards.tokens import file_token
from tensorrag.errors import CardConfigError

__all__ = ["BOSTON_FEATURES", "BOSTON_ROWS", "SAMPLES", "CsvLoaderCard", "DataLoadCard", "load_sample"]

#: Sample data sets. All but ``california_housing`` ship with scikit-learn and work offline.
SAMPLES = ("diabetes", "iris", "wine", "breast_cancer", "digits", "boston_housing", "california_housing")

#: Column names of the synthetic ``boston_housing`` sample (the classic data set's names).
BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")
#: Rows of the synthetic ``boston_housing`` sample (the original made 50,000; 5,000 keeps runs fast).
BOSTON_ROWS = 5_000


def load_sample(name: str) -> pd.DataFrame:
    """Build one of the sample data sets as a DataFrame.

    scikit-learn's bundled sets keep their feature names and put the label in ``target``
    (``digits``: 1,797 8x8 images as 64 pixel columns ``pixel_0_0`` ... ``pixel_7_7``, label 0-9).
    ``boston_housing`` is synthetic, as in the original: ``make_regression`` with
    :data:`BOSTON_ROWS` rows, 13 features named :data:`BOSTON_FEATURES` (10 informative),
    noise 10, seed 42, target ``MEDV``. ``california_housing`` is downloaded by scikit-learn
    on first use (target ``MedHouseVal``) and needs network access once.

    Args:
        name: one of :data:`SAMPLES`.

    Returns:
        The data set.

    Raises:
        CardConfigError: unknown name, or the download of ``california_housing`` failed.
    """
    from sklearn import datasets  # heavy; only when a sample is asked for

    loaders = {
        "diabetes": datasets.load_diabetes,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
    }
    if name in loaders:
        return loaders[name](as_frame=True).frame.reset_index(drop=True)
    if name == "boston_housing":
        x, y = datasets.make_regression(
            n_samples=BOSTON_ROWS, n_features=len(BOSTON_FEATURES), n_informative=10, noise=10, random_state=42
        )
        df = pd.DataFrame(x, columns=list(BOSTON_FEATURES))
        df["MEDV"] = y
        return df
    if name == "california_housing":
        try:
            return datasets.fetch_california_housing(as_frame=True).frame.reset_index(drop=True)
        except Exception as exc:  # network or cache problems
            raise CardConfigError(
                f"data_load: sample_name 'california_housing' must be downloaded by scikit-learn and the "
                f"download failed ({type(exc).__name__}: {exc}). Connect to the internet once, or choose an "
                f"offline sample: {', '.join(s for s in SAMPLES if s != 'california_housing')}.",
                card_type="data_load",
            ) from exc
    close = difflib.get_close_matches(str(name), SAMPLES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise CardConfigError(
        f"data_load: unknown sample_name {name!r}; expected one of {', '.join(SAMPLES)}.{hint}",
        card_type="data_load",
    )


class DataLoadCard(BaseCard):
    """Load a dataset from a table file (local path or any fsspec URL), a URL or a sample."""

    card_type = "data_load"
    display_name = "Data Load"
    description = (
        "Load a table (CSV, TSV, Parquet, JSON, JSONL) from a file or URL (local, s3://, memory://, https://) "
        "or a sample data set."
    )
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "source": {
                "type": "string",
                "enum": ["csv", "url", "sample"],
                "default": "sample",
                "description": "Where the data comes from: a file (path), a URL (url) or a sample (sample_name). "
                "'csv' reads any table format, picked by the file extension or by format.",
            },
            "path": {
                "type": "string",
                "description": "Table file for source 'csv': a local path or an fsspec URL (s3://bucket/x.parquet, "
                "memory://x.csv).",
            },
            "url": {"type": "string", "description": "Table URL for source 'url' (https://..., s3://..., ...)."},
            "format": {
                "type": "string",
                "enum": list(FORMATS),
                "default": "auto",
                "description": "File format of path/url; auto: by extension (.csv .tsv .parquet .json .jsonl, "
                "also compressed as .gz/.bz2/.zip/.xz).",
            },
            "sample_name": {
                "type": "string",
                "enum": list(SAMPLES),
                "default": "diabetes",
                "description": "Sample for source 'sample'. Label column 'target' (boston_housing: 'MEDV', "
                "california_housing: 'MedHouseVal', downloaded on first use).",
            },
            "storage_options": {
                "type": "object",
                "description": 'Options for the fsspec filesystem of path/url, e.g. {"anon": true} for public S3.',
            },
        },
        "required": ["source"],
    }
    input_schema = {}
    output_schema = {"dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Read the table and save it as ``dataset``.

        Args:
            config: validated config plus ``_pipeline_id`` / ``_node_id``.
            inputs: unused (no input ports).
            storage: the card storage handle.

        Returns:
            ``{"dataset": ref}``.
        """
        source = str(config.get("source") or "sample").strip().lower()
        if source == "sample":
            df = load_sample(str(config.get("sample_name") or "diabetes"))
        elif source in ("csv", "url"):
            field = _location_field(config, source)
            location = config.get(field)
            if not isinstance(location, str) or not location.strip():
                raise _error(
                    config,
                    field,
                    f"{field} is required when source is {source!r} but it is empty. Set {field} to a table "
                    f"{'file path or fsspec URL' if field == 'path' else 'URL'}, or use source 'sample'.",
                )
            fmt = str(config.get("format") or "auto")
            df = read_table(self.card_type, config, field, location, fmt, config.get("storage_options") or None)
        else:
            raise _error(config, "source", f"source must be one of 'csv', 'url', 'sample'; got {source!r}.")
        where = config.get("sample_name") or "diabetes" if source == "sample" else config.get(field)
        print(f"loaded {len(df)} rows x {df.shape[1]} columns from {source} {where}")
        ref = storage.save_dataframe(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "dataset", df)
        return {"dataset": ref}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """csv/url: the fsspec fingerprint of the file (None when it cannot be seen from here); samples: ``""``."""
        source = str(config.get("source") or "sample").strip().lower()
        if source not in ("csv", "url"):
            return ""  # samples are fixed data sets (an unknown source fails when the card runs)
        location = config.get(_location_field(config, source))
        if not isinstance(location, str) or not location.strip():
            return ""  # the card fails with a config error, and failures are never cached
        return file_token(location.strip(), config.get("storage_options") or None)

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{rows (first 100), columns: [{name, dtype}], shape: {rows, cols}, null_counts}``."""
        return table_preview(storage.load_dataframe(outputs["dataset"]), max_rows=100)


def _location_field(config: dict[str, Any], source: str) -> str:
    if source == "url" and not config.get("url") and config.get("path"):
        return "path"  # tolerate a URL typed into path
    return "path" if source == "csv" else "url"


def _error(config: dict[str, Any], field: str, message: str) -> CardConfigError:
    node = config.get("_node_id")
    return CardConfigError(
        f"data_load: {message}",
        node_id=node,
        card_type="data_load",
        problems=[{"node_id": node, "field": field, "message": message}],
    )


class CsvLoaderCard(BaseCard):
    """The guide's CSV loader: one ``url`` field (any fsspec URL or a local path), read by extension."""

    card_type = "csv_loader"
    display_name = "CSV Loader"
    description = "Load a dataset from a CSV URL (or a TSV/Parquet/JSON/JSONL file, by extension)."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "type": "object",
        "properties": {
            "url": {
                "type": "string",
                "title": "CSV URL",
                "default": "",
                "description": "The file: https://..., s3://..., memory://... or a local path.",
            },
            "storage_options": {
                "type": "object",
                "description": 'Options for the fsspec filesystem of url, e.g. {"anon": true} for public S3.',
            },
        },
    }
    input_schema = {}
    output_schema = {"dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Read ``url`` and save it as ``dataset``.

        Raises:
            CardConfigError: empty url, missing or unreadable file.
        """
        location = config.get("url")
        df = read_table(self.card_type, config, "url", location, "auto", config.get("storage_options") or None)
        print(f"loaded {len(df)} rows x {df.shape[1]} columns from {str(location).strip()}")
        ref = storage.save_dataframe(config.get("_pipeline_id", "_p"), config.get("_node_id", "_n"), "dataset", df)
        return {"dataset": ref}

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """The fsspec fingerprint of ``url`` (None when it cannot be seen from here)."""
        location = config.get("url")
        if not isinstance(location, str) or not location.strip():
            return ""  # the card fails with a config error, and failures are never cached
        return file_token(location.strip(), config.get("storage_options") or None)

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """``{rows (first 100), columns: [{name, dtype}], shape: {rows, cols}, null_counts}``."""
        return table_preview(storage.load_dataframe(outputs["dataset"]), max_rows=100)
