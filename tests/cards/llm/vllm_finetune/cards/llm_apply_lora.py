from tensorrag import BaseCard


class LLMApplyLoRA(BaseCard):
    card_type = "llm_apply_lora"
    display_name = "Apply LoRA"
    description = "Wrap the model with a LoRA adapter"
    category = "training"
    execution_mode = "local"
    output_view_type = "model_summary"
    config_schema = {
        "r": {"type": "number", "default": 16},
        "alpha": {"type": "number", "default": 32},
        "dropout": {"type": "number", "default": 0.05},
        "target_modules": {"type": "string", "default": "q_proj,v_proj,k_proj,o_proj"},
    }
    input_schema = {"model_config": "json"}
    output_schema = {"lora_config": "json"}

    def execute(self, config, inputs, storage):
        meta = storage.load_json(inputs["model_config"])
        lora = {**meta, "r": int(config["r"]), "alpha": config["alpha"], "dropout": config["dropout"],
                "target_modules": [m.strip() for m in config["target_modules"].split(",")]}
        return {"lora_config": storage.save_json(config["_pipeline_id"], config["_node_id"], "lora_config", lora)}
