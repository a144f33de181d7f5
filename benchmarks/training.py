"""S2's ``train_gpu`` through tensorrag against the same torch loop as a plain script.

    python benchmarks/training.py [--repeats 3] [--epochs 20] [--device cpu] [--threads 1]

Same data (boston_housing, the 4,000-row training split), same seed, same network ([64, 32],
ReLU, dropout 0.2), Adam lr 0.001, batch 32, in one process. The tensorrag side is a pipeline
run on a local temporary store in which only the ``train_gpu`` node executes (``cache=False``;
load, split and define are served from the cache), so it pays the engine, the artifact reads and
writes (parquet in, ``.trtorch`` + metrics + loss curve out) and the card's own metrics. The plain
side is the loop below: z-score, seed, ``randperm`` mini-batches, Adam, then train predictions,
run on the main thread; an informational row runs it in a worker thread too (where the local
executor runs cards). Runs are interleaved in a rotating order; the figure is the ratio of median
samples/s (target >= 0.95 x). On a loaded machine the numbers move a lot: repeat, and read the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import load
from _table import Row, number, render

import tensorrag as tr

SEED = 42
SPEC: dict[str, Any] = {
    "model_type": "deep_neural_network",
    "hidden_layers": [64, 32],
    "activation": "relu",
    "dropout": 0.2,
    "learning_rate": 0.001,
    "batch_size": 32,
}


def pipeline(epochs: int, device: str) -> tr.Pipeline:
    """S2 up to ``train_gpu`` (evaluate is not part of the measured training)."""
    p = tr.Pipeline("bench-training")
    p.add("data_load", id="load", source="sample", sample_name="boston_housing")
    p.add("data_split", id="split", test_ratio=0.2, random_seed=42)
    p.add("model_define_gpu", id="define", epochs=epochs, **SPEC)
    p.add("train_gpu", id="train", target_column="MEDV", device=device, seed=SEED, cache=False)
    p.connect("load", "dataset", "split", "dataset")
    p.connect("split", "train_dataset", "train", "train_dataset")
    p.connect("define", "model_spec", "train", "model_spec")
    return p


def plain_script(frame: Any, epochs: int, device: str) -> float:
    """The S2 training written as a plain torch script; returns the final epoch's mean loss."""
    import numpy as np
    import torch

    x = frame.drop(columns="MEDV").to_numpy(np.float64)
    y = frame["MEDV"].to_numpy(np.float64)
    x_mean, x_std = x.mean(0), x.std(0)
    y_mean, y_std = y.mean(), y.std()
    xt = torch.from_numpy(((x - x_mean) / x_std).astype(np.float32)).to(device)
    yt = torch.from_numpy(((y - y_mean) / y_std).astype(np.float32)).to(device)
    torch.manual_seed(SEED)
    gen = torch.Generator()
    gen.manual_seed(SEED)
    nn = torch.nn
    net = nn.Sequential(
        nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(32, 1),
    ).to(device)  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=SPEC["learning_rate"])
    loss_fn = nn.MSELoss()
    batch = SPEC["batch_size"]
    mean = float("nan")
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, len(xt), batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            loss = loss_fn(net(xt[idx]).squeeze(-1), yt[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        mean = float(total.item()) / len(xt)
    net.eval()
    with torch.no_grad():
        pred = net(xt).squeeze(-1).cpu().numpy() * y_std + y_mean
    float(np.mean((pred - y) ** 2))  # the train MSE a script would print
    return mean


def main(argv: list[str] | None = None) -> int:
    """Run both sides interleaved and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for both sides (0: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        # Batches of 32 gain nothing from intra-op threads; one each keeps the sides' thread pools from competing.
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        p = pipeline(args.epochs, args.device)
        first = p.run(storage=os.path.join(tmp, "store"), progress=False, echo=False)
        if not first.ok:
            print(f"the pipeline failed: {first.status}", file=sys.stderr)
            return 1
        frame = first.output("split", "train_dataset")
        samples = len(frame) * args.epochs
        card_loss = first.output("train", "train_metrics")["final_loss"]
        plain_loss = plain_script(frame, args.epochs, args.device)
        sides = ["tensorrag", "plain", "plain_thread"]
        times: dict[str, list[float]] = {side: [] for side in sides}
        for r in range(args.repeats):
            for side in sides[r % 3 :] + sides[: r % 3]:  # rotated: no side always runs first
                t0 = time.perf_counter()
                if side == "tensorrag":
                    run = p.run(storage=os.path.join(tmp, "store"), progress=False, echo=False)
                    assert run.status["train"] == "completed", run.status
                elif side == "plain":
                    plain_script(frame, args.epochs, args.device)
                else:  # the same script in a worker thread, where the local executor runs cards
                    worker = threading.Thread(target=plain_script, args=(frame, args.epochs, args.device))
                    worker.start()
                    worker.join()
                times[side].append(time.perf_counter() - t0)
    medians = {side: statistics.median(ts) for side, ts in times.items()}
    rate = {side: samples / t for side, t in medians.items()}
    ratio = rate["tensorrag"] / rate["plain"]
    rows = [
        Row(
            f"train_gpu S2 ({args.epochs} epochs x {len(frame)} rows, {args.device})",
            f"{number(rate['tensorrag'])} samples/s",
            f"plain torch {number(rate['plain'])} samples/s",
            round(1 / ratio, 3),
            "× time",
            round(1 / 0.95, 3),
            f"samples/s ratio {ratio:.3f} (target >= 0.95); final loss {card_loss:.6f} vs {plain_loss:.6f}",
        ),
        Row(
            "  plain torch in a worker thread",
            f"{number(rate['plain_thread'])} samples/s",
            f"plain torch {number(rate['plain'])} samples/s",
            round(rate["plain"] / rate["plain_thread"], 3),
            "× time",
            note="informational: the thread the card runs in, without tensorrag",
        ),
    ]
    print(render(rows))
    tensorrag_s, plain_s = medians["tensorrag"], medians["plain"]
    print(f"\nmedian of {args.repeats}: tensorrag {tensorrag_s:.3f} s, plain {plain_s:.3f} s; load {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
