"""Scoring throughput: rsad's default (int8 on the CPU) and fp32 paths vs transformers.pipeline.

All score the same texts with the same weights in one run, interleaved slice by slice, so
the ratio holds on a noisy machine even when absolute times do not.

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
        from rsad.data.synth import make_demo_tables

        texts = make_demo_tables()[0]["behavior_description"].astype(str)
        source = "rsad.data.synth demo records (../shared/data absent)"
    words = texts.str.split().str.len()
    pool = texts[(words >= 10) & (words <= 120)]
    return pool.sample(n=min(n, len(pool)), random_state=seed).tolist(), source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--slices", type=int, default=4,
                        help="the texts are cut in this many slices; each slice runs every path in turn")
    parser.add_argument("--model", default="", help="model folder (default: the embedded MiniLM)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    from rsad.config import embedded_base_model
    from rsad.model.classifier import Classifier

    texts, source = load_texts(args.n)
    folder = args.model or embedded_base_model()
    exact = Classifier.load(folder, device=args.device, max_length=args.max_length, precision="fp32")
    fast = Classifier.load(folder, device=args.device, max_length=args.max_length, precision="auto")
    torch_int8 = Classifier.load(folder, device=args.device, max_length=args.max_length, precision="int8")
    print(f"{len(texts):,} texts from {source}; model {args.model or 'embedded MiniLM'}; "
          f"device {exact.device}; torch threads {torch.get_num_threads()}; max length {args.max_length}; "
          f"fast path: {fast.precision}; load average {os.getloadavg()[0]:.2f}")

    pipe = pipeline("text-classification", model=exact.model, tokenizer=exact.tokenizer, device=exact.device,
                    top_k=None, truncation=True, max_length=args.max_length)

    def run_pipe(part: list[str]) -> np.ndarray:
        return np.array([next(d["score"] for d in row if d["label"] == "anomaly") for row in pipe(part)])

    paths = {
        "transformers.pipeline": run_pipe,
        "rsad fp32 (sorted, padded)": lambda part: exact.score(part, batch_size=args.batch_size),
        **({"rsad int8 (PyTorch dynamic)": lambda part: torch_int8.score(part, batch_size=args.batch_size)}
           if fast.precision == "onnx-int8" else {}),
        f"rsad {fast.precision} (default)": lambda part: fast.score(part, batch_size=args.batch_size),
    }
    for fn in paths.values():  # warm-up: allocator, kernels, quantized weights packing
        fn(texts[:32])
    seconds = {k: 0.0 for k in paths}
    scores: dict[str, list[np.ndarray]] = {k: [] for k in paths}
    slice_ratio: list[float] = []
    for part in np.array_split(np.array(texts, dtype=object), args.slices):
        part = part.tolist()
        took = {}
        for name, fn in paths.items():  # interleaved: load changes hit every path alike
            t0 = time.perf_counter()
            scores[name].append(fn(part))
            took[name] = time.perf_counter() - t0
            seconds[name] += took[name]
        slice_ratio.append(took["transformers.pipeline"] / took[list(paths)[-1]])
    base = seconds["transformers.pipeline"]
    for name in paths:
        print(f"{name:30s}: {len(texts) / seconds[name]:8.1f} texts/s ({seconds[name]:.1f} s)  "
              f"ratio {base / seconds[name]:.2f}x")
    print(f"fast path vs pipeline, per slice: {', '.join(f'{r:.2f}' for r in slice_ratio)} "
          f"(median {np.median(slice_ratio):.2f}x)")
    ref = np.concatenate(scores["transformers.pipeline"])
    for name in list(paths)[1:]:
        print(f"max |score difference| {name} vs pipeline: {np.abs(np.concatenate(scores[name]) - ref).max():.2e}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
