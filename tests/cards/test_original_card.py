"""Cards written for the original system run after changing only their import line."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import tensorrag as tr
from tensorrag import BaseCard  # was: from cards.base import BaseCard

# --------------------------------------------------------------------------- original-style cards
# The two classes below are written exactly as for the original backend (flat and JSON-Schema
# config forms, input/output schemas, storage.save_* with the injected ids, a hidden extra key).


class ScaleCard(BaseCard):
    card_type = "compat_scale"
    display_name = "Scale"
    description = "Multiply every numeric column by a factor"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"

    config_schema = {
        "factor": {"type": "number", "default": 2, "label": "Factor"},
        "round_digits": {"type": "integer", "default": 6, "label": "Round"},
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"scaled": "dataframe"}

    def execute(self, config, inputs, storage):
        df = storage.load_dataframe(inputs["dataset"])
        factor = config["factor"]
        numeric = df.select_dtypes("number").columns
        scaled = df.copy()
        scaled[numeric] = (df[numeric] * factor).round(config["round_digits"])
        pipeline_id = config["_pipeline_id"]
        node_id = config["_node_id"]
        ref = storage.save_dataframe(pipeline_id, node_id, "scaled", scaled)
        storage.save_json(
            pipeline_id,
            node_id,
            "model_meta",
            {"factor": factor, "columns": list(numeric), "pipeline_id": pipeline_id, "node_id": node_id},
        )
        return {"scaled": ref}

    def get_output_preview(self, outputs, storage):
        df = storage.load_dataframe(outputs["scaled"])
        return {
            "columns": list(df.columns),
            "rows": df.head(5).values.tolist(),
            "shape": {"rows": len(df), "cols": len(df.columns)},
        }


class ColumnStatsCard(BaseCard):
    card_type = "compat_stats"
    display_name = "Column Stats"
    description = "Summary statistics of one column"
    category = "evaluation"
    execution_mode = "local"
    output_view_type = "metrics"

    config_schema = {
        "type": "object",
        "properties": {
            "column": {"type": "string", "description": "Column to summarise"},
            "statistic": {"type": "string", "enum": ["mean", "max", "min"], "default": "mean"},
        },
        "required": ["column"],
    }
    input_schema = {"dataset": "dataframe"}
    output_schema = {"stats": "json"}

    def execute(self, config, inputs, storage):
        df = storage.load_dataframe(inputs["dataset"])
        column = config["column"]
        if column not in df.columns:
            raise ValueError(f"Column '{column}' not found")
        value = float(getattr(df[column], config["statistic"])())
        ref = storage.save_json("_p", "_n", "stats", {"column": column, config["statistic"]: value, "rows": len(df)})
        return {"stats": ref}

    def get_output_preview(self, outputs, storage):
        stats = storage.load_json(outputs["stats"])
        return {"metrics": {k: v for k, v in stats.items() if isinstance(v, (int, float))}}


# --------------------------------------------------------------------------- helpers


def _pipeline(factor: float = 3) -> tr.Pipeline:
    p = tr.Pipeline("compat")
    p.add("data_load", id="load", source="sample", sample_name="iris")
    p.add(ScaleCard, id="scale", factor=factor)
    p.connect("load", "dataset", "scale", "dataset")
    return p


def _memory() -> str:
    return f"memory://compat-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def scale_run():
    return _pipeline().run(storage=_memory())


# --------------------------------------------------------------------------- tests


class TestClassContract:
    def test_to_schema_is_the_original_card_schema(self):
        assert ScaleCard.to_schema() == {
            "card_type": "compat_scale",
            "display_name": "Scale",
            "description": "Multiply every numeric column by a factor",
            "category": "data",
            "execution_mode": "local",
            "config_schema": ScaleCard.config_schema,
            "input_schema": {"dataset": "dataframe"},
            "output_schema": {"scaled": "dataframe"},
            "output_view_type": "table",
        }

    def test_check_definition_passes(self):
        ScaleCard.check_definition()
        ColumnStatsCard.check_definition()

    def test_flat_config_is_normalised(self):
        schema = ScaleCard.json_schema()
        assert schema["properties"]["factor"] == {"type": "number", "default": 2, "title": "Factor"}
        assert ScaleCard.config_schema["factor"]["label"] == "Factor"  # class attribute untouched

    def test_ports(self):
        assert ScaleCard.inputs() == {"dataset": "dataframe"}
        assert ColumnStatsCard.outputs() == {"stats": "json"}


class TestScaleInPipeline:
    def test_run_ok(self, scale_run):
        assert scale_run.ok, scale_run.error("scale")
        assert scale_run.status == {"load": "completed", "scale": "completed"}

    def test_values_are_scaled(self, scale_run):
        original = scale_run.output("load", "dataset")
        scaled = scale_run.output("scale", "scaled")
        assert isinstance(scaled, pd.DataFrame)
        assert scaled.shape == (150, 5)
        numeric = original.select_dtypes("number").columns
        pd.testing.assert_frame_equal(scaled[numeric], (original[numeric] * 3).round(6), check_dtype=False)
        assert scale_run.output("scale") is not None  # single declared output: port may be omitted

    def test_preview_is_what_get_output_preview_returned(self, scale_run):
        preview = scale_run.preview("scale")
        scaled = scale_run.output("scale", "scaled")
        assert preview == {
            "columns": list(scaled.columns),
            "rows": scaled.head(5).values.tolist(),
            "shape": {"rows": 150, "cols": 5},
        }

    def test_hidden_key_is_an_extra_not_an_output(self, scale_run):
        assert set(scale_run.outputs("scale")) == {"scaled"}
        rec = scale_run._state.nodes["scale"]
        assert set(rec.extras) == {"model_meta"}
        assert rec.extras["model_meta"]["type"] == "json"
        meta = scale_run.output("scale", "model_meta")
        assert meta["factor"] == 3
        assert "sepal length (cm)" in meta["columns"]

    def test_pipeline_and_node_ids_were_injected(self, scale_run):
        meta = scale_run.output("scale", "model_meta")
        assert meta["pipeline_id"] == "compat"
        assert meta["node_id"] == "scale"

    def test_local_disk_storage(self, tmp_path):
        run = _pipeline(factor=0.5).run(storage=str(tmp_path))
        assert run.ok, run.error("scale")
        assert run.output("scale", "scaled")["petal width (cm)"].iloc[0] == pytest.approx(0.1)
        assert any(tmp_path.rglob("scaled.parquet"))

    def test_default_factor_from_flat_schema(self):
        p = tr.Pipeline("compat")
        p.add("data_load", id="load", source="sample", sample_name="iris")
        node = p.add(ScaleCard, id="scale")
        p.connect("load", "scale")
        assert node.resolved_config() == {"factor": 2, "round_digits": 6}
        run = p.run(storage=_memory())
        assert run.ok
        assert run.output("scale", "model_meta")["factor"] == 2

    def test_string_config_is_coerced(self):
        p = _pipeline(factor="1.5")
        assert p.node("scale").resolved_config()["factor"] == 1.5

    def test_bad_flat_config_names_node_and_field(self):
        p = tr.Pipeline("compat")
        with pytest.raises(tr.CardConfigError, match=r"node 'scale' \(compat_scale\): factor: expected a number") as ei:
            p.add(ScaleCard, id="scale", factor="big")
        assert ei.value.problems == [
            {"node_id": "scale", "field": "factor", "message": "expected a number, got string 'big'"}
        ]


class TestJsonSchemaCardInPipeline:
    def _pipeline(self, **config) -> tr.Pipeline:
        p = tr.Pipeline("compat-stats")
        p.add("data_load", id="load", source="sample", sample_name="iris")
        p.add(ScaleCard, id="scale", factor=2)
        p.add(ColumnStatsCard, id="stats", **config)
        p.connect("load", "dataset", "scale", "dataset")
        p.connect("scale", "scaled", "stats", "dataset")
        return p

    def test_required_field(self):
        with pytest.raises(tr.CardConfigError, match=r"node 'stats' \(compat_stats\): column: is required"):
            self._pipeline()

    def test_enum_did_you_mean(self):
        with pytest.raises(tr.CardConfigError, match=r"statistic: must be one of .*\(did you mean 'max'\?\)"):
            self._pipeline(column="target", statistic="mx")

    def test_chain_runs(self):
        run = self._pipeline(column="petal length (cm)", statistic="max").run(storage=_memory())
        assert run.ok, run.error("stats")
        stats = run.output("stats", "stats")
        assert stats == {"column": "petal length (cm)", "max": pytest.approx(13.8), "rows": 150}
        assert run.preview("stats") == {"metrics": {"max": pytest.approx(13.8), "rows": 150}}
        assert run.outputs("stats")["stats"]["type"] == "json"

    def test_card_exception_fails_the_node(self):
        run = self._pipeline(column="no_such_column").run(storage=_memory())
        assert not run.ok
        assert run.status == {"load": "completed", "scale": "completed", "stats": "failed"}
        assert run.error("stats")["type"] == "ValueError"
        assert "Column 'no_such_column' not found" in run.error("stats")["message"]
        with pytest.raises(tr.NodeFailedError, match="stats"):
            run.output("stats", "stats")


class TestMissingOutput:
    def test_declared_output_not_returned(self):
        class ForgetfulCard(BaseCard):
            card_type = "compat_forgetful"
            display_name = "Forgetful"
            description = "Declares an output it never returns"
            category = "data"
            execution_mode = "local"
            output_view_type = "table"
            input_schema = {"dataset": "dataframe"}
            output_schema = {"result": "dataframe"}

            def execute(self, config, inputs, storage):
                storage.save_dataframe("_p", "_n", "other", storage.load_dataframe(inputs["dataset"]))
                return {}

            def get_output_preview(self, outputs, storage):
                return {}

        p = tr.Pipeline("compat-missing")
        p.add("data_load", id="load", source="sample", sample_name="iris")
        p.add(ForgetfulCard, id="forget")
        p.connect("load", "forget")
        run = p.run(storage=_memory())
        assert run.status["forget"] == "failed"
        assert run.error("forget")["type"] == "MissingOutputError"
        assert "'result'" in run.error("forget")["message"]
