from tensorrag import BaseCard


class LLMLoadDataset(BaseCard):
    card_type = "llm_load_dataset"
    display_name = "Load Dataset"
    description = "Load an instruction dataset from the Hugging Face Hub"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "source": {"type": "string", "default": "tatsu-lab/alpaca"},
        "split": {"type": "string", "default": "train"},
        "max_samples": {"type": "number", "default": 1000},
    }
    input_schema = {}
    output_schema = {"dataset": "json"}

    def execute(self, config, inputs, storage):
        from datasets import load_dataset

        ds = load_dataset(config["source"], split=config["split"])
        if config["max_samples"]:
            ds = ds.select(range(min(int(config["max_samples"]), len(ds))))
        records = [dict(r) for r in ds]
        data = {"records": records, "num_samples": len(records), "columns": ds.column_names,
                "source": config["source"]}
        return {"dataset": storage.save_json(config["_pipeline_id"], config["_node_id"], "dataset", data)}

    def get_output_preview(self, outputs, storage):
        data = storage.load_json(outputs["dataset"])
        return {"columns": data["columns"], "rows": data["records"][:10], "total_rows": data["num_samples"]}
