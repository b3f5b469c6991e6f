"""Which unlabeled cases to label next so that a retraining learns the most from them.

Three orders, on arrays (the store-side queue is :mod:`rsad.ops.next_cases`; the simulation
that measures them is ``bench/active_learning.py``):

- ``random``: a seeded random order, the baseline every other order has to beat.
- ``uncertain``: closest to the alert threshold first, the Review queue's "most uncertain" order.
- ``active`` (the desk's order): uncertainty and diversity together. Among the ``POOL_FACTOR × n``
  most uncertain cases, pick greedily the case whose uncertainty times its cosine distance to the
  cases already picked (and, when given, to cases already labeled) is largest: a weighted
  k-center. A page of 50 is then 50 different kinds of borderline case, not 50 copies of one
  template, which is what plain uncertainty gives on platform logs full of near-duplicates.
"""

from __future__ import annotations

import numpy as np

from rsad.errors import InputError
from rsad.i18n import _

STRATEGIES = ("active", "uncertain", "random")
POOL_FACTOR = 10  # candidates per case asked for: wide enough for diversity, still borderline


def uncertainty(scores: np.ndarray, threshold: float) -> np.ndarray:
    """1 at the threshold, falling linearly to 0 at the far end of each side (0 or 1).

    Rank-equivalent to the Review queue's "most uncertain first" (distance to the threshold)."""
    s = np.asarray(scores, dtype=np.float64)
    t = float(np.clip(threshold, 1e-6, 1 - 1e-6))
    return 1.0 - np.abs(s - t) / max(t, 1.0 - t)


def most_uncertain(scores: np.ndarray, threshold: float, k: int) -> np.ndarray:
    """Indices of the ``k`` cases nearest the threshold, nearest first (ties: lower index first)."""
    u = uncertainty(scores, threshold)
    return np.lexsort((np.arange(len(u)), -u))[: max(0, k)]


def diverse(vectors: np.ndarray, weights: np.ndarray, n: int, taken: np.ndarray | None = None) -> list[int]:
    """Greedy weighted k-center: repeatedly the row maximising weight × distance to the nearest row
    picked so far (or in ``taken``). ``vectors`` are L2-normalised; distance is cosine distance."""
    m = len(vectors)
    if m == 0 or n <= 0:
        return []
    w = np.clip(np.asarray(weights, dtype=np.float64), 1e-6, None)
    nearest = np.ones(m)  # no row picked yet: every row is equally far, the weight decides
    if taken is not None and len(taken):
        nearest = np.clip(1.0 - (vectors @ taken.T).max(axis=1), 0.0, None)
    picked: list[int] = []
    free = np.ones(m, dtype=bool)
    for _step in range(min(n, m)):
        gain = np.where(free, w * nearest, -np.inf)
        i = int(np.argmax(gain))
        picked.append(i)
        free[i] = False
        nearest = np.minimum(nearest, np.clip(1.0 - vectors @ vectors[i], 0.0, None))
    return picked


def choose(scores: np.ndarray, threshold: float, n: int, strategy: str = "active", *,
           vectors: np.ndarray | None = None, taken: np.ndarray | None = None, seed: int = 0) -> list[int]:
    """Indices of the ``n`` cases to label next, in order, by ``strategy`` (one of STRATEGIES).

    ``vectors`` (one L2-normalised row per score) are needed for ``active``; ``taken`` are the
    vectors of cases already labeled, kept away from."""
    m = len(scores)
    n = min(n, m)
    if strategy == "random":
        return np.random.default_rng(seed).permutation(m)[:n].tolist()
    if strategy == "uncertain":
        return most_uncertain(scores, threshold, n).tolist()
    if strategy != "active":
        raise InputError(_("Unknown strategy {strategy!r}: use one of {strategies}.").format(
            strategy=strategy, strategies=", ".join(STRATEGIES)))
    if vectors is None or len(vectors) != m:
        raise InputError(_("The active order needs one embedding per case ({vectors} for {n} scores).").format(
            vectors=0 if vectors is None else len(vectors), n=m))
    pool = most_uncertain(scores, threshold, POOL_FACTOR * n)
    u = uncertainty(np.asarray(scores)[pool], threshold)
    return [int(pool[i]) for i in diverse(np.asarray(vectors)[pool], u, n, taken)]
