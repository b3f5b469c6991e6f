"""The training set from the store: supersession, conflicts between analysts, exclusions, hash."""

import pytest
from sqlalchemy import text

from conftest import tiny_table
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.errors import InputError
from rsad.review import labels, verdicts
from rsad.review.trainset import assemble, data_hash


@pytest.fixture
def judged(store):
    """Seeded cases c000..c005 (even normal, odd anomaly), unlabeled u1..u5, and verdicts on them."""
    uploads.save_batch(store, load_batch(tiny_table(6).to_csv(index=False).encode(), file_name="seed.csv"),
                   name="seed")
    uploads.save_batch(store, load_batch(b"case_id,behavior_description\nu1,one\nu2,two\nu3,three\nu4,four\nu5,five\n",
                                     file_name="u.csv"), name="new")
    with store.session() as s:
        ids = dict(s.execute(text("SELECT external_id, id FROM cases")).all())
        for case, label, analyst, reason in [
            ("c000", "anomaly", "ana", "spam"),       # overturns the seed label
            ("c001", "normal", "ana", "benign"),      # ana changes her mind:
            ("c001", "anomaly", "ana", "spam"),       # ... her latest verdict counts
            ("c002", "anomaly", "ana", "spam"),       # 1 against 2: majority normal
            ("c002", "normal", "bo", "benign"),
            ("c002", "normal", "cy", "benign"),
            ("c003", "normal", "bo", "benign"),       # 1 against 1: the latest (ana's) wins
            ("c003", "anomaly", "ana", "spam"),
            ("c004", "unsure", "ana", ""),            # abstains: the seed label stands
            ("c005", "anomaly", "ana", "spam"),
            ("c005", "unsure", "ana", ""),            # ana withdraws: seed stands, no conflict
            ("u1", "normal", "ana", "benign"),
            ("u1", "unsure", "bo", ""),               # an abstention is not a disagreement
            ("u2", "anomaly", "ana", "insufficient evidence"),  # left out
            ("u3", "unsure", "ana", ""),              # left out
        ]:
            verdicts.add_verdict(s, ids[case], label, analyst=analyst, reason_code=reason)
    return store


def test_rule_supersession_conflicts_and_exclusions(judged):
    ts = assemble(judged)
    got = {r["case_id"]: (r["label"], r["source"]) for r in ts.rows.to_dict("records")}
    assert got == {"c000": (1, "verdict"), "c001": (1, "verdict"), "c002": (0, "verdict"),
                   "c003": (1, "verdict"), "c004": (0, "seed"), "c005": (1, "seed"), "u1": (0, "verdict")}
    assert list(ts.rows["id"]) == ["c000@seed", "c001@seed", "c002@seed", "c003@seed", "c004@seed",
                                   "c005@seed", "u1@new"]
    conflicts = {r["case_id"]: r for r in ts.conflicts.to_dict("records")}
    assert set(conflicts) == {"c002", "c003"}
    assert conflicts["c002"]["rule"] == "majority" and conflicts["c002"]["label"] == "normal"
    assert conflicts["c003"]["rule"] == "tie: latest" and conflicts["c003"]["label"] == "anomaly"
    assert conflicts["c002"]["votes"] == "ana: anomaly (spam), bo: normal (benign), cy: normal (benign)"
    assert (ts.overturned, ts.abstained_seed_kept, ts.abstained_dropped) == (1, 2, 2)
    counts = ts.counts().set_index("source")
    assert counts.loc["seed"].to_dict() == {"normal": 1, "anomaly": 1, "total": 2}
    assert counts.loc["verdict"].to_dict() == {"normal": 2, "anomaly": 3, "total": 5}
    assert counts.loc["all", "total"] == 7
    assert "7 cases (4 anomalies, 3 normal)" in ts.describe() and "2 conflicts" in ts.describe()


def test_current_labels_follow_the_same_rule(judged):
    with judged.session() as s:
        current = {r["case_id"]: r["is_anomaly"] for r in labels.current_labels(s)}
    ts = assemble(judged)
    assert current == dict(zip(ts.rows["case_id"], ts.rows["label"]))
    assert assemble(judged).table().equals(ts.table())


def test_set_and_hash_are_reproducible(judged):
    first = assemble(judged)
    assert assemble(judged).hash == first.hash and len(first.hash) == 64
    assert first.hash == data_hash(first.table().sample(frac=1, random_state=1))
    # The saved rows (batch schema) train on exactly the same set.
    again = load_batch(first.batch_schema().to_csv(index=False).encode(), file_name="ts.csv",
                       label_required=True)
    assert data_hash(again.labeled_table()) == first.hash
    # A new verdict changes the set and its hash.
    with judged.session() as s:
        u4 = s.scalar(text("SELECT id FROM cases WHERE external_id = 'u4'"))
        verdicts.add_verdict(s, u4, "anomaly", analyst="bo", reason_code="bot")
    assert assemble(judged).hash != first.hash and len(assemble(judged)) == 8


def test_empty_store_is_refused_with_a_reason(store):
    ts = assemble(store)
    assert len(ts) == 0 and ts.hash == ""
    with pytest.raises(InputError, match="no labeled cases"):
        ts.table()
