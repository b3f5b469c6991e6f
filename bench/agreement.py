"""Does the fast scoring path agree with fp32? Max |score difference| and ROC-AUC change.

Scores the test split of ../shared/data/fake_reviews.csv (4,000 reviews) with a fine-tuned
version twice, fp32 and the default fast path (int8 on the CPU), and prints the largest score
difference, both ROC-AUCs and their difference (the issue asks for <= 0.005), plus how many
cases change side of the version's threshold.

    python bench/agreement.py --model models/v1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fake_reviews.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a fine-tuned version folder (rsad_model.json inside)")
    parser.add_argument("--data", default=str(SHARED))
    parser.add_argument("--n", type=int, default=0, help="only the first N test rows (0: all)")
    parser.add_argument("--precision", default="auto",
                        help="the fast path to compare with fp32 (auto, int8, onnx-int8; several: comma-separated)")
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from rsad.model.card import read_card
    from rsad.model.classifier import Classifier

    df = pd.read_csv(args.data)
    df = df[df["split"] == "test"]
    if args.n:
        df = df.head(args.n)
    texts, y = df["behavior_description"].astype(str).tolist(), df["is_anomaly"].to_numpy(int)
    card = read_card(Path(args.model))
    max_length = int(card.train_config.get("max_length", 128))
    truncation = card.train_config.get("truncation", "head")
    exact = Classifier.load(args.model, device="cpu", max_length=max_length, precision="fp32", truncation=truncation)
    fast = Classifier.load(args.model, device="cpu", max_length=max_length, precision=args.precision,
                           truncation=truncation)
    print(f"{len(texts):,} test rows of {args.data}; version {args.model}; fast path {fast.precision}; "
          f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    s32 = exact.score(texts)
    t32 = time.perf_counter() - t0
    t0 = time.perf_counter()
    sfast = fast.score(texts)
    tfast = time.perf_counter() - t0
    auc32, aucfast = roc_auc_score(y, s32), roc_auc_score(y, sfast)
    diff = np.abs(s32 - sfast)
    flips = int(((s32 >= card.threshold) != (sfast >= card.threshold)).sum())
    print(f"fp32            : ROC-AUC {auc32:.5f}  ({len(texts) / t32:.1f} texts/s)")
    print(f"{fast.precision:16s}: ROC-AUC {aucfast:.5f}  ({len(texts) / tfast:.1f} texts/s)")
    print(f"ROC-AUC change  : {aucfast - auc32:+.5f} (limit +-0.005)")
    print(f"|score diff|    : max {diff.max():.4f}, mean {diff.mean():.5f}, 99th pct {np.quantile(diff, 0.99):.4f}")
    print(f"threshold {card.threshold:.3f}: {flips} of {len(texts):,} cases change side")


if __name__ == "__main__":
    main()
