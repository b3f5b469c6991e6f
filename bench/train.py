"""Retraining time: fine-tune MiniLM on N labels (default 2,000 of fake_reviews' train split).

First the load-independent part: how many token positions one epoch computes with shuffled
batches and with length-grouped batches, against the real tokens. Then it trains with each
recipe in turn (``--recipes``) and prints wall time, the ratio to the first recipe and the
validation metrics, so the speed-up and any accuracy cost are measured in one run:

- ``default``: TrainConfig as it is (grouped batches, dropout 0, word embeddings frozen,
  fused AdamW);
- ``before``: the recipe before that (dropout 0.1, every weight trained, unfused AdamW);
- ``shuffled``: ``before`` with shuffled batches, the recipe before length grouping.

    python bench/train.py                                  # 2,000 labels, 2 epochs: before, default
    python bench/train.py --recipes shuffled,before,default
    python bench/train.py --n 300 --epochs 1               # a short run on a busy machine
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = ROOT.parent / "shared" / "data" / "fake_reviews.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--recipes", default="before,default")
    args = parser.parse_args()

    import torch

    from rsad.config import embedded_base_model
    from rsad.model.card import TrainConfig
    from rsad.model.classifier import load_pretrained
    from rsad.training import fine_tune as train
    from rsad.training.fine_tune import _batches, fine_tune

    df = pd.read_csv(SHARED)
    df = df[df["split"] == "train"].head(args.n)
    table = pd.DataFrame({"id": df["case_id"], "text": df["behavior_description"].astype(str),
                          "label": df["is_anomaly"].astype(int)})
    _, tok = load_pretrained(embedded_base_model())
    ids = tok(table["text"].tolist(), truncation=True, max_length=128)["input_ids"]
    y = table["label"].to_numpy()
    real = sum(len(r) for r in ids)
    for grouped in (False, True):
        computed = sum(len(b) * max(len(r) for r in b)
                       for b, _ in _batches(ids, y, args.batch_size, np.random.default_rng(0), grouped))
        print(f"{'grouped ' if grouped else 'shuffled'} batches: {computed:,} token positions per epoch for "
              f"{real:,} real tokens ({computed / real:.2f}x)")
    print(f"{len(table):,} labels, {args.epochs} epochs, batch {args.batch_size}, max length 128, CPU, "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}")
    fused = train._adamw
    plain = lambda groups, lr: torch.optim.AdamW(groups, lr=lr)  # noqa: E731 - the optimizer before
    first = None
    for recipe in [r for r in args.recipes.split(",") if r]:
        config = TrainConfig(base_model=embedded_base_model(), epochs=args.epochs, batch_size=args.batch_size,
                             early_stopping_patience=0)
        if recipe in ("before", "shuffled"):
            config = replace(config, dropout=0.1, freeze_word_embeddings=False, group_by_length=recipe == "before")
        elif recipe != "default":
            sys.exit(f"unknown recipe {recipe!r}: use default, before or shuffled")
        train._adamw = fused if recipe == "default" else plain
        t0 = time.perf_counter()
        try:
            result = fine_tune(table, config, device="cpu")
        finally:
            train._adamw = fused
        took = time.perf_counter() - t0
        first = first or took
        m = result.metrics
        print(f"{recipe:8s}: {took:6.1f} s ({took / 60:.1f} min, {first / took:.2f}x the first); validation "
              f"ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, F1 {m['f1']:.3f}; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
