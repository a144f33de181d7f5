"""LLM fine-tuning cards (``pip install 'tensorrag[llm]'``): data, model, LoRA, SFT, eval, merge, generate.

Models, adapters and tokenizers travel as ``directory`` artifacts (``storage.save_directory`` /
``storage.load_directory``), never as paths. A model directory holds the checkpoint and its
tokenizer, plus ``tensorrag_llm.json`` (how to load it: quantization, dtype, where it came
from). A LoRA directory holds ``base/`` (the model) and ``adapter/`` (peft ``save_pretrained``).
torch, transformers, peft and trl are imported inside the functions that need them.
"""
