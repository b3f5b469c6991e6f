"""Foreign-batch warning and drift: the pure measures and rule (rsad.evaluation.drift), then the
check made on scoring with the tiny model, its rows, `rsad score`'s warning and the Overview."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_table
from rsad.evaluation import drift

SMS = [
    "Hey are we still on for dinner tonight? Let me know by 6 {i}",
    "WINNER!! You have been selected to receive a £900 prize reward! Call 09061701461 claim code KL{i}",
    "Sorry, I'll call later, in a meeting right now {i}",
    "Ok lar... Joking wif u oni... see u at 7 {i}",
    "URGENT! Your mobile No. was awarded £2000 Bonus Caller Prize, call 0906{i} now",
    "Did you get the pics? mum says hi and wants you home by sunday {i}",
]
CHINESE = [
    "恭喜您获得本期幸运大奖请尽快联系客服领取奖品编号{i}",
    "明天下午三点在公司楼下见面别迟到了{i}",
    "您的快递已到达驿站请凭取件码领取{i}",
]


def _scores(rng, n, frac=0.12):
    """Scores like a trained classifier's: most near 0, ``frac`` near 1."""
    y = rng.random(n) < frac
    return np.where(y, rng.beta(8, 1.5, n), rng.beta(1, 30, n))


@pytest.fixture
def reference():
    return drift.reference_profile(_scores(np.random.default_rng(1), 700), 0.5, 0.001)


def test_reference_profile_keeps_quantiles_and_the_flagged_share(reference):
    assert len(reference["quantiles"]) == drift.QUANTILES and reference["n"] == 700
    assert reference["quantiles"] == sorted(reference["quantiles"])
    assert 0.08 < reference["flagged_share"] < 0.16 and reference["unknown_token_share"] == 0.001


def test_psi_and_ks_are_small_for_the_same_distribution_and_large_for_another():
    rng = np.random.default_rng(2)
    ref = _scores(rng, 2_000)
    same, shifted = _scores(rng, 2_000), rng.beta(5, 3, 2_000)
    assert drift.psi(ref, same) < 0.05 and drift.ks(ref, same) < 0.06
    assert drift.psi(ref, shifted) > 1.0 and drift.ks(ref, shifted) > 0.6
    assert drift.psi(ref, ref) == pytest.approx(0.0, abs=1e-9)
    # Empty bins stay finite, and bins whose cut points coincide are merged.
    assert np.isfinite(drift.psi(np.zeros(100), np.ones(100)))


def test_a_batch_like_the_validation_set_is_not_foreign(reference):
    rng = np.random.default_rng(3)
    for n in (30, 200, 5_000):
        check = drift.assess(reference, _scores(rng, n), 0.5, 0.002)
        assert not check.foreign, (n, check)
        assert check.reasons == [] and check.psi is not None
        # 30 rows alone can reach PSI 0.25: the rule's noise allowance is what keeps them quiet
        assert check.psi < (1.0 if n < 100 else 0.25)
    # Over many draws, the rule's false alarms stay rare (it allows for sampling noise).
    alarms = sum(drift.assess(reference, _scores(rng, 100), 0.5, 0.002).foreign for _ in range(200))
    assert alarms <= 4


def test_a_shifted_batch_is_foreign_with_the_numbers_in_its_reasons(reference):
    scores = np.random.default_rng(4).beta(5, 3, 400)  # an SMS file: most scores in the middle
    check = drift.assess(reference, scores, 0.5, 0.004)
    assert check.foreign and check.rows == 400
    assert check.psi > 1.0 and check.ks > 0.5 and check.flagged_share > 0.6
    text = " ".join(check.reasons)
    assert f"PSI {check.psi:.2f}" in text and f"KS {check.ks:.2f}" in text
    assert f"flags {check.flagged_share:.0%} of 400 rows vs {check.reference_flagged_share:.0%} on validation" in text
    line = drift.summary(check.as_dict())
    assert line.startswith(f"flagged {check.flagged_share:.0%} of 400 vs ") and "unknown tokens 0.4%" in line


def test_tiny_batches_get_no_score_verdict_and_unknown_tokens_always_count(reference):
    few = np.full(10, 0.9)  # every row flagged, but only ten
    check = drift.assess(reference, few, 0.5, 0.0)
    assert not check.foreign and check.psi is None and check.ks is None
    assert "not judged (under 30 rows)" in drift.summary(check.as_dict())
    chinese = drift.assess(reference, few, 0.5, 0.62)
    assert chinese.foreign and chinese.reasons == ["62.0% of its tokens are unknown to the model's tokenizer (above 5%)."]


def test_without_a_reference_only_the_unknown_tokens_are_judged():
    scores = np.full(500, 0.99)
    check = drift.assess(None, scores, 0.5, 0.01)
    assert not check.foreign and check.reference_flagged_share is None and check.psi is None
    assert "no validation profile" in drift.summary(check.as_dict())
    assert drift.assess(None, scores, 0.5, 0.2).foreign


def test_flagged_share_rule_needs_twice_and_fifteen_points_more(reference):
    ref = drift.reference_profile(np.r_[np.zeros(90), np.ones(10)], 0.5, None)  # 10% flagged on validation
    ok = drift.assess({**ref, "quantiles": ref["quantiles"]}, np.r_[np.zeros(76), np.ones(24)] * 0.99, 0.5, None)
    bad = drift.assess(ref, np.r_[np.zeros(70), np.ones(30)] * 0.99, 0.5, None)
    assert not any("flags" in r for r in ok.reasons)  # 24% < max(2 x 10%, 10% + 15%) = 25%
    assert any("flags 30% of 100 rows vs 10% on validation" in r for r in bad.reasons)


def test_unknown_token_share_counts_non_special_tokens():
    assert drift.unknown_token_share([[101, 100, 7, 102], [101, 100, 102]], 100, [0, 100, 101, 102]) == 2 / 3
    assert drift.unknown_token_share([[101, 102]], 100, [101, 102]) is None
    assert drift.unknown_token_share([[5]], None, []) is None
