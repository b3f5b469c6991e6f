"""Foreign-batch warning and drift: the pure measures and rule (rsad.evaluation.drift), then the
check made on scoring with the tiny model, its rows, `rsad score`'s warning and the Overview."""

from __future__ import annotations

from pathlib import Path

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
    assert check.psi > 1.0 and check.ks > 0.3 and check.flagged_share > 0.6
    text = " ".join(check.reasons)
    assert f"PSI {check.psi:.2f}" in text and f"KS {check.ks:.2f}" in text
    assert f"flags {check.flagged_share:.0%} of 400 rows vs {check.reference_flagged_share:.0%} on validation" in text
    line = drift.summary(check.as_dict())
    assert line.startswith(f"flagged {check.flagged_share:.0%} of 400 vs ") and "unknown tokens 0.4%" in line


def test_fewer_anomalies_than_on_validation_is_not_a_score_shift():
    """The demo's case: validation 34 % anomalies, the batch 17 %, the classes scored alike."""
    rng = np.random.default_rng(6)
    ref = drift.reference_profile(_scores(rng, 500, frac=0.34), 0.5, 0.001)
    batch = _scores(rng, 1_000, frac=0.17)
    check = drift.assess(ref, batch, 0.5, 0.001)
    assert not check.foreign and check.psi < 0.1 and check.ks < 0.1, check
    assert drift.psi(ref["quantiles"], batch) > 3 * check.psi  # unmatched, the prevalence alone would read as a shift


def test_tiny_batches_get_no_score_verdict_and_unknown_tokens_always_count(reference):
    few = np.full(10, 0.9)  # every row flagged, but only ten
    check = drift.assess(reference, few, 0.5, 0.0)
    assert not check.foreign and check.psi is None and check.ks is None
    assert "not judged (under 30 rows)" in drift.summary(check.as_dict())
    chinese = drift.assess(reference, few, 0.5, 0.62)
    assert chinese.foreign
    assert chinese.reasons == ["62.0% of its tokens are unknown to the model's tokenizer (above 5%)."]


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


# --- with the tiny model ------------------------------------------------------------------------

def _table(texts: list[str], n: int) -> pd.DataFrame:
    return pd.DataFrame({"case_id": [f"x{i:04d}" for i in range(n)],
                         "behavior_description": [texts[i % len(texts)].format(i=i) for i in range(n)]})


def _score(store, name: str, table: pd.DataFrame) -> dict:
    from rsad.service import batches

    batches.ingest_file(store, table.to_csv(index=False).encode(), file_name=f"{name}.csv", name=name)
    return batches.score_batch(store, name)


@pytest.fixture
def scored(store_with_model):
    """The tiny model's store with three batches scored: like its training data, SMS, Chinese."""
    like = tiny_table(200).iloc[64:]  # the training templates with other numbers: 136 rows
    out = {"like": _score(store_with_model, "like", like[["case_id", "behavior_description"]]),
           "sms": _score(store_with_model, "sms", _table(SMS, 300)),
           "chinese": _score(store_with_model, "chinese", _table(CHINESE, 60))}
    return store_with_model, out


def test_scoring_checks_each_batch_against_the_validation_profile(scored):
    from rsad.service import drift as drift_service
    from rsad.service.models import get_version

    store, out = scored
    ref = get_version(store, "v1").metrics["reference"]  # saved by fine_tune with the version
    assert ref["n"] == 16 and len(ref["quantiles"]) == drift.QUANTILES
    like, sms, chinese = (out[k]["check"] for k in ("like", "sms", "chinese"))
    # Like the training data: the same tokens, a score distribution near validation's.
    assert not like["foreign"] and like["reasons"] == [] and like["rows"] == 136
    assert like["unknown_token_share"] == 0.0 and like["psi"] < 1.0 and like["ks"] < 0.3
    # SMS: the score distribution moved far from validation's (the numbers, not only the flag).
    # The tiny model's scores all lie within 0.48-0.6 and it was validated on 16 rows only, so
    # its shifts are smaller than a real model's, and the allowance for its 16 rows is large.
    assert sms["foreign"] and sms["rows"] == 300
    assert sms["psi"] > 2.5 and sms["psi"] > 4 * like["psi"] and sms["ks"] > 0.4, sms
    assert f"PSI {sms['psi']:.2f}" in sms["reasons"][0]
    assert sms["unknown_token_share"] < 0.05  # English: the tokenizer reads it, the model does not know it
    # Chinese: mostly [UNK] to MiniLM.
    assert chinese["foreign"] and chinese["unknown_token_share"] > 0.5
    assert any("unknown to the model's tokenizer" in r for r in chinese["reasons"])
    # Stored per batch under the active version, in upload order, with the same numbers.
    rows = drift_service.batch_checks(store)
    assert [r["batch"] for r in rows] == ["like", "sms", "chinese"]
    assert [r["foreign"] for r in rows] == [False, True, True]
    assert rows[1]["psi"] == pytest.approx(sms["psi"]) and rows[1]["reasons"] == sms["reasons"]
    assert drift_service.batch_check(store, out["sms"]["batch_id"])["ks"] == pytest.approx(sms["ks"])


def test_scoring_again_replaces_the_check_and_a_failed_check_does_not_fail_scoring(scored, monkeypatch):
    from rsad.ops import drift_check
    from rsad.service import batches
    from rsad.service import drift as drift_service

    store, out = scored
    again = batches.score_batch(store, "sms")
    assert again["scored_now"] == 0 and again["check"]["psi"] == pytest.approx(out["sms"]["check"]["psi"])
    assert len(drift_service.batch_checks(store)) == 3

    def broken(*_a, **_k):
        raise RuntimeError("no tokenizer today")

    monkeypatch.setattr(drift_check, "check_batch", broken)
    result = batches.score_batch(store, "like")
    assert result["check"] is None and result["rows"] == 136


def test_an_older_version_gets_its_reference_from_its_validation_rows(store_with_model, monkeypatch):
    """A version registered without a profile: computed once from the card's val_ids in its
    training_set.csv and cached in its metrics; without the file there is none (no PSI, KS)."""
    from rsad.model import versions
    from rsad.model.card import TRAINING_SET_FILE, read_card
    from rsad.ops import drift_check

    store = store_with_model
    with store.session() as s:  # as registered before this change: no reference anywhere
        row = versions.get_model_version(s, "v1")
        row.metrics = {k: val for k, val in row.metrics.items() if k != "reference"}
    v = versions.get_version(store, "v1")
    card = read_card(v.folder)
    card.metrics.pop("reference")
    monkeypatch.setattr(drift_check, "read_card", lambda _folder: card)
    clf = versions.load_classifier(store, v)
    assert drift_check.reference_of(store, v, clf) is None  # no training_set.csv beside it
    check = drift_check.check_batch(store, clf, v, _score(store, "sms", _table(SMS, 40))["batch_id"],
                                    np.full(40, 0.55))
    assert check["psi"] is None and check["reference_flagged_share"] is None and not check["foreign"]
    path = Path(v.folder) / TRAINING_SET_FILE
    tiny_table(64).to_csv(path, index=False)
    try:
        ref = drift_check.reference_of(store, v, clf)
    finally:
        path.unlink()
    assert ref["n"] == len(card.val_ids) == 16 and len(ref["quantiles"]) == drift.QUANTILES
    assert ref["flagged_share"] == 0.5 and ref["unknown_token_share"] == 0.0
    assert versions.get_version(store, "v1").metrics["reference"] == ref  # cached: computed once


def test_rsad_score_warns_on_stderr_with_the_numbers(store_with_model, env):
    import subprocess
    import sys

    from rsad.service import batches

    csv = _table(SMS, 300).to_csv(index=False).encode()
    batches.ingest_file(store_with_model, csv, file_name="sms.csv", name="sms")
    run = lambda *args: subprocess.run([sys.executable, "-m", "rsad.cli", *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=600)
    out = run("score", "sms", "--explain-top", "0")
    assert out.returncode == 0, out.stderr
    assert "Warning" not in out.stdout and "300 cases, 300 scored now" in out.stdout
    lines = [line for line in out.stderr.splitlines() if line.startswith("Warning:")]
    assert len(lines) == 1, out.stderr
    check = batches.score_batch(store_with_model, "sms")["check"]  # the same numbers in process
    assert lines[0].startswith(
        f"Warning: batch 'sms' looks foreign to model v1: flagged 100% of 300 vs "
        f"{check['reference_flagged_share']:.0%} on validation; score shift PSI {check['psi']:.2f}, "
        f"KS {check['ks']:.2f}; unknown tokens 0.0%. Its scores may mean little: train a model")
    listing = run("batches").stdout
    assert "sms" in listing and "FOREIGN to the active model" in listing


def test_overview_warns_about_a_foreign_batch_and_charts_the_checks(scored, users):
    from streamlit.testing.v1 import AppTest

    from conftest import sign_in

    store, out = scored
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180).run()
    sign_in(at, "ana")
    at.switch_page("views/overview.py").run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning if "looks foreign" in w.value]
    sms, chinese = out["sms"]["check"], out["chinese"]["check"]
    # sms always; chinese only when something beside its unknown tokens made it foreign.
    assert len(warnings) == 1 + (len(chinese["reasons"]) > 1)  # never the batch like the training data
    assert any("sms" in w and f"PSI {sms['psi']:.2f}" in w for w in warnings), warnings
    # Chinese: the unknown-token warning says the share once; the foreign one does not repeat it.
    unreadable = [w.value for w in at.warning if "look like Chinese" in w.value]
    assert len(unreadable) == 1 and "chinese" in unreadable[0] and "75% of this batch's tokens" in unreadable[0]
    assert not any("unknown tokens 75.0%" in w for w in warnings)
    assert not any("like" in w for w in warnings)
    assert len(at.get("plotly_chart")) == 1  # the drift chart, in its expander
    # Review: the same warning above the queue when the batch under review looks foreign.
    at.switch_page("views/review.py").run()
    at.selectbox(key="f_batch").set_value(out["chinese"]["batch_id"]).run()
    assert not at.exception, at.exception
    assert any("chinese" in w.value and "look like Chinese" in w.value for w in at.warning)
