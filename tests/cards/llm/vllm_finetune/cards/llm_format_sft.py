from tensorrag import BaseCard


class LLMFormatSFT(BaseCard):
    card_type = "llm_format_sft"
    display_name = "Format SFT"
    description = "Format records with a prompt template"
    category = "data"
    execution_mode = "local"
    output_view_type = "table"
    config_schema = {
        "template": {
            "type": "string",
            "default": "### Instruction:\\n{instruction}\\n\\n### Input:\\n{input}\\n\\n### Response:\\n{output}",
        },
        "instruction_col": {"type": "string", "default": "instruction"},
        "input_col": {"type": "string", "default": "input"},
        "output_col": {"type": "string", "default": "output"},
    }
    input_schema = {"dataset": "json"}
    output_schema = {"sft_dataset": "json"}

    def execute(self, config, inputs, storage):
        data = storage.load_json(inputs["dataset"])
        template = config["template"].replace("\\n", "\n")
        samples = []
        for r in data["records"]:
            samples.append({"text": template.format(instruction=r.get(config["instruction_col"], ""),
                                                    input=r.get(config["input_col"], ""),
                                                    output=r.get(config["output_col"], ""))})
        out = {"samples": samples, "num_samples": len(samples), "template_used": template}
        return {"sft_dataset": storage.save_json(config["_pipeline_id"], config["_node_id"], "sft_dataset", out)}
