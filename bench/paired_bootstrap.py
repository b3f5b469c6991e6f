"""How fast is the paired bootstrap, how often does it call a difference that is not there, and
how much does pairing narrow the interval? On synthetic scores (docs/decisions/0024).

1. Time: ``paired_bootstrap`` at 1,000 and 4,000 cases, 1,000 and 2,000 resamples (best of 3).
2. Calibration: two versions of equal quality (the same signal, noise they share plus noise of
   their own) on 412 cases, 15 % anomalies, ``--reps`` times: how often the verdict is "better"
   or "worse" (a 95 % interval should do so about 5 % of the time).
3. Pairing: the same pairs' PR-AUC difference with each version resampled on its own cases
   (an unpaired bootstrap, scikit-learn per resample), against the paired interval's width.

    python bench/paired_bootstrap.py [--reps 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import average_precision_score

from rsad.evaluation.bootstrap import paired_bootstrap


def _sig(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def timing() -> None:
    rng = np.random.default_rng(2)
    for n in (1000, 4000):
        y = (rng.random(n) < 0.12).astype(int)
        a, c = rng.random(n) * 0.6 + y * 0.3, rng.random(n) * 0.6 + y * 0.33
        for resamples in (1000, 2000):
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                paired_bootstrap(y, c, a, 0.5, 0.5, resamples=resamples)
                best = min(best, time.perf_counter() - t)
            print(f"{n:5,} cases, {resamples:5,} resamples: {best:.2f} s")


def _unpaired_width(rng: np.random.Generator, y: np.ndarray, c: np.ndarray, a: np.ndarray) -> float:
    n, deltas = len(y), []
    while len(deltas) < 300:
        i, j = rng.integers(0, n, n), rng.integers(0, n, n)
        if 0 < y[i].sum() < n and 0 < y[j].sum() < n:
            deltas.append(average_precision_score(y[i], c[i]) - average_precision_score(y[j], a[j]))
    low, high = np.quantile(deltas, [0.025, 0.975])
    return float(high - low)


def calibration(reps: int, n: int = 412, rate: float = 0.15) -> None:
    rng = np.random.default_rng(42)
    calls = {"better": 0, "worse": 0, "indistinguishable": 0}
    paired, unpaired = [], []
    for r in range(reps):
        y = (rng.random(n) < rate).astype(int)
        shared = rng.normal(size=n)
        a = _sig(shared + 0.5 * rng.normal(size=n) + 2 * y)
        c = _sig(shared + 0.5 * rng.normal(size=n) + 2 * y)
        out = paired_bootstrap(y, c, a, 0.5, 0.5, resamples=1000, seed=r)
        calls[out.verdict] += 1
        paired.append(out.headline.high - out.headline.low)
        if r < 30:
            unpaired.append(_unpaired_width(rng, y, c, a))
    print(f"equal quality, {n} cases, {reps} pairs: verdicts {calls}")
    print(f"median 95 % interval width of the PR-AUC difference: paired {np.median(paired):.3f}, "
          f"unpaired {np.median(unpaired):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    timing()
    calibration(args.reps)


if __name__ == "__main__":
    main()
