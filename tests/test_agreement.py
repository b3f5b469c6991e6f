"""Agreement between analysts: Fleiss' kappa over everyone beside Cohen's kappa per pair, its
Landis & Koch reading, and the Labels page that shows them (in English and Chinese)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from statsmodels.stats.inter_rater import fleiss_kappa
from streamlit.testing.v1 import AppTest

from conftest import sign_in
from rsad.auth.users import User
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.review.agreement import fleiss, kappa_band, latest_per_analyst, raters_per_case
from rsad.review.second_opinion import is_sampled
from rsad.review.verdicts import add_verdict
from rsad.service import labels, projects

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CODES = {"a": "anomaly", "n": "normal", "u": "unsure"}
# By hand, four cases and three analysts (columns anomaly, normal, unsure):
#   [3,0,0] [0,3,0] [2,1,0] [0,2,1]: P_i = 1, 1, 1/3, 1/3, so P-bar = 2/3;
#   p_j = 5/12, 6/12, 1/12, so P_e = 62/144; kappa = (2/3 - 62/144) / (1 - 62/144) = 17/41.
HAND = {1: "aaa", 2: "nnn", 3: "aan", 4: "nnu"}


def frame(cases: dict[int, str]) -> pd.DataFrame:
    """One verdict per (case, analyst x0, x1, ...), in that order."""
    rows = [(c, f"x{i}", CODES[label]) for c, labels_ in cases.items() for i, label in enumerate(labels_)]
    return pd.DataFrame([{"id": n, "case_pk": c, "analyst": a, "label": lab} for n, (c, a, lab) in enumerate(rows, 1)])


def test_fleiss_kappa_matches_the_hand_computed_example_and_statsmodels():
    got = fleiss(latest_per_analyst(frame(HAND)))
    assert got["kappa"] == pytest.approx(17 / 41)
    assert got["kappa"] == pytest.approx(fleiss_kappa(np.array([[3, 0, 0], [0, 3, 0], [2, 1, 0], [0, 2, 1]])))
    assert (got["cases"], got["analysts"], got["raters"], got["band"]) == (4, 3, 3, "moderate")
    assert got["agreement"] == pytest.approx(2 / 3)


def test_cases_with_other_numbers_of_analysts():
    # A case with two analysts is left out (three per case uses more verdicts: 15 against 12);
    # on a case with four, the first three to judge it count.
    got = fleiss(latest_per_analyst(frame({**HAND, 5: "an", 6: "aaan"})))
    assert (got["cases"], got["raters"]) == (5, 3)
    assert got["kappa"] == pytest.approx(64 / 124)  # HAND plus [3,0,0], by hand as above
    assert raters_per_case(pd.Series([2, 2, 2, 3])) == 2 and raters_per_case(pd.Series([3, 3, 3, 2])) == 3
    assert raters_per_case(pd.Series([3, 3, 2])) == 2  # a tie (6 verdicts either way): more cases
    assert raters_per_case(pd.Series([1, 1])) == 0


def test_latest_verdict_counts_and_edge_cases():
    df = frame(HAND)
    # x2 changes their mind on case 3 (normal, now anomaly): their latest verdict counts, all agree there.
    df.loc[len(df)] = {"id": 99, "case_pk": 3, "analyst": "x2", "label": "anomaly"}
    assert fleiss(latest_per_analyst(df))["kappa"] > 17 / 41
    assert fleiss(latest_per_analyst(frame({1: "aa", 2: "aa"})))["kappa"] == 1.0  # one label only: full agreement
    assert fleiss(latest_per_analyst(frame({1: "a", 2: "n"})))["kappa"] is None  # nobody shares a case
    assert fleiss(latest_per_analyst(frame({})))["kappa"] is None
    assert fleiss(latest_per_analyst(frame({1: "an", 2: "na"})))["kappa"] < 0


@pytest.mark.parametrize(("kappa", "band"), [(-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"),
                                             (0.5, "moderate"), (0.7, "substantial"), (0.95, "almost perfect"),
                                             (1.0, "almost perfect"), (float("nan"), None), (None, None)])
def test_landis_and_koch_bands(kappa, band):
    assert kappa_band(kappa) == band


@pytest.fixture
def judged(store, users):
    """Twenty cases; ana and bo judge the same eight (disagreeing on two), second opinions on at 0.5."""
    df = pd.DataFrame({"case_id": [f"k{i:02d}" for i in range(20)],
                       "behavior_description": [f"case {i}" for i in range(20)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    projects.set_second_opinion_share(store, "default", 0.5, user=User("root", "admin"))
    with store.session() as s:
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        for n, cid in enumerate(ids[:8]):
            add_verdict(s, cid, "anomaly" if n % 2 else "normal", analyst="ana")
            add_verdict(s, cid, ("anomaly" if n % 2 else "normal") if n > 1 else "unsure", analyst="bo")
    return ids


def labels_page(lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if lang:
        at.session_state["_rsad_lang"] = lang
    sign_in(at.run(), "ana")
    at.switch_page("views/labels.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def test_labels_page_shows_fleiss_kappa_and_second_opinions(judged, store):
    expected = labels.overall_agreement(store)
    assert (expected["cases"], expected["analysts"], expected["raters"]) == (8, 2, 2)
    double = sum(is_sampled(c, 0.5) for c in judged[:8])
    assert labels.second_opinions(store)["double_judged"] == double
    at = labels_page()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fleiss' kappa"] == f"{expected['kappa']:.3f}"
    assert metrics["Cases judged by several analysts"] == "8" and metrics["Analysts"] == "2"
    assert any("Reading (Landis & Koch)" in m.value and f"**{expected['band']}**" in m.value for m in at.markdown)
    assert any(f"Judged twice that way: {double}" in c.value for c in at.caption)
    pairs = next(d.value for d in at.dataframe if "kappa" in d.value.columns)
    assert pairs.iloc[0]["shared_cases"] == 8 and pairs.iloc[0]["reading"] == expected["band"]


def test_labels_page_agreement_in_chinese(judged, store):
    at = labels_page("zh")
    metrics = {m.label: m.value for m in at.metric}
    assert "Fleiss' kappa" in metrics and metrics["多位审核员判定的案例"] == "8"
    assert any(m.value.startswith("解读（Landis & Koch）") for m in at.markdown)
    assert any(c.value.startswith("盲审第二意见") for c in at.caption)
    assert any("每位审核员以其最新判定计" in c.value for c in at.caption)


def test_labels_page_before_any_shared_case(store, users):
    at = labels_page()
    assert any("Fleiss' kappa appears once" in c.value for c in at.caption)
    assert any("Blind second opinions are off" in c.value for c in at.caption)
