"""The orders that pick what to label next (rsad.review.selection), on arrays."""

import numpy as np
import pytest

from rsad.errors import InputError
from rsad.review import selection

pytestmark = pytest.mark.unit


def test_uncertainty_peaks_at_the_threshold():
    u = selection.uncertainty(np.array([0.0, 0.2, 0.3, 0.65, 1.0]), 0.3)
    assert u[2] == pytest.approx(1.0)
    assert u[0] == pytest.approx(1 - 0.3 / 0.7) and u[4] == pytest.approx(0.0)
    assert list(selection.most_uncertain(np.array([0.9, 0.31, 0.1, 0.29]), 0.3, 2)) == [1, 3]


def test_active_order_skips_near_duplicates_that_plain_uncertainty_takes():
    rng = np.random.default_rng(0)
    # 40 copies of one borderline template (nearly the same vector), 20 other borderline kinds a
    # little further from the threshold, and 200 confident cases.
    template = rng.normal(size=16)
    dupes = template + rng.normal(scale=0.01, size=(40, 16))
    kinds = rng.normal(size=(20, 16))
    confident = rng.normal(size=(200, 16))
    vectors = np.vstack([dupes, kinds, confident])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = np.concatenate([np.full(40, 0.50), np.full(20, 0.45), rng.uniform(0.0, 0.05, 200)])

    plain = selection.choose(scores, 0.5, 10, "uncertain")
    assert set(plain) <= set(range(40))  # ten copies of the same case
    desk = selection.choose(scores, 0.5, 10, "active", vectors=vectors)
    assert len(set(desk)) == 10 and all(i < 60 for i in desk)  # still borderline, never confident
    assert sum(i < 40 for i in desk) == 1  # one of the copies, then nine other kinds


def test_taken_vectors_are_kept_away_from_and_orders_are_deterministic():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = rng.uniform(0.3, 0.7, 30)
    first = selection.choose(scores, 0.5, 5, "active", vectors=vectors)
    again = selection.choose(scores, 0.5, 5, "active", vectors=vectors, taken=vectors[first[:1]])
    assert first[0] not in again
    assert selection.choose(scores, 0.5, 5, "random", seed=3) == selection.choose(scores, 0.5, 5, "random", seed=3)
    assert len(set(selection.choose(scores, 0.5, 50, "random"))) == 30


def test_refusals_name_what_is_missing():
    with pytest.raises(InputError, match="strategy"):
        selection.choose(np.zeros(3), 0.5, 2, "newest")
    with pytest.raises(InputError, match="embedding"):
        selection.choose(np.zeros(3), 0.5, 2, "active")
