"""Rings of coordinated accounts: the grouping on given scores, metadata and vectors; rings kept
with stable ids; one verdict for a whole ring; the settings; `rsad rings`; the demo's planted rings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text

from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import Verdict
from rsad.errors import AccessError, InputError, NotFoundError
from rsad.model import versions
from rsad.review import verdicts
from rsad.review.ring_groups import MIN_RING, NEAR_DUPLICATE_KEY, common_values, find_rings, pick_time_column
from rsad.service import rings

ROOT, ANA = User("root", "admin"), User("ana", "analyst")


def _meta(device: str, hour: float, **more: str) -> dict:
    return {"device_id": device, "ts": f"2026-10-01T{int(hour):02d}:{int(hour % 1 * 60):02d}:00", **more}


# --- grouping ------------------------------------------------------------------------------------

def test_cases_sharing_a_device_within_the_window_form_a_ring():
    metas = [_meta("d1", 1), _meta("d1", 2), _meta("d1", 3.5), _meta("d2", 1), _meta("d2", 1.5), _meta("d9", 1)]
    found = find_rings([10, 11, 12, 13, 14, 15], [0.9, 0.8, 0.7, 0.99, 0.99, 0.5], metas,
                       entity_columns=["device_id"], time_column="ts", window_hours=2)
    assert [(r.case_ids, r.key) for r in found] == [((10, 11, 12), "device_id=d1")]  # d2: a pair only
    assert found[0].mean_score == pytest.approx(0.8) and found[0].size == 3
    assert (found[0].last_at - found[0].first_at).total_seconds() == 2.5 * 3600
    # A narrower window cuts the chain: 2:00 -> 3:30 is more than an hour.
    assert find_rings([10, 11, 12], [1, 1, 1], metas[:3], entity_columns=["device_id"], time_column="ts",
                      window_hours=1) == []
    # Without a time column the window does not apply.
    far = [{"device_id": "d1"}, {"device_id": "d1"}, {"device_id": "d1"}]
    assert len(find_rings([1, 2, 3], [1, 1, 1], far, entity_columns=["device_id"], window_hours=1)) == 1


def test_near_duplicate_texts_link_cases_and_rings_sort_by_size_then_score():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 8))
    vectors = np.vstack([base[0] + 0.01 * rng.normal(size=(3, 8)), base[1] + 0.01 * rng.normal(size=(4, 8)),
                         rng.normal(size=(3, 8))])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [0.99, 0.99, 0.99, 0.6, 0.6, 0.6, 0.6, 0.9, 0.9, 0.9]
    found = find_rings(list(range(10)), scores, [{}] * 10, entity_columns=[], vectors=vectors, min_cosine=0.95)
    assert [r.case_ids for r in found] == [(3, 4, 5, 6), (0, 1, 2)]  # the larger ring first, despite its score
    assert {r.key for r in found} == {NEAR_DUPLICATE_KEY}
    # Two rings of one size: the higher mean score first.
    found = find_rings(list(range(6)), [0.5, 0.5, 0.5, 0.9, 0.9, 0.9],
                       [{"ip": "a"}] * 3 + [{"ip": "b"}] * 3, entity_columns=["ip"])
    assert [r.key for r in found] == ["ip=b", "ip=a"]


def test_values_common_in_the_batch_link_nothing():
    metas = [{"country": "DE", "device_id": f"d{i // 3}"} for i in range(9)]
    batch = metas + [{"country": "DE"}] * 100
    ignore = common_values(batch, ["country", "device_id"], len(batch))
    assert ignore == {"country": {"DE"}, "device_id": set()}
    found = find_rings(list(range(9)), [1.0] * 9, metas, entity_columns=["country", "device_id"], ignore=ignore)
    assert [r.key for r in found] == ["device_id=d0", "device_id=d1", "device_id=d2"]
    assert MIN_RING == 3 and find_rings([1, 2], [1, 1], metas[:2], entity_columns=["device_id"]) == []


def test_the_time_column_is_found_by_name_when_not_set():
    metas = [{"device_id": "d", "timestamp": "2026-10-01T10:00:00"}, {"device_id": "d", "timestamp": "oops"}] * 20
    assert pick_time_column(metas) == ""  # half of it does not parse
    assert pick_time_column(metas[:1] * 10) == "timestamp"
    assert pick_time_column(metas, "when") == "when"


# --- the store -------------------------------------------------------------------------------------

@pytest.fixture
def ring_batch(store):
    """Twelve cases scored under v1 (threshold 0.5): four on one device within an hour (flagged),
    three near-duplicate texts (flagged), a flagged pair, and unflagged ones on the same device."""
    dup = "five stars amazing quality, fast shipping from shop-7!"
    texts = ["late parcel, the box was wet", "refund took two weeks", "bought socks for my dad", "the lamp flickers",
             dup, dup, dup + " ", "great battery life", "screen cracked on day one", "nice colours, runs small",
             "works as described", "arrived early, well packed"]
    devices = ["dx", "dx", "dx", "dx", "", "", "", "dp", "dp", "dx", "dx", ""]
    df = pd.DataFrame({"case_id": [f"r{i:02d}" for i in range(12)], "behavior_description": texts,
                       "device_id": devices, "ts": [f"2026-10-01T10:{i:02d}:00" for i in range(12)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="r.csv"), name="r")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [0.9, 0.8, 0.95, 0.75, 0.9, 0.9, 0.9, 0.6, 0.6, 0.1, 0.2, 0.3])
    rings.set_ring_settings(store, "default", rings.RingSettings(entity_columns=("device_id",), time_column="ts",
                                                                window_hours=1), user=ROOT)
    return ids


@pytest.mark.usefixtures("backend")
def test_rings_are_kept_with_stable_ids_and_listed_by_size(store, ring_batch):
    found = rings.compute_rings(store, "r")
    assert [(r["size"], r["key"]) for r in found] == [(4, "device_id=dx"), (3, NEAR_DUPLICATE_KEY)]
    assert found[0]["mean_score"] == pytest.approx(0.85)
    again = rings.compute_rings(store, "r")
    assert [r["id"] for r in again] == [r["id"] for r in found]  # found again: the same ids
    assert rings.list_rings(store, "r") == again
    view = rings.ring_view(store, found[0]["id"])
    assert [m["id"] for m in view.members] == [ring_batch[i] for i in (2, 0, 1, 3)]  # highest score first
    assert view.time_column == "ts" and all(m["time"] is not None for m in view.members)
    # Fewer flagged cases: the device ring changes, so it is retired and a new one takes its place.
    with store.session() as s:
        vid = versions.require_active(s).id
        q.put_scores(s, vid, [ring_batch[3]], [0.1])
    third = rings.compute_rings(store, "r")
    assert [r["size"] for r in third] == [3, 3] and found[0]["id"] not in {r["id"] for r in third}
    assert rings.ring_view(store, found[0]["id"]).ring["retired"]  # still opens: verdicts may name it


@pytest.mark.usefixtures("backend")
def test_a_ring_verdict_records_one_verdict_per_member_with_the_ring(store, ring_batch):
    ring = rings.compute_rings(store, "r")[0]
    verdicts.record_verdicts(store, [ring_batch[0]], "normal", analyst="bo")  # judged on its own before
    out = rings.record_ring_verdict(store, ring["id"], "anomaly", user=ANA, reason_code="spam", note="one phone",
                                    submission="k1")
    assert out == {"recorded": 3, "skipped": 1}
    with store.session() as s:
        rows = s.execute(select(Verdict.case_id, Verdict.label, Verdict.ring_id, Verdict.analyst, Verdict.note)
                         .order_by(Verdict.id)).all()
    assert rows[0] == (ring_batch[0], "normal", None, "bo", "")
    assert sorted(rows[1:]) == sorted((c, "anomaly", ring["id"], "ana", "one phone") for c in ring_batch[1:4])
    assert rings.record_ring_verdict(store, ring["id"], "anomaly", user=ANA, submission="k2") == \
        {"recorded": 0, "skipped": 4}  # everyone judged now
    assert rings.ring_view(store, ring["id"]).judged == 4


def test_ring_verdicts_follow_the_verdict_rules(store, ring_batch):
    ring = rings.compute_rings(store, "r")[1]
    with pytest.raises(AccessError, match="analyst role"):
        rings.record_ring_verdict(store, ring["id"], "anomaly", user=User("vic", "viewer"))
    with pytest.raises(InputError, match="Unknown reason code"):
        rings.record_ring_verdict(store, ring["id"], "anomaly", user=ANA, reason_code="nonsense")
    with pytest.raises(NotFoundError, match="No ring"):
        rings.record_ring_verdict(store, 999, "anomaly", user=ANA)
    key = "same-form"
    assert rings.record_ring_verdict(store, ring["id"], "unsure", user=ANA, submission=key)["recorded"] == 3
    with store.session() as s:
        assert s.scalar(select(Verdict.id).where(Verdict.ring_id.is_(None))) is None


def test_ring_settings_are_checked_and_for_admins(store, ring_batch):
    with pytest.raises(AccessError):
        rings.set_ring_settings(store, "default", rings.RingSettings(), user=ANA)
    with pytest.raises(InputError, match="window"):
        rings.set_ring_settings(store, "default", rings.RingSettings(window_hours=0), user=ROOT)
    with pytest.raises(InputError, match="cosine"):
        rings.set_ring_settings(store, "default", rings.RingSettings(near_duplicate_cosine=1.5), user=ROOT)
    saved = rings.set_ring_settings(store, "default", rings.RingSettings(entity_columns=(" ip ", "", "ip")),
                                    user=ROOT)
    assert saved.entity_columns == ("ip",) and rings.ring_settings(store) == saved


def test_cli_prints_one_line_per_ring_and_sets_the_entities(store, ring_batch, capsys):
    from rsad.cli.main import main

    assert main(["projects", "set", "default", "--entities", "device_id", "--time-column", "ts",
                 "--ring-window-hours", "2", "--near-duplicate-cosine", "0.9"]) == 0
    assert "device_id within 2 hours" in capsys.readouterr().out
    assert rings.ring_settings(store).near_duplicate_cosine == 0.9
    assert main(["rings", "--batch", "r"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [r["id"] for r in rings.list_rings(store, "r")]
    assert lines == [f"{ids[0]}\t4\tdevice_id=dx\t0.850", f"{ids[1]}\t3\t{NEAR_DUPLICATE_KEY}\t0.900"]
    assert main(["projects", "set", "default"]) == 2
    assert "Name a setting" in capsys.readouterr().err


# --- the demo --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_demo():
    """make_demo_tables at a tenth of the users (the planted rings at full size), made once."""
    from rsad.data import synth

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synth, "LABELED_USERS", 250)
        mp.setattr(synth, "UNLABELED_USERS", 100)
        tables = synth.make_demo_tables(seed=7)
    return lambda seed: tables

def test_the_demo_tables_hold_the_planted_rings(small_demo):
    labeled, batch = small_demo(seed=7)
    planted = batch[batch["case_id"].str.startswith("n9")]
    assert len(planted) == 47 and batch["case_id"].is_unique
    assert planted["shop_id"].value_counts().iloc[0] >= 20  # one shop's twenty accounts
    assert planted["device_id"].value_counts().iloc[0] == 15  # one device, fifteen accounts
    shop = planted[planted["shop_id"] == planted["shop_id"].value_counts().index[0]]
    assert (pd.to_datetime(shop["last_seen"]).max() - pd.to_datetime(shop["first_seen"]).min()).total_seconds() <= 3600
    assert shop["behavior_description"].str.contains("100% five-star").all()
    orders = planted.tail(12)["behavior_description"]
    assert orders.nunique() == 1 and "Orders without any view" in orders.iloc[0]  # identical orders
    seeded = labeled[labeled["case_id"].str.startswith("u9")]
    assert len(seeded) == 20 and (seeded["is_anomaly"] == 1).all()
    for table in (labeled, batch):
        assert {"device_id", "ip", "shop_id", "first_seen"} <= set(table.columns)


def test_the_demo_batch_has_the_planted_rings_and_nothing_above_them(small_demo):
    """Every record flagged (the worst case for ordinary rows): the planted rings are the three largest."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from rsad.ops.demo import DEMO_ENTITIES, DEMO_RING_WINDOW_HOURS

    _, batch = small_demo(seed=7)
    metas = batch[[*DEMO_ENTITIES, "first_seen"]].astype(object).where(batch.notna(), None).to_dict("records")
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
        batch["behavior_description"])
    found = find_rings(list(range(len(batch))), [1.0] * len(batch), metas, entity_columns=DEMO_ENTITIES,
                       time_column="first_seen", window_hours=DEMO_RING_WINDOW_HOURS, vectors=vectors,
                       ignore=common_values(metas, DEMO_ENTITIES, len(batch)))
    top = [batch["case_id"].iloc[list(r.case_ids)] for r in found[:3]]
    assert [len(t) for t in top] == [20, 15, 12] and all(t.str.startswith("n9").all() for t in top)
    assert all(r.size < 12 for r in found[3:])


@pytest.mark.model
def test_a_model_trained_on_the_seed_flags_the_planted_rings_and_they_lead():
    """On the full demo: a bag-of-words model (the starter's lexical part: TF-IDF 1-2-grams and a
    logistic regression) trained on the seed batch flags every planted account of the demo batch,
    and among the rings of its flagged cases the planted ones are the three largest. The full
    starter fine-tunes for minutes (docs/benchmarks.md, "Rings on the demo")."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import precision_recall_curve
    from sklearn.model_selection import train_test_split

    from rsad.data.synth import make_demo_tables
    from rsad.ops.demo import DEMO_ENTITIES, DEMO_RING_WINDOW_HOURS

    seed, batch = make_demo_tables(seed=7)
    train, val = train_test_split(seed, test_size=0.2, random_state=7, stratify=seed["is_anomaly"])
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=4, max_iter=2000).fit(words.fit_transform(train["behavior_description"]),
                                                        train["is_anomaly"])
    p, r, t = precision_recall_curve(val["is_anomaly"], model.predict_proba(
        words.transform(val["behavior_description"]))[:, 1])
    threshold = t[np.argmax(2 * p * r / (p + r + 1e-9))]  # the F1-best threshold, as training picks one
    scores = model.predict_proba(words.transform(batch["behavior_description"]))[:, 1]
    planted = batch["case_id"].str.startswith("n9").to_numpy()
    assert (scores[planted] >= threshold).all()
    flagged = np.flatnonzero(scores >= threshold)
    metas = batch[[*DEMO_ENTITIES, "first_seen"]].astype(object).where(batch.notna(), None).to_dict("records")
    texts = batch["behavior_description"].iloc[flagged]
    found = find_rings(list(flagged), list(scores[flagged]), [metas[i] for i in flagged],
                       entity_columns=DEMO_ENTITIES, time_column="first_seen", window_hours=DEMO_RING_WINDOW_HOURS,
                       vectors=TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
                       .fit_transform(texts), ignore=common_values(metas, DEMO_ENTITIES, len(batch)))
    assert [r.size for r in found[:3]] == [20, 15, 12]
    assert all(planted[list(r.case_ids)].all() for r in found[:3])
    assert all(not planted[list(r.case_ids)].any() and r.size < 12 for r in found[3:])


def test_the_demo_sets_its_entity_columns_once(store):
    from rsad.ops.demo import DEMO_ENTITIES, _demo_ring_settings

    _demo_ring_settings(store, "zh")  # the Chinese demo's records name no entities
    assert rings.ring_settings(store).entity_columns == ()
    _demo_ring_settings(store, "en")
    assert rings.ring_settings(store) == rings.RingSettings(entity_columns=DEMO_ENTITIES, time_column="first_seen",
                                                            window_hours=6.0)
    rings.set_ring_settings(store, "default", rings.RingSettings(entity_columns=("ip",)), user=ROOT)
    _demo_ring_settings(store, "en")  # a rerun of the bootstrap keeps what an admin chose
    assert rings.ring_settings(store).entity_columns == ("ip",)


@pytest.mark.usefixtures("backend")
def test_a_value_on_much_of_the_batch_links_nothing_in_the_store(store):
    """A 'country' on every case would join everything: counted in SQL over the batch, it is ignored."""
    n = 60
    df = pd.DataFrame({"case_id": [f"c{i:02d}" for i in range(n)],
                       "behavior_description": [f"text {i} " + "xyz"[i % 3] * (i + 3) for i in range(n)],
                       "country": ["DE"] * n, "device_id": ["d1"] * 3 + [f"u{i}" for i in range(n - 3)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="c.csv"), name="c")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [0.9] * n)
    rings.set_ring_settings(store, "default", rings.RingSettings(entity_columns=("country", "device_id"),
                                                                near_duplicate_cosine=1.0), user=ROOT)
    assert [(r["size"], r["key"]) for r in rings.compute_rings(store, "c")] == [(3, "device_id=d1")]
