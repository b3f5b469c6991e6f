"""Does the label audit find wrong labels? The demo's 2,500 seed labels with some flipped on purpose.

Flips ``--flip`` labels (seeded), runs the audit's cross-validated probabilities and cleanlab
ranking (``rsad.ops.audit_model``) on TF-IDF alone, then with the base model's embeddings beside
it, and prints the seconds taken and the share of flipped labels among the top 2 x flip suspects.

    python bench/label_audit.py [--flip 125] [--no-embed]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.config import embedded_base_model  # noqa: E402
from rsad.data.synth import make_demo_tables  # noqa: E402
from rsad.ops.audit_model import out_of_sample, rank_suspects  # noqa: E402
from rsad.ops.coverage import embed_texts  # noqa: E402


def recall(suspects: list, flipped: set[int], k: int) -> float:
    return len({s.index for s in suspects[:k]} & flipped) / len(flipped)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flip", type=int, default=125)
    p.add_argument("--no-embed", action="store_true")
    args = p.parse_args()
    labeled, _unlabeled = make_demo_tables()
    texts = labeled["behavior_description"].tolist()
    y = labeled["is_anomaly"].to_numpy().copy()
    flip = np.random.default_rng(1).choice(len(y), args.flip, replace=False)
    y[flip] = 1 - y[flip]
    flipped, k = set(flip.tolist()), 2 * args.flip
    t = time.monotonic()
    suspects = rank_suspects(y, out_of_sample(texts, y))
    print(f"{len(y):,} labels, {args.flip} flipped; TF-IDF: {time.monotonic() - t:.1f} s, {len(suspects)} suspects, "
          f"{recall(suspects, flipped, k):.0%} of the flipped in the top {k}", flush=True)
    if args.no_embed:
        return
    t = time.monotonic()
    vectors = embed_texts(texts, embedded_base_model(), max_length=128)
    embed_s = time.monotonic() - t
    t = time.monotonic()
    suspects = rank_suspects(y, out_of_sample(texts, y, vectors))
    print(f"+ embeddings: embedding {embed_s:.1f} s, audit {time.monotonic() - t:.1f} s, {len(suspects)} suspects, "
          f"{recall(suspects, flipped, k):.0%} of the flipped in the top {k}", flush=True)


if __name__ == "__main__":
    main()
