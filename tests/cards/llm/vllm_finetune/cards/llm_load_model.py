from tensorrag import BaseCard


class LLMLoadModel(BaseCard):
    card_type = "llm_load_model"
    display_name = "Load Model"
    description = "Load a causal LM (4-bit) and its tokenizer"
    category = "model"
    execution_mode = "local"
    output_view_type = "model_summary"
    config_schema = {
        "model_name": {"type": "string", "default": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"},
        "load_in_4bit": {"type": "boolean", "default": True},
        "cache_dir": {"type": "string", "default": "/tmp/hf_cache"},
    }
    input_schema = {}
    output_schema = {"model_config": "json"}

    def execute(self, config, inputs, storage):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

        tok = AutoTokenizer.from_pretrained(config["model_name"], cache_dir=config["cache_dir"])
        quant = None
        if config["load_in_4bit"]:
            quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                       bnb_4bit_compute_dtype=torch.float16)
        model = AutoModelForCausalLM.from_pretrained(config["model_name"], quantization_config=quant,
                                                     device_map="auto", cache_dir=config["cache_dir"])
        meta = {"model_name": config["model_name"], "load_in_4bit": config["load_in_4bit"],
                "cache_dir": config["cache_dir"], "num_parameters": model.num_parameters(),
                "vocab_size": len(tok), "model_type": model.config.model_type}
        return {"model_config": storage.save_json(config["_pipeline_id"], config["_node_id"], "model_config", meta)}
