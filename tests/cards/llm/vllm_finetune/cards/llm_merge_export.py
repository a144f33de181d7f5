from tensorrag import BaseCard


class LLMMergeExport(BaseCard):
    card_type = "llm_merge_export"
    display_name = "Merge & Export"
    description = "Merge the LoRA adapter into the base model"
    category = "model"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {"merged_output_dir": {"type": "string", "default": "/tmp/merged_model"}}
    input_schema = {"training_result": "json"}
    output_schema = {"merged_model": "json"}

    def execute(self, config, inputs, storage):
        result = storage.load_json(inputs["training_result"])
        merged = {"model_dir": config["merged_output_dir"], "base_model": result["base_model"]}
        return {"merged_model": storage.save_json(config["_pipeline_id"], config["_node_id"], "merged_model", merged)}
