"""S3: step-by-step training — the original's training_* chain, then training_loop, then evaluate.

One pass through build -> init optimizer -> zero grad -> forward -> loss -> backward -> optimizer
step trains one batch; ``training_loop`` repeats those steps for epochs x batches. Every model
port carries one training-state artifact (weights, optimiser state, batch, gradients).

Run it with ``python examples/s3_step_by_step.py``. Needs ``pip install 'tensorrag[ml,torch]'``.
"""

from __future__ import annotations

import tensorrag as tr


def build(epochs: int = 5) -> tr.Pipeline:
    """The S3 pipeline, wired as the original's CORRECTED_TRAINING_FLOW, plus training_loop and evaluate."""
    p = tr.Pipeline("s3-step-by-step")
    p.add("data_load", id="load", source="sample", sample_name="boston_housing")
    p.add("data_split", id="split", test_ratio=0.2, random_seed=42)
    p.add(
        "model_define_gpu",
        id="define",
        model_type="deep_neural_network",
        hidden_layers=[64, 32],
        activation="relu",
        dropout=0.2,
        learning_rate=0.001,
        epochs=epochs,
        batch_size=32,
    )
    p.add("training_build_model", id="build", input_size=13)
    p.add("training_init_optimizer", id="init", optimizer_type="adam", learning_rate=0.001)
    p.add("training_zero_grad", id="zero")
    p.add("training_prepare_batch", id="batch", batch_index=0, batch_size=32, target_column="MEDV")
    p.add("training_forward", id="forward")
    p.add("training_loss", id="loss", loss_type="mse")
    p.add("training_backward", id="backward")
    p.add("training_optimizer_step", id="step")
    p.add("training_loop", id="loop", epochs=epochs, batch_size=32, target_column="MEDV")
    p.add("evaluate", id="evaluate", target_column="MEDV", metrics=["mse", "r2"])
    p.connect("load", "dataset", "split", "dataset")
    p.connect("define", "model_spec", "build", "model_spec")
    p.connect("build", "model", "init", "model")
    p.connect("init", "optimizer", "zero", "optimizer")
    p.connect("init", "model", "forward", "model")
    p.connect("split", "train_dataset", "batch", "train_dataset")
    p.connect("batch", "batch_data", "forward", "batch_data")
    p.connect("batch", "batch_data", "loss", "batch_data")
    p.connect("forward", "predictions", "loss", "predictions")
    p.connect("forward", "model", "backward", "model")
    p.connect("loss", "loss", "backward", "loss")
    p.connect("zero", "optimizer", "step", "optimizer")
    p.connect("backward", "model", "step", "model")
    p.connect("step", "model", "loop", "model")
    p.connect("split", "train_dataset", "loop", "train_dataset")
    p.connect("loop", "trained_model", "evaluate", "trained_model")
    p.connect("split", "test_dataset", "evaluate", "test_dataset")
    return p


if __name__ == "__main__":
    run = build().run()
    print("one step:", run.output("step", "step_info"), "batch loss", run.output("loss", "loss_value"))
    metrics = run.output("loop", "train_metrics")
    print(f"training loop: loss {metrics['loss_before']:.4f} -> {metrics['loss_after']:.4f}")
    print("test:", run.output("evaluate", "eval_report"))
