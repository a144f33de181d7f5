from tensorrag import BaseCard


class LLMVLLMInference(BaseCard):
    card_type = "llm_vllm_inference"
    display_name = "vLLM Inference"
    description = "Generate with vLLM"
    category = "inference"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "prompts": {"type": "string", "default": "What is machine learning?"},
        "max_tokens": {"type": "number", "default": 256},
        "temperature": {"type": "number", "default": 0.7},
        "top_p": {"type": "number", "default": 0.9},
    }
    input_schema = {"merged_model": "json"}
    output_schema = {"generations": "json"}

    def execute(self, config, inputs, storage):
        from vllm import LLM, SamplingParams

        merged = storage.load_json(inputs["merged_model"])
        llm = LLM(merged["model_dir"])
        params = SamplingParams(max_tokens=int(config["max_tokens"]), temperature=config["temperature"],
                                top_p=config["top_p"])
        prompts = [p.strip() for p in config["prompts"].split("---") if p.strip()]
        outs = llm.generate(prompts, params)
        gens = [{"prompt": p, "response": o.outputs[0].text, "tokens_generated": len(o.outputs[0].token_ids)}
                for p, o in zip(prompts, outs, strict=True)]
        data = {"generations": gens, "num_prompts": len(gens), "model_dir": merged["model_dir"],
                "total_tokens_generated": sum(g["tokens_generated"] for g in gens)}
        return {"generations": storage.save_json(config["_pipeline_id"], config["_node_id"], "generations", data)}
