"""Scoring throughput: rsad's sorted, dynamically padded loop vs transformers.pipeline.

Both score the same texts with the same model object in one run, so the ratio holds on a
noisy machine even when absolute times do not.

    python bench/score.py                  # 2,000 texts, embedded MiniLM, CPU
    python bench/score.py --n 500 --model models/v1 --device cuda
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


def load_texts(n: int, seed: int = 0) -> tuple[list[str], str]:
    """n texts of 10-120 words: real reviews when ../shared/data is there, else demo records."""
    if SHARED.exists():
        texts = pd.read_csv(SHARED)["behavior_description"].astype(str)
        source = str(SHARED)
    else:
        from rsad.synth import make_demo_tables

        texts = make_demo_tables()[0]["behavior_description"].astype(str)
        source = "rsad.synth demo records (../shared/data absent)"
    words = texts.str.split().str.len()
    pool = texts[(words >= 10) & (words <= 120)]
    return pool.sample(n=min(n, len(pool)), random_state=seed).tolist(), source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--model", default="", help="model folder (default: the embedded MiniLM)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from rsad.config import embedded_base_model
    from rsad.model import Classifier

    texts, source = load_texts(args.n)
    clf = Classifier.load(args.model or embedded_base_model(), device=args.device, max_length=args.max_length)
    print(f"{len(texts):,} texts from {source}; model {args.model or 'embedded MiniLM'}; "
          f"device {clf.device}; torch threads {torch.get_num_threads()}; max length {args.max_length}")

    clf.score(texts[:64], batch_size=args.batch_size)  # warm-up: allocator and kernels
    t0 = time.perf_counter()
    ours = clf.score(texts, batch_size=args.batch_size)
    t_ours = time.perf_counter() - t0

    pipe = pipeline("text-classification", model=clf.model, tokenizer=clf.tokenizer, device=clf.device,
                    top_k=None, truncation=True, max_length=args.max_length)
    pipe(texts[:16])
    t0 = time.perf_counter()
    out = pipe(texts)
    t_pipe = time.perf_counter() - t0
    theirs = np.array([next(d["score"] for d in row if d["label"] == "anomaly") for row in out])

    print(f"transformers.pipeline : {len(texts) / t_pipe:8.1f} texts/s ({t_pipe:.1f} s)")
    print(f"rsad Classifier.score : {len(texts) / t_ours:8.1f} texts/s ({t_ours:.1f} s)")
    print(f"ratio                 : {t_pipe / t_ours:8.2f}x")
    print(f"max |score difference|: {np.abs(ours - theirs).max():.2e}")


if __name__ == "__main__":
    main()
