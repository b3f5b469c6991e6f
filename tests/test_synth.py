"""Synthetic demo data: determinism, sizes, anomaly rates, persona coverage, no leaks, no id collisions."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from rsad.data import synth
from rsad.data.synth import ANOMALY_TYPES, NORMAL_TYPES, PERSONA_VERTICALS, VERTICALS, make_demo_tables, make_events
from rsad.errors import InputError

VERDICT_WORDS = re.compile(r"suspicious|\bbots?\b|fake|spam|fraud|anomal|abus|malicious|shill|farm|crawler", re.I)
EVENT_COLUMNS = ["user_id", "timestamp", "action", "item_id", "rating", "text", "device", "ip"]


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_demo_tables(seed=7)


@pytest.fixture()
def small_demo(monkeypatch):
    """make_demo_tables at a tenth of the size, for the tests that call it several times."""
    monkeypatch.setattr(synth, "LABELED_USERS", 250)
    monkeypatch.setattr(synth, "UNLABELED_USERS", 100)
    return make_demo_tables


def test_make_events_is_deterministic_per_seed():
    a_events, a_users = make_events(300, anomaly_rate=0.3, seed=11)
    b_events, b_users = make_events(300, anomaly_rate=0.3, seed=11)
    pd.testing.assert_frame_equal(a_events, b_events)
    pd.testing.assert_frame_equal(a_users, b_users)
    c_events, c_users = make_events(300, anomaly_rate=0.3, seed=12)
    assert not a_events.equals(c_events)
    assert not a_users["persona"].equals(c_users["persona"])


def test_make_events_schema_and_values():
    events, users = make_events(400, anomaly_rate=0.25, seed=3)
    assert list(events.columns) == EVENT_COLUMNS
    assert list(users.columns) == ["user_id", "is_anomaly", "persona", "vertical"]
    assert users["user_id"].is_unique and set(events["user_id"]) == set(users["user_id"])
    assert users["is_anomaly"].sum() == 100  # exactly round(n * rate)
    assert set(users.loc[users.is_anomaly == 1, "persona"]) == set(ANOMALY_TYPES)
    assert set(users.loc[users.is_anomaly == 0, "persona"]) <= set(NORMAL_TYPES)
    assert all(v in PERSONA_VERTICALS[p] for p, v in zip(users["persona"], users["vertical"]))
    assert set(users["vertical"]) <= set(VERTICALS)
    ts = pd.to_datetime(events["timestamp"], format="ISO8601")
    assert ts.min() >= pd.Timestamp("2026-10-01") and ts.max() <= pd.Timestamp("2026-10-31")
    rated = events["rating"].dropna()
    assert rated.between(1, 5).all() and set(events.loc[events["rating"].notna(), "action"]) == {"rate"}
    assert events["text"].map(type).eq(str).all()
    assert (events.loc[events["text"] != "", "action"].isin(["review", "comment"])).all()
    assert events.groupby("user_id")["timestamp"].apply(lambda s: s.is_monotonic_increasing).all()


def test_make_events_rejects_bad_arguments():
    with pytest.raises(InputError, match="anomaly_rate"):
        make_events(10, anomaly_rate=1.5, seed=1)
    with pytest.raises(InputError, match="n_users"):
        make_events(0, anomaly_rate=0.1, seed=1)


def test_demo_sizes_and_rates(demo):
    labeled, unlabeled = demo
    assert len(labeled) == synth.LABELED_USERS + synth.RING_ROWS == 2500 + 20
    assert len(unlabeled) == synth.UNLABELED_USERS + synth.RING_ROWS_BATCH == 1000 + 47
    labeled, unlabeled = (t[~t["case_id"].str.match(r"[un]9")] for t in demo)  # the users, without the rings
    assert 0.35 <= labeled["is_anomaly"].mean() <= 0.40
    _, unlabeled_users = make_events(synth.UNLABELED_USERS, anomaly_rate=synth.UNLABELED_RATE, seed=7,
                                     id_prefix="n")
    assert set(unlabeled_users["user_id"]) == set(unlabeled["user_id"])
    assert 0.05 <= unlabeled_users["is_anomaly"].mean() <= 0.10


def test_demo_columns_do_not_leak_labels(demo):
    labeled, unlabeled = demo
    assert {"case_id", "behavior_description", "is_anomaly", "persona", "vertical"} <= set(labeled.columns)
    assert not {"is_anomaly", "persona", "vertical"} & set(unlabeled.columns)
    assert labeled["persona"].notna().all() and labeled["is_anomaly"].isin([0, 1]).all()
    for table in demo:
        assert not table["behavior_description"].str.contains(VERDICT_WORDS).any()


def test_demo_covers_every_persona(demo):
    labeled, _ = demo
    counts = labeled.loc[labeled.is_anomaly == 1, "persona"].value_counts()
    assert set(counts.index) == set(ANOMALY_TYPES) and counts.min() >= 0.15 * counts.sum()
    assert set(labeled.loc[labeled.is_anomaly == 0, "persona"]) == set(NORMAL_TYPES)


def test_demo_ids_do_not_collide(demo):
    labeled, unlabeled = demo
    assert labeled["case_id"].is_unique and unlabeled["case_id"].is_unique
    assert not set(labeled["case_id"]) & set(unlabeled["case_id"])
    assert labeled["case_id"].str.startswith("u").all() and unlabeled["case_id"].str.startswith("n").all()


def test_demo_is_not_trivially_separable(demo):
    """Facts that look alarming appear for normal users too, and some anomalies look calm."""
    labeled, _ = demo
    text, label = labeled["behavior_description"], labeled["is_anomaly"]
    for pattern in ("% in bursts", "no bursts", "100% five-star", "% with a link", "very regular",
                    "IP shared with", "orders without any view"):
        hits = label[text.str.contains(pattern, case=False)]
        assert 0 < hits.mean() < 1, pattern  # present in both classes
    words = text.str.split().str.len()
    assert words.between(25, 110).all() and words.median() >= 50


def test_demo_is_deterministic(small_demo):
    first, second, other = small_demo(seed=5), small_demo(seed=5), small_demo(seed=6)
    for a, b in zip(first, second):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0]["behavior_description"].equals(other[0]["behavior_description"])
    assert len(first[0]) == 250 + synth.RING_ROWS and len(first[1]) == 100 + synth.RING_ROWS_BATCH


def test_demo_uses_no_global_random_state(small_demo):
    np.random.seed(1)
    a = small_demo(seed=5)[0]
    np.random.seed(2)
    b = small_demo(seed=5)[0]
    pd.testing.assert_frame_equal(a, b)
