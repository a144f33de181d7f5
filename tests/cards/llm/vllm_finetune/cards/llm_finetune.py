from tensorrag import BaseCard


class LLMFinetune(BaseCard):
    card_type = "llm_finetune"
    display_name = "Fine-tune"
    description = "SFT with LoRA (TRL SFTTrainer)"
    category = "training"
    execution_mode = "local"
    output_view_type = "metrics"
    config_schema = {
        "epochs": {"type": "number", "default": 3},
        "batch_size": {"type": "number", "default": 4},
        "learning_rate": {"type": "number", "default": 0.0002},
        "max_seq_length": {"type": "number", "default": 512},
        "output_dir": {"type": "string", "default": "/tmp/lora_adapters"},
    }
    input_schema = {"lora_config": "json", "sft_dataset": "json"}
    output_schema = {"training_result": "json"}

    def execute(self, config, inputs, storage):
        lora = storage.load_json(inputs["lora_config"])
        data = storage.load_json(inputs["sft_dataset"])
        result = {"adapter_dir": config["output_dir"], "base_model": lora["model_name"],
                  "num_samples": data["num_samples"]}
        return {"training_result": storage.save_json(config["_pipeline_id"], config["_node_id"],
                                                     "training_result", result)}
