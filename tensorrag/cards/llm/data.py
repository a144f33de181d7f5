"""The LLM data cards: ``llm_load_dataset``, ``llm_filter_clean``, ``llm_train_val_split``, ``llm_format_sft``.

Records are rows of a DataFrame (``instruction`` / ``input`` / ``output`` by default, as in Alpaca).
``llm_format_sft`` adds ``text`` (the formatted example) or ``messages`` (a chat, which the
trainer renders with the tokenizer's own chat template), plus ``prompt`` and ``response``.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from tensorrag.cards.base import BaseCard
from tensorrag.cards.llm._common import card_error, require
from tensorrag.cards.previews import split_preview, table_preview
from tensorrag.cards.tokens import file_token

__all__ = [
    "ALPACA_TEMPLATE",
    "FilterCleanCard",
    "FormatSftCard",
    "LoadDatasetCard",
    "TrainValSplitCard",
    "format_records",
]

#: The original's Alpaca template (literal ``\n`` in the config is turned into newlines).
ALPACA_TEMPLATE = (
    "### Instruction:\\n{instruction}\\n\\n### Input:\\n{input}\\n\\n### Response:\\n{output}"
)
_ALPACA_NO_INPUT = "### Instruction:\n{instruction}\n\n### Response:\n{output}"
SOURCES = ("huggingface", "jsonl_path", "jsonl_url", "csv", "parquet")


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


class LoadDatasetCard(BaseCard):
    """Load instruction records from the Hugging Face Hub, a JSONL file or URL, a CSV or a Parquet file."""

    card_type = "llm_load_dataset"
    display_name = "LLM: Load Dataset"
    description = "Load instruction records (Hugging Face dataset, JSONL path/URL, CSV or Parquet via fsspec)."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "source_type": {"type": "string", "enum": list(SOURCES), "default": "huggingface"},
        "hf_dataset": {"type": "string", "default": "tatsu-lab/alpaca"},
        "hf_split": {"type": "string", "default": "train"},
        "jsonl_path": {"type": "string", "default": ""},
        "jsonl_url": {"type": "string", "default": ""},
        "path": {"type": "string", "default": "", "description": "CSV / Parquet file or URL"},
        "max_samples": {"type": "integer", "default": 1000, "minimum": 0, "description": "0 = all"},
    }
    input_schema = {}
    output_schema = {"raw_dataset": "dataframe"}

    def _location(self, config: dict[str, Any]) -> str:
        kind = config["source_type"]
        field = {"jsonl_path": "jsonl_path", "jsonl_url": "jsonl_url"}.get(kind, "path")
        where = str(config.get(field) or "").strip()
        if not where:
            raise card_error(self.card_type, config, field, f"source_type={kind!r} needs {field} (a file or URL).")
        return where

    def cache_token(self, config: dict[str, Any]) -> str | None:
        """The file's fsspec fingerprint; a Hub dataset by name and split."""
        if config["source_type"] == "huggingface":
            return f"hf:{config['hf_dataset']}:{config['hf_split']}"
        try:
            return file_token(self._location(config))
        except Exception:
            return None  # the run reports the config problem

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Read, truncate to ``max_samples``, save."""
        kind = config["source_type"]
        if kind == "huggingface":
            df = self._from_hub(config)
        else:
            where = self._location(config)
            try:
                if kind in ("jsonl_path", "jsonl_url"):
                    df = pd.read_json(where, lines=True)
                elif kind == "csv":
                    df = pd.read_csv(where)
                else:
                    df = pd.read_parquet(where)
            except FileNotFoundError as exc:
                raise card_error(self.card_type, config, "path", f"{where!r} does not exist ({exc}).") from exc
            except (ValueError, OSError) as exc:
                raise card_error(self.card_type, config, "path", f"cannot read {where!r} as {kind}: {exc}") from exc
        limit = int(config["max_samples"])
        if limit:
            df = df.head(limit)
        df = df.reset_index(drop=True)
        print(f"loaded {len(df)} records with columns {list(df.columns)}")
        return {"raw_dataset": storage.save_dataframe(None, None, "raw_dataset", df)}

    def _from_hub(self, config: dict[str, Any]) -> pd.DataFrame:
        name, split = config["hf_dataset"], config["hf_split"]
        if _offline():
            raise card_error(
                self.card_type, config, "hf_dataset",
                f"cannot load Hugging Face dataset {name!r}: this machine is offline (HF_HUB_OFFLINE / "
                "HF_DATASETS_OFFLINE is set). Fix: go online, or use source_type='jsonl_path' / 'csv' / "
                "'parquet' with a local file.",
            )
        (datasets,) = require(self.card_type, "datasets")
        try:
            ds = datasets.load_dataset(name, split=split)
        except Exception as exc:  # unknown dataset, network, auth
            raise card_error(
                self.card_type, config, "hf_dataset",
                f"cannot load Hugging Face dataset {name!r} split {split!r}: {type(exc).__name__}: {exc}",
            ) from exc
        return ds.to_pandas()

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The first 20 records."""
        return table_preview(storage.load_dataframe(outputs["raw_dataset"]), 20)


def _keys(config: dict[str, Any]) -> tuple[str, str, str]:
    return str(config["instruction_key"]), str(config["input_key"]), str(config["output_key"])


def _require_column(card_type: str, config: dict[str, Any], df: pd.DataFrame, field: str) -> None:
    col = config[field]
    if col not in df.columns:
        raise card_error(
            card_type, config, field,
            f"{field}={col!r} is not a column of the dataset; columns are {list(map(str, df.columns))}.",
        )


_KEY_SCHEMA: dict[str, Any] = {
    "instruction_key": {"type": "string", "default": "instruction"},
    "input_key": {"type": "string", "default": "input"},
    "output_key": {"type": "string", "default": "output"},
}


class FilterCleanCard(BaseCard):
    """Trim text, drop records without an instruction (or output), out of length bounds, or duplicated."""

    card_type = "llm_filter_clean"
    display_name = "LLM: Filter & Clean"
    description = "Trim whitespace; drop empty, too short / too long and duplicate instruction records."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        **_KEY_SCHEMA,
        "min_chars": {"type": "integer", "default": 16, "minimum": 0},
        "max_chars": {"type": "integer", "default": 4096, "minimum": 0, "description": "0 = unlimited"},
        "drop_if_missing_output": {"type": "boolean", "default": True},
        "drop_duplicates": {"type": "boolean", "default": True},
    }
    input_schema = {"raw_dataset": "dataframe"}
    output_schema = {"clean_dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Filter the records."""
        df = storage.load_dataframe(inputs["raw_dataset"]).copy()
        ins, inp, out = _keys(config)
        _require_column(self.card_type, config, df, "instruction_key")
        for col in (ins, inp, out):
            if col in df.columns:
                df[col] = df[col].fillna("").astype(str).str.strip()
        before = len(df)
        keep = df[ins] != ""
        if config["drop_if_missing_output"]:
            _require_column(self.card_type, config, df, "output_key")
            keep &= df[out] != ""
        length = sum((df[c].str.len() for c in (ins, inp, out) if c in df.columns), pd.Series(0, index=df.index))
        keep &= length >= int(config["min_chars"])
        if int(config["max_chars"]):
            keep &= length <= int(config["max_chars"])
        df = df[keep]
        if config["drop_duplicates"]:
            df = df.drop_duplicates(subset=[c for c in (ins, inp, out) if c in df.columns])
        df = df.reset_index(drop=True)
        print(f"kept {len(df)} of {before} records")
        return {"clean_dataset": storage.save_dataframe(None, None, "clean_dataset", df)}

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The first 20 kept records."""
        return table_preview(storage.load_dataframe(outputs["clean_dataset"]), 20)


class TrainValSplitCard(BaseCard):
    """A seeded shuffle split into training and validation records."""

    card_type = "llm_train_val_split"
    display_name = "LLM: Train/Val Split"
    description = "Shuffle (seeded) and split the records into training and validation sets."
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "val_ratio": {"type": "number", "default": 0.1, "minimum": 0, "exclusiveMaximum": 1},
        "shuffle_seed": {"type": "integer", "default": 42},
    }
    input_schema = {"clean_dataset": "dataframe"}
    output_schema = {"train_dataset": "dataframe", "val_dataset": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Split."""
        df = storage.load_dataframe(inputs["clean_dataset"])
        ratio = float(config["val_ratio"])
        if len(df) < 2:
            raise card_error(self.card_type, config, "clean_dataset",
                             f"needs at least 2 records to split; got {len(df)}. Check llm_filter_clean's bounds.")
        shuffled = df.sample(frac=1.0, random_state=int(config["shuffle_seed"])).reset_index(drop=True)
        n_val = min(len(df) - 1, max(1, round(len(df) * ratio))) if ratio > 0 else 0
        val, train = shuffled.iloc[:n_val].reset_index(drop=True), shuffled.iloc[n_val:].reset_index(drop=True)
        return {
            "train_dataset": storage.save_dataframe(None, None, "train_dataset", train),
            "val_dataset": storage.save_dataframe(None, None, "val_dataset", val),
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """Split sizes and samples."""
        return split_preview(storage.load_dataframe(outputs["train_dataset"]),
                             storage.load_dataframe(outputs["val_dataset"]))


def format_records(card_type: str, config: dict[str, Any], df: pd.DataFrame) -> pd.DataFrame:
    """The SFT table of ``df``: ``prompt``, ``response`` and ``text`` (or ``messages`` for ``template='chat'``).

    Raises:
        CardConfigError: a key column is missing, or the template names an unknown field.
    """
    ins, inp, out = _keys(config)
    _require_column(card_type, config, df, "instruction_key")
    _require_column(card_type, config, df, "output_key")
    template = str(config["template"])
    rows = []
    for rec in df.to_dict("records"):
        fields = {
            "instruction": str(rec.get(ins) or ""),
            "input": str(rec.get(inp) or "") if inp in df.columns else "",
            "output": str(rec.get(out) or ""),
        }
        if template == "chat":
            user = fields["instruction"] + (f"\n\n{fields['input']}" if fields["input"] else "")
            rows.append({
                "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": fields["output"]}],
                "prompt": user,
                "response": fields["output"],
            })
            continue
        body = template.replace("\\n", "\n")
        if template == ALPACA_TEMPLATE and not fields["input"]:
            body = _ALPACA_NO_INPUT
        try:
            text = body.format(**fields)
            prompt = body.format(**{**fields, "output": ""})
        except (KeyError, IndexError, ValueError) as exc:
            raise card_error(
                card_type, config, "template",
                f"the template cannot be filled ({type(exc).__name__}: {exc}); it may use {{instruction}}, "
                "{input} and {output} (write {{ and }} for literal braces).",
            ) from exc
        rows.append({"text": text, "prompt": prompt, "response": fields["output"]})
    return pd.DataFrame(rows, columns=["messages" if template == "chat" else "text", "prompt", "response"])


class FormatSftCard(BaseCard):
    """Format records as SFT examples: the Alpaca template, your own, or ``chat`` (the tokenizer's template)."""

    card_type = "llm_format_sft"
    display_name = "LLM: Format SFT"
    description = (
        "Format instruction records for supervised fine-tuning: the Alpaca template, a custom one with "
        "{instruction}/{input}/{output}, or 'chat' (messages rendered by the tokenizer's chat template)."
    )
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "template": {"type": "string", "default": ALPACA_TEMPLATE,
                     "description": "a format string, or 'chat' for the tokenizer's chat template"},
        **_KEY_SCHEMA,
    }
    input_schema = {"train_dataset": "dataframe", "val_dataset": "dataframe"}
    output_schema = {"train_sft": "dataframe", "val_sft": "dataframe"}

    def execute(self, config: dict[str, Any], inputs: dict[str, str], storage: Any) -> dict[str, str]:
        """Format both splits."""
        train = format_records(self.card_type, config, storage.load_dataframe(inputs["train_dataset"]))
        val = format_records(self.card_type, config, storage.load_dataframe(inputs["val_dataset"]))
        return {
            "train_sft": storage.save_dataframe(None, None, "train_sft", train),
            "val_sft": storage.save_dataframe(None, None, "val_sft", val),
        }

    def get_output_preview(self, outputs: dict[str, str], storage: Any) -> dict[str, Any]:
        """The first 10 formatted training examples."""
        return table_preview(storage.load_dataframe(outputs["train_sft"]), 10)
