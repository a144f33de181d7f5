"""The built-in card types, as ``card_type -> "module.path:ClassName"`` strings.

Nothing is imported here: the registry resolves an entry the first time the card type is
used, so ``import tensorrag`` stays fast and never pulls in scikit-learn or matplotlib.
The classes live in :mod:`tensorrag.cards.data` and :mod:`tensorrag.cards.ml` and need the
``ml`` extra (``pip install 'tensorrag[ml]'``) only when they run; those in
:mod:`tensorrag.cards.torch` need the ``torch`` extra.
"""

from __future__ import annotations

__all__ = ["BUILTIN_CARDS", "BUILTIN_MODEL_FORMATS"]

BUILTIN_CARDS: dict[str, str] = {
    "data_load": "tensorrag.cards.data.load:DataLoadCard",
    "data_split": "tensorrag.cards.data.split:DataSplitCard",
    "model_define": "tensorrag.cards.ml.define:ModelDefineCard",
    "train": "tensorrag.cards.ml.train:TrainCard",
    "evaluate": "tensorrag.cards.ml.evaluate:EvaluateCard",
    "inference": "tensorrag.cards.ml.inference:InferenceCard",
    # --- issue 12, data and classical ML (cards/data, cards/ml) ---
    "csv_loader": "tensorrag.cards.data.load:CsvLoaderCard",
    "train_val_test_split": "tensorrag.cards.data.split3:TrainValTestSplitCard",
    "select_columns": "tensorrag.cards.data.columns:SelectColumnsCard",
    "filter_columns": "tensorrag.cards.data.columns:FilterColumnsCard",
    "filter_rows": "tensorrag.cards.data.columns:FilterRowsCard",
    "text_preprocessor": "tensorrag.cards.data.columns:TextPreprocessorCard",
    "fill_missing": "tensorrag.cards.data.clean:FillMissingCard",
    "scale": "tensorrag.cards.data.transform:ScaleCard",
    "feature_scaler": "tensorrag.cards.data.transform:FeatureScalerCard",
    "encode": "tensorrag.cards.data.transform:EncodeCard",
    "apply_transform": "tensorrag.cards.data.transform:ApplyTransformCard",
    "join": "tensorrag.cards.data.combine:JoinCard",
    "concat": "tensorrag.cards.data.combine:ConcatCard",
    "random_forest": "tensorrag.cards.ml.forest:RandomForestCard",
    "cross_validate": "tensorrag.cards.ml.validate:CrossValidateCard",
    "confusion_matrix": "tensorrag.cards.ml.confusion:ConfusionMatrixCard",
    "accuracy_calc": "tensorrag.cards.ml.confusion:AccuracyCalcCard",
    "feature_importance": "tensorrag.cards.ml.importance:FeatureImportanceCard",
    # --- end of issue 12 data and classical ML ---
    # --- issue 13, LLM fine-tuning (cards/llm; pip install 'tensorrag[llm]') ---
    "llm_load_dataset": "tensorrag.cards.llm.data:LoadDatasetCard",
    "llm_filter_clean": "tensorrag.cards.llm.data:FilterCleanCard",
    "llm_train_val_split": "tensorrag.cards.llm.data:TrainValSplitCard",
    "llm_format_sft": "tensorrag.cards.llm.data:FormatSftCard",
    "llm_tokenize": "tensorrag.cards.llm.tokenize:TokenizeCard",
    "llm_load_model": "tensorrag.cards.llm.model:LoadModelCard",
    "llm_load_checkpoint": "tensorrag.cards.llm.model:LoadCheckpointCard",
    "llm_apply_lora": "tensorrag.cards.llm.model:ApplyLoraCard",
    "llm_finetune": "tensorrag.cards.llm.train:FinetuneCard",
    "llm_finetune_lora": "tensorrag.cards.llm.train:FinetuneLoraCard",
    "llm_eval": "tensorrag.cards.llm.evaluate:EvalCard",
    "llm_merge_export": "tensorrag.cards.llm.export:MergeExportCard",
    "llm_generate": "tensorrag.cards.llm.generate:GenerateCard",
    "llm_vllm_inference": "tensorrag.cards.llm.generate:VllmInferenceCard",
    "llm_vllm_serve": "tensorrag.cards.llm.generate:VllmServeCard",
    # --- end of issue 13 LLM fine-tuning ---
}

# --- torch cards (pip install 'tensorrag[torch]'; torch is imported only when they run) ---
BUILTIN_CARDS.update(
    {
        "model_define_gpu": "tensorrag.cards.torch.define:ModelDefineGpuCard",
        "train_gpu": "tensorrag.cards.torch.train:TrainGpuCard",
        "torch_module": "tensorrag.cards.torch.module:TorchModuleCard",
        "training_build_model": "tensorrag.cards.torch.steps:BuildModelCard",
        "training_init_optimizer": "tensorrag.cards.torch.steps:InitOptimizerCard",
        "training_prepare_batch": "tensorrag.cards.torch.steps:PrepareBatchCard",
        "training_zero_grad": "tensorrag.cards.torch.steps:ZeroGradCard",
        "training_forward": "tensorrag.cards.torch.steps:ForwardCard",
        "training_loss": "tensorrag.cards.torch.steps:LossCard",
        "training_backward": "tensorrag.cards.torch.steps:BackwardCard",
        "training_optimizer_step": "tensorrag.cards.torch.steps:OptimizerStepCard",
        "training_loop": "tensorrag.cards.torch.loop:TrainingLoopCard",
    }
)
#: Model artifact formats that are weights + description, not pickles: extension -> reader.
BUILTIN_MODEL_FORMATS: dict[str, str] = {
    "trtorch": "tensorrag.cards.torch.artifact:read_model",
    "trstate": "tensorrag.cards.torch.state:read_state",
}
