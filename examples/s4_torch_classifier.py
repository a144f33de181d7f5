"""S4: a torch classifier on iris — data_load -> scale -> data_split -> model_define_gpu -> train_gpu -> evaluate.

``task="classification"`` trains with cross-entropy; evaluate reports accuracy and F1 and draws
the confusion matrix. Seeded: the local and the process executor give the same metrics.

Run it with ``python examples/s4_torch_classifier.py``. Needs ``pip install 'tensorrag[ml,torch]'``.
"""

from __future__ import annotations

import tensorrag as tr

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def build(scale: bool = True, epochs: int = 60) -> tr.Pipeline:
    """The S4 pipeline (``scale=False`` leaves out the ``scale`` node: train_gpu z-scores anyway)."""
    p = tr.Pipeline("s4-torch-classifier")
    p.add("data_load", id="load", source="sample", sample_name="iris")
    p.add("data_split", id="split", test_ratio=0.2, random_seed=42, stratify_column="target")
    if scale:
        p.add("scale", id="scale", method="standard", columns=FEATURES)
        p.connect("load", "dataset", "scale", "dataset")
        p.connect("scale", "dataset", "split", "dataset")
    else:
        p.connect("load", "dataset", "split", "dataset")
    p.add(
        "model_define_gpu",
        id="define",
        model_type="neural_network",
        task="classification",
        hidden_layers=[16, 8],
        activation="relu",
        dropout=0.0,
        learning_rate=0.01,
        epochs=epochs,
        batch_size=16,
    )
    p.add("train_gpu", id="train", target_column="target")
    p.add("evaluate", id="evaluate", target_column="target", metrics=["accuracy", "f1"])
    p.connect("split", "train_dataset", "train", "train_dataset")
    p.connect("define", "model_spec", "train", "model_spec")
    p.connect("train", "trained_model", "evaluate", "trained_model")
    p.connect("split", "test_dataset", "evaluate", "test_dataset")
    return p


if __name__ == "__main__":
    run = build().run()
    print("train accuracy:", run.output("train", "train_metrics")["train_accuracy"])
    print("test:", run.output("evaluate", "eval_report"))
