"""S2: a torch MLP on boston_housing — data_load -> data_split -> model_define_gpu -> train_gpu -> evaluate.

Run it with ``python examples/s2_gpu_mlp.py`` (CPU is fine; ``cuda`` is used when available).
Needs ``pip install 'tensorrag[ml,torch]'``.
"""

from __future__ import annotations

import tensorrag as tr


def build(device: str = "auto", epochs: int = 20) -> tr.Pipeline:
    """The S2 pipeline: a [64, 32] ReLU network with dropout 0.2, Adam lr 0.001, batch 32."""
    p = tr.Pipeline("s2-gpu-mlp")
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
    p.add("train_gpu", id="train", target_column="MEDV", device=device)
    p.add("evaluate", id="evaluate", target_column="MEDV", metrics=["mse", "rmse", "mae", "r2"])
    p.add("inference", id="predict", target_column="prediction")
    p.connect("load", "dataset", "split", "dataset")
    p.connect("split", "train_dataset", "train", "train_dataset")
    p.connect("define", "model_spec", "train", "model_spec")
    p.connect("train", "trained_model", "evaluate", "trained_model")
    p.connect("split", "test_dataset", "evaluate", "test_dataset")
    p.connect("train", "trained_model", "predict", "trained_model")
    p.connect("split", "test_dataset", "predict", "dataset")
    return p


if __name__ == "__main__":
    run = build().run()
    print("train:", {k: v for k, v in run.output("train", "train_metrics").items() if k.startswith("train_")})
    print("test:", run.output("evaluate", "eval_report"))
    print(run.output("predict").head())
