"""The paired bootstrap of candidate − active (rsad.evaluation.bootstrap) on synthetic scores."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from rsad.errors import InputError
from rsad.evaluation import bootstrap as bs
from rsad.i18n import use_language

pytestmark = pytest.mark.unit


def _cases(n: int = 600, rate: float = 0.1, seed: int = 3):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    noise = rng.normal(size=(3, n))
    # The same noise under all three: what the pairing cancels. Scores in [0, 1] like a model's.
    good = 1 / (1 + np.exp(-(noise[0] + 3.0 * y)))
    fair = 1 / (1 + np.exp(-(noise[0] + 1.0 * y)))
    return y, good, fair


def test_a_clearly_better_scorer_is_better_and_a_worse_one_worse():
    y, good, fair = _cases()
    better = bs.paired_bootstrap(y, good, fair, 0.5, 0.5, resamples=500)
    assert better.verdict == "better" and better.headline.low > 0
    assert (better.n, better.anomalies) == (600, int(y.sum())) and better.resamples == 500
    assert better.metrics["roc_auc"].verdict == "better"
    worse = bs.paired_bootstrap(y, fair, good, 0.5, 0.5, resamples=500)
    assert worse.verdict == "worse" and worse.headline.high < 0
    assert worse.headline.delta == pytest.approx(-better.headline.delta)


def test_identical_scores_are_indistinguishable_and_only_the_threshold_moves_f1():
    y, good, _fair = _cases()
    same = bs.paired_bootstrap(y, good, good.copy(), 0.5, 0.5, resamples=300)
    for m in same.metrics.values():
        assert (m.delta, m.low, m.high, m.verdict) == (0.0, 0.0, 0.0, "indistinguishable")
    lower = bs.paired_bootstrap(y, good, good, 0.05, 0.5, resamples=300)  # flags nearly everything
    assert lower.verdict == "indistinguishable" and lower.metrics["f1"].verdict == "worse"


def test_point_values_are_sklearns_and_every_interval_holds_its_delta():
    y, good, fair = _cases(n=300, rate=0.2, seed=5)
    good, fair = np.round(good, 2), np.round(fair, 2)  # ties, grouped as scikit-learn groups them
    out = bs.paired_bootstrap(y, good, fair, 0.4, 0.6, resamples=400)
    expected = {"pr_auc": average_precision_score, "roc_auc": roc_auc_score}
    for k, fn in expected.items():
        assert out.metrics[k].candidate == pytest.approx(fn(y, good), abs=1e-12)
        assert out.metrics[k].active == pytest.approx(fn(y, fair), abs=1e-12)
    assert out.metrics["f1"].candidate == pytest.approx(f1_score(y, good >= 0.4), abs=1e-12)
    assert out.metrics["f1"].active == pytest.approx(f1_score(y, fair >= 0.6), abs=1e-12)
    for m in out.metrics.values():
        assert m.low <= m.delta <= m.high
        assert m.delta == pytest.approx(m.candidate - m.active)


def test_resampled_metrics_equal_sklearn_with_the_counts_as_weights():
    y, good, _fair = _cases(n=200, rate=0.15, seed=7)
    good = np.round(good, 1)
    counts, _redrawn = bs._draw(np.random.default_rng(0), y.astype(float), 6)
    ap, roc = bs._Ranked(y.astype(float), good).aucs(counts)
    f1 = bs._f1(counts, y.astype(float), (good >= 0.5).astype(float))
    for i, w in enumerate(counts):
        assert ap[i] == pytest.approx(average_precision_score(y, good, sample_weight=w), abs=1e-12)
        assert roc[i] == pytest.approx(roc_auc_score(y, good, sample_weight=w), abs=1e-12)
        assert f1[i] == pytest.approx(f1_score(y, good >= 0.5, sample_weight=w), abs=1e-12)


def test_seeded_and_repeatable_and_one_class_resamples_are_redrawn():
    y, good, fair = _cases(n=40, rate=0.05, seed=11)
    y[:2] = [1, 0]
    a = bs.paired_bootstrap(y, good, fair, 0.5, 0.5, resamples=300, seed=4)
    b = bs.paired_bootstrap(y, good, fair, 0.5, 0.5, resamples=300, seed=4)
    c = bs.paired_bootstrap(y, good, fair, 0.5, 0.5, resamples=300, seed=5)
    assert a == b and a.headline != c.headline
    assert a.redrawn > 0  # a few anomalies in 40: some draws had none, and were drawn again
    with pytest.raises(InputError, match="both anomalies and normal"):
        bs.paired_bootstrap(np.zeros(20), good[:20], fair[:20], 0.5, 0.5)
    with pytest.raises(InputError, match="same length"):
        bs.paired_bootstrap(y, good[:-1], fair, 0.5, 0.5)


def test_the_record_and_the_verdict_line_in_both_languages():
    y, good, fair = _cases()
    out = bs.paired_bootstrap(y, good, fair, 0.5, 0.5, resamples=200)
    record = out.record("v1")
    assert record["against"] == "v1" and record["verdict"] == "better" and record["n"] == 600
    assert set(record["pr_auc"]) == {"candidate", "active", "delta", "low", "high", "verdict"}
    line = bs.verdict_line(out, "v2", "v1")
    head = out.headline
    assert line == (f"v2 is better than v1 on 600 held-out cases ({out.anomalies} anomalies): PR-AUC "
                    f"{head.delta:+.3f} (95% CI {head.low:+.3f} to {head.high:+.3f}).")
    assert bs.verdict_line(record, "v2", "v1") == line
    same = bs.paired_bootstrap(y, good, good, 0.5, 0.5, resamples=50)
    assert bs.verdict_line(same, "v2", "v1").startswith("v2 cannot be told apart from v1")
    with use_language("zh"):
        assert "v2" in bs.verdict_line(out, "v2", "v1") and "better" not in bs.verdict_line(out, "v2", "v1")
        assert bs.verdict_word("indistinguishable") != "indistinguishable"
