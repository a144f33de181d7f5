"""BUILTIN_CARDS: every entry is a lazy 'module:Class' string naming a valid card of that type."""

from __future__ import annotations

import importlib
import json

import pytest

from tensorrag.cards.base import BaseCard
from tensorrag.cards.builtin import BUILTIN_CARDS
from tensorrag.cards.schema import validate_config

EXPECTED = {
    "data_load": ({}, {"dataset": "dataframe"}, "data", "table"),
    "data_split": (
        {"dataset": "dataframe"},
        {"train_dataset": "dataframe", "test_dataset": "dataframe"},
        "data",
        "table",
    ),
    "model_define": ({}, {"model_spec": "json"}, "model", "model_summary"),
    "train": (
        {"train_dataset": "dataframe", "model_spec": "json"},
        {"trained_model": "model", "train_metrics": "json"},
        "model",
        "metrics",
    ),
    "evaluate": (
        {"trained_model": "model", "test_dataset": "dataframe"},
        {"eval_report": "json", "eval_chart": "bytes"},
        "evaluation",
        "metrics",
    ),
    "inference": (
        {"trained_model": "model", "dataset": "dataframe"},
        {"predictions": "dataframe"},
        "inference",
        "table",
    ),
    # issue 12: data and classical ML
    "csv_loader": ({}, {"dataset": "dataframe"}, "data", "table"),
    "train_val_test_split": (
        {"dataset": "dataframe"},
        {"train_dataset": "dataframe", "val_dataset": "dataframe", "test_dataset": "dataframe"},
        "data",
        "table",
    ),
    "select_columns": ({"dataset": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "filter_columns": ({"dataset": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "filter_rows": ({"dataset": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "text_preprocessor": ({"dataset": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "fill_missing": ({"dataset": "dataframe"}, {"dataset": "dataframe", "fill_values": "json"}, "data", "table"),
    "scale": ({"dataset": "dataframe"}, {"dataset": "dataframe", "scaler": "json"}, "data", "table"),
    "feature_scaler": ({"dataset": "dataframe"}, {"scaled_dataset": "dataframe"}, "data", "table"),
    "encode": ({"dataset": "dataframe"}, {"dataset": "dataframe", "encoder": "json"}, "data", "table"),
    "apply_transform": ({"dataset": "dataframe", "transform": "json"}, {"dataset": "dataframe"}, "data", "table"),
    "join": ({"left": "dataframe", "right": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "concat": ({"first": "dataframe", "second": "dataframe"}, {"dataset": "dataframe"}, "data", "table"),
    "random_forest": (
        {"train_data": "any"},
        {"trained_model": "model", "train_metrics": "json"},
        "training",
        "metrics",
    ),
    "cross_validate": ({"dataset": "dataframe", "model_spec": "json"}, {"cv_scores": "json"}, "evaluation", "metrics"),
    "confusion_matrix": (
        {"trained_model": "model", "test_data": "any"},
        {"metrics": "json", "eval_chart": "bytes"},
        "evaluation",
        "metrics",
    ),
    "accuracy_calc": ({"predictions": "any", "ground_truth": "any"}, {"metrics": "json"}, "evaluation", "metrics"),
    "feature_importance": (
        {"trained_model": "model"},
        {"importances": "json", "chart": "bytes"},
        "evaluation",
        "metrics",
    ),
}

# --- torch cards: the original's ports, categories and views (train_gpu and training_* ran on Modal) ---
_STATE = "model"
TORCH_EXPECTED = {
    "model_define_gpu": ({}, {"model_spec": "json"}, "model", "model_summary"),
    "torch_module": ({}, {"model_spec": "json"}, "model", "model_summary"),
    "train_gpu": (
        {"train_dataset": "dataframe", "model_spec": "json"},
        {"trained_model": "model", "train_metrics": "json"},
        "model",
        "metrics",
    ),
    "training_build_model": ({"model_spec": "json"}, {"model": _STATE}, "training", "model_summary"),
    "training_init_optimizer": ({"model": _STATE}, {"optimizer": _STATE, "model": _STATE}, "training", "model_summary"),
    "training_prepare_batch": (
        {"train_dataset": "dataframe"},
        {"batch_data": "json", "batch_info": "json"},
        "training",
        "table",
    ),
    "training_zero_grad": ({"optimizer": _STATE}, {"optimizer": _STATE}, "training", "model_summary"),
    "training_forward": (
        {"model": _STATE, "batch_data": "json"},
        {"predictions": "json", "model": _STATE},
        "training",
        "model_summary",
    ),
    "training_loss": (
        {"predictions": "json", "batch_data": "json"},
        {"loss": "json", "loss_value": "json"},
        "training",
        "metrics",
    ),
    "training_backward": (
        {"loss": "json", "model": _STATE},
        {"model": _STATE, "gradients_computed": "json"},
        "training",
        "model_summary",
    ),
    "training_optimizer_step": (
        {"optimizer": _STATE, "model": _STATE},
        {"model": _STATE, "optimizer": _STATE, "step_info": "json"},
        "training",
        "model_summary",
    ),
    "training_loop": (
        {"model": _STATE, "train_dataset": "dataframe"},
        {"trained_model": "model", "train_metrics": "json"},
        "training",
        "metrics",
    ),
}
EXPECTED.update(TORCH_EXPECTED)
MODES = {name: "modal" for name in TORCH_EXPECTED if name == "train_gpu" or name.startswith("training_")}


def _load(path: str) -> type[BaseCard]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def test_the_table_is_strings_only() -> None:
    assert set(EXPECTED) <= set(BUILTIN_CARDS)  # the torch cards are checked in their own tests
    assert all(isinstance(v, str) and v.count(":") == 1 for v in BUILTIN_CARDS.values())


@pytest.mark.parametrize("card_type", sorted(EXPECTED))
def test_each_entry_is_a_valid_card(card_type: str) -> None:
    cls = _load(BUILTIN_CARDS[card_type])
    assert issubclass(cls, BaseCard)
    cls.check_definition()
    inputs, outputs, category, view = EXPECTED[card_type]
    assert cls.card_type == card_type
    assert (cls.input_schema, cls.output_schema, cls.category, cls.output_view_type) == (
        inputs,
        outputs,
        category,
        view,
    )
    assert cls.execution_mode == MODES.get(card_type, "local")
    assert cls.display_name and cls.description
    schema = cls.to_schema()
    json.dumps(schema)
    assert schema["config_schema"]["type"] == "object"  # JSON-Schema form, like the original built-ins
    filled, problems = validate_config(cls.json_schema(), {})
    assert problems == []
    for field, prop in cls.json_schema()["properties"].items():
        assert prop.get("description"), f"{card_type}.{field} has no description"
        if "default" in prop:
            assert filled[field] == prop["default"]


def test_packages_expose_the_classes_lazily() -> None:
    from tensorrag.cards import data, ml

    assert data.DataSplitCard.card_type == "data_split"
    assert ml.EvaluateCard.card_type == "evaluate"
    with pytest.raises(AttributeError):
        _ = ml.Nope


def test_every_card_is_in_list_cards() -> None:
    import tensorrag as tr

    listed = {s["card_type"]: s for s in tr.list_cards()}
    assert set(EXPECTED) <= set(listed)
    for card_type, (inputs, outputs, category, view) in EXPECTED.items():
        schema = listed[card_type]
        assert (schema["input_schema"], schema["output_schema"]) == (inputs, outputs)
        assert (schema["category"], schema["output_view_type"]) == (category, view)
