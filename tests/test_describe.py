"""describe_events: content of the prose, session splitting, timestamps and every validation error."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from rsad.data.describe import MAX_TOKENS, TOKEN, describe_events
from rsad.data.event_log import REQUIRED_EVENT_COLUMNS
from rsad.errors import InputError

VERDICT_WORDS = re.compile(r"suspicious|\bbots?\b|fake|spam|fraud|anomal|abus|malicious|shill|farm|crawler", re.I)
LONG_REVIEW = ("Great phone, the battery lasts two full days and the camera is sharp even in very low light")


@pytest.fixture()
def events() -> pd.DataFrame:
    """bob: a one-minute burst with ratings and reviews; alice: a few calm views and an order over days."""
    bob_t = pd.date_range("2026-10-05T02:00:00", periods=8, freq="5s")
    bob = pd.DataFrame({
        "user_id": "bob", "timestamp": bob_t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "action": ["view", "rate", "review", "rate", "review", "rate", "review", "rate"],
        "item_id": ["p1"] * 7 + ["p2"], "rating": [None, 5, None, 5, None, 5, None, 1],
        "text": ["", "", LONG_REVIEW, "", "buy here www.deals.xyz", "", "buy here  www.deals.xyz", ""],
        "device": "d-bob", "ip": "10.0.0.1", "is_anomaly": 1,
    })
    alice = pd.DataFrame({
        "user_id": "alice",
        "timestamp": ["2026-10-01T09:00:00", "2026-10-01T09:10:00", "2026-10-02T18:00:00+02:00",
                      "2026-10-03T20:00:00", "2026-10-03T20:02:00"],
        "action": [" View ", "Add to cart", "view", "ORDER", "frobnicate"],
        "item_id": ["p1", "p3", "p4", "p3", None], "rating": None, "text": None,
        "device": ["d-a1", "d-a1", "d-a2", "d-a1", "d-a1"], "ip": ["10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.2", ""],
        "is_anomaly": 0,
    })
    return pd.concat([bob, alice], ignore_index=True)


def _row(out: pd.DataFrame, case_id: str) -> pd.Series:
    return out.set_index("case_id").loc[case_id]


def test_one_row_per_user_with_metadata(events):
    out = describe_events(events)
    assert list(out.columns) == ["case_id", "behavior_description", "user_id", "n_events", "first_seen",
                                 "last_seen", "n_items", "n_devices", "n_ips", "is_anomaly"]
    assert out["case_id"].tolist() == ["alice", "bob"]  # sorted by case_id
    bob, alice = _row(out, "bob"), _row(out, "alice")
    assert (bob.n_events, bob.n_items, bob.n_devices, bob.n_ips, bob.is_anomaly) == (8, 2, 1, 1, 1)
    assert (alice.n_events, alice.n_items, alice.n_devices, alice.n_ips, alice.is_anomaly) == (5, 3, 2, 2, 0)
    assert bob.first_seen == "2026-10-05T02:00:00" and bob.last_seen == "2026-10-05T02:00:35"
    assert alice.last_seen == "2026-10-03T20:02:00"


def test_description_states_counts_bursts_ratings_and_texts(events):
    text = _row(describe_events(events), "bob").behavior_description
    assert text.startswith("8 events over 35 s (8 per minute). 4 ratings, 3 reviews, 1 view.")
    assert "Peak 8 events per minute, 100% in bursts." in text
    assert "Gaps: median 5 s, shortest 5 s, very regular." in text
    assert "4 ratings, mean 4.0, spread 1.7, 75% five-star, 25% one-star." in text
    assert "3 texts, 67% with a link, 33% repeated." in text
    assert "1 device, 1 IP, IP shared with 1 other account." in text
    assert "100% at night." in text and "2 items, top one 88%." in text
    assert text.endswith('Texts: "Great phone, the battery lasts two full...".')  # cut to the room left


def test_snippets_are_distinct_quoted_and_cut_at_twelve_words():
    ev = pd.DataFrame({"user_id": "c", "timestamp": ["2026-10-01T10:00:00", "2026-10-01T10:05:00",
                                                     "2026-10-01T10:09:00", "2026-10-01T10:10:00"],
                       "action": "comment", "text": [LONG_REVIEW, "same  here", "Same here", "third one"]})
    text = describe_events(ev).behavior_description[0]
    assert "3 texts" not in text and "4 texts, none with a link, 25% repeated." in text
    assert text.endswith('Texts: "Great phone, the battery lasts two full days and the camera is...", "same here".')
    assert "third one" not in describe_events(ev, max_snippets=2).behavior_description[0]
    assert "Texts:" not in describe_events(ev, max_snippets=0).behavior_description[0]


def test_description_of_calm_user(events):
    text = _row(describe_events(events), "alice").behavior_description
    assert text.startswith("5 events in 3 sessions over 2 days (2 per day) on 3 days.")
    assert "2 views, 1 cart add, 1 order, 1 other action." in text  # case, spaces and aliases normalised
    assert "Orders per view 0.5, per cart add 1." in text
    assert "no bursts" in text and "No night activity." in text
    assert "2 devices, 2 IPs, IP shared with 1 other account." in text
    assert "rating" not in text and "text" not in text.lower()


def test_descriptions_are_neutral_and_bounded(events):
    out = describe_events(events)
    for text in out["behavior_description"]:
        assert not VERDICT_WORDS.search(text), text
        assert len(TOKEN.findall(text)) <= MAX_TOKENS


def test_token_budget_keeps_long_descriptions_short():
    n = 60
    ev = pd.DataFrame({"user_id": "x", "timestamp": pd.date_range("2026-10-01", periods=n, freq="7min"),
                       "action": np.resize(["view", "order", "cart", "rate", "review", "comment", "search", "like",
                                            "share", "follow", "play", "login", "click", "odd"], n),
                       "item_id": [f"i{k % 9}" for k in range(n)], "rating": np.resize([1.0, 5.0, 3.0], n),
                       "text": [f"text number {k} " + "word " * 30 for k in range(n)],
                       "device": "d", "ip": "1.2.3.4"})
    text = describe_events(ev, max_snippets=3).behavior_description[0]
    assert len(TOKEN.findall(text)) <= MAX_TOKENS and 40 <= len(text.split()) <= 110
    assert "Texts:" in text  # room is kept for at least one snippet


def test_session_split(events):
    out = describe_events(events, by="session")
    assert out["case_id"].tolist() == ["alice#s1", "alice#s2", "alice#s3", "bob#s1"]
    assert out["n_events"].tolist() == [2, 1, 2, 8]
    assert set(out["user_id"]) == {"alice", "bob"}
    assert _row(out, "alice#s1").behavior_description.startswith("2 events over 10 min. 1 view, 1 cart add.")
    assert "IP shared" in _row(out, "alice#s1").behavior_description  # 10.0.0.1, also used by bob
    assert "IP shared" not in _row(out, "alice#s2").behavior_description
    wide = describe_events(events, by="session", session_gap_minutes=24 * 60 * 3)
    assert wide["case_id"].tolist() == ["alice#s1", "bob#s1"]


def test_unix_seconds_and_time_zones_match_iso():
    iso = pd.DataFrame({"user_id": ["u", "u", "u"], "action": ["view"] * 3,
                        "timestamp": ["2026-10-01T00:00:00", "2026-10-01T02:00:30+02:00", "2026-10-01T00:01:00Z"]})
    base = pd.Timestamp("2026-10-01").timestamp()
    unix = iso.assign(timestamp=[base, base + 30, base + 60])
    text_unix = iso.assign(timestamp=[str(int(base)), f"{base + 30:.1f}", str(int(base + 60))])
    results = [describe_events(t).drop(columns="behavior_description") for t in (iso, unix, text_unix)]
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other)
    assert results[0].loc[0, "last_seen"] == "2026-10-01T00:01:00"


def test_output_does_not_depend_on_row_order(events):
    shuffled = events.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(describe_events(events), describe_events(shuffled))


def test_many_users_are_grouped_not_looped():
    rng = np.random.default_rng(0)
    n = 20_000
    ev = pd.DataFrame({"user_id": rng.integers(0, 2_000, n).astype(str), "action": rng.choice(["view", "play"], n),
                       "timestamp": 1_790_000_000 + rng.integers(0, 86_400 * 30, n)})
    out = describe_events(ev)
    assert len(out) == ev["user_id"].nunique() and out["n_events"].sum() == n


# --- validation ---------------------------------------------------------------------------------

def test_missing_columns_are_named(events):
    with pytest.raises(InputError) as err:
        describe_events(events.drop(columns=["timestamp", "action"]))
    message = str(err.value)
    assert "'timestamp', 'action'" in message and "columns found: 'user_id'" in message
    assert all(c in message for c in REQUIRED_EVENT_COLUMNS)


def test_empty_table():
    with pytest.raises(InputError, match="empty"):
        describe_events(pd.DataFrame(columns=list(REQUIRED_EVENT_COLUMNS)))


def test_bad_timestamps_name_rows_and_count(events):
    bad = events.astype({"timestamp": object})
    bad.loc[[0, 4] + list(range(6, 13)), "timestamp"] = "yesterday"
    bad.loc[2, "timestamp"] = 1_790_000_000_000  # milliseconds, not seconds
    with pytest.raises(InputError) as err:
        describe_events(bad)
    message = str(err.value)
    assert "rows 1, 3, 5, 7, 8, 9, 10, 11, 12, 13" in message and "(10 in total)" in message
    assert "ISO 8601" in message and "Unix seconds" in message
    bad.loc[range(13), "timestamp"] = "nope"
    with pytest.raises(InputError, match=r"rows 1, 2, .*10, \.\.\. \(13 in total\)"):
        describe_events(bad)


@pytest.mark.parametrize("column", ["user_id", "action"])
def test_blank_user_or_action(events, column):
    bad = events.copy()
    bad.loc[3, column] = "   "
    bad.loc[9, column] = None
    with pytest.raises(InputError, match=rf"Column '{column}' is empty in rows 4, 10 \(2 in total\)"):
        describe_events(bad)


@pytest.mark.parametrize("value", ["five", 0, 6, "-1"])
def test_bad_ratings(events, value):
    bad = events.astype({"rating": object})
    bad.loc[5, "rating"] = value
    with pytest.raises(InputError, match=r"'rating'.*numbers from 1 to 5 in row 6 \(1 in total\)"):
        describe_events(bad)


def test_ratings_as_text_are_accepted(events):
    as_text = events.assign(rating=events["rating"].map(lambda v: "" if pd.isna(v) else f" {v:g} "))
    pd.testing.assert_frame_equal(describe_events(as_text), describe_events(events))


def test_bad_label_and_bad_options(events):
    with pytest.raises(InputError, match=r"'is_anomaly'.*row 2 "):
        describe_events(events.assign(is_anomaly=["1", "maybe"] + ["0"] * (len(events) - 2)))
    with pytest.raises(InputError, match="by='user' or 'session'"):
        describe_events(events, by="day")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="session_gap_minutes > 0"):
        describe_events(events, by="session", session_gap_minutes=0)


def test_label_is_max_per_case(events):
    mixed = events.assign(is_anomaly=["no"] * 7 + ["yes"] + ["false"] * 5)
    out = describe_events(mixed)
    assert out.set_index("case_id")["is_anomaly"].to_dict() == {"alice": 0, "bob": 1}
