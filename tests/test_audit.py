"""The label-issue audit: flipped labels are found, stored, second-looked, and corrections train."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_table
from rsad.data import uploads
from rsad.data.describe import describe_events
from rsad.data.ingest import load_batch
from rsad.data.synth import make_events
from rsad.errors import AccessError, InputError
from rsad.review.labels import current_labels
from rsad.service import audit
from rsad.service.users import User

ROOT, ANA = User("root", "admin"), User("ana", "analyst")
FLIPS = 15


def _flipped_table() -> tuple[object, set[str]]:
    """300 synthetic users with their true labels, 15 of them flipped; and the flipped ids."""
    events, users = make_events(300, anomaly_rate=0.37, seed=3)
    table = describe_events(events).merge(users[["user_id", "is_anomaly"]], on="user_id")
    table = table[["case_id", "behavior_description", "is_anomaly"]].copy()
    flip = np.random.default_rng(1).choice(len(table), FLIPS, replace=False)
    table.loc[flip, "is_anomaly"] = 1 - table.loc[flip, "is_anomaly"]
    return table, set(table.loc[flip, "case_id"])


@pytest.fixture
def flipped(store):
    table, ids = _flipped_table()
    uploads.save_batch(store, load_batch(table.to_csv(index=False).encode(), file_name="seed.csv"), name="seed")
    return store, ids


def test_audit_finds_most_flipped_labels_and_stores_them(flipped):
    store, flipped_ids = flipped
    run = audit.run_audit(store, user=ROOT, use_model=False)
    assert run.run == 1 and run.labeled == 300 and run.features == "tf-idf" and run.embedded == 0
    assert run.stored == 30  # the cap: a tenth of the labels
    found = audit.found_issues(store)
    assert len(found) == 30 and [c.quality for c in found] == sorted(c.quality for c in found)
    hits = {c.external_id for c in found} & flipped_ids
    # 30 of 300 picked at random would hold 1.5 flipped labels on average
    assert len(hits) >= 8, hits
    first = found[0]
    assert first.suggested_label == 1 - first.given_label and first.label_source == "seed"
    assert "cross-validated models give" in audit.reason_text(first)
    s = audit.summary(store)
    assert s.latest_run == 1 and s.latest_by == "root"
    assert s.latest == {"found": 30, "open": 30, "confirmed": 0, "corrected": 0, "unsure": 0} == s.overall


def test_second_look_confirms_corrects_and_the_training_label_follows(flipped):
    store, flipped_ids = flipped
    audit.run_audit(store, user=ROOT, use_model=False, max_issues=10)
    queue, total = audit.second_look_queue(store, limit=5)
    assert total == 10 and len(queue) == 5
    wrong, right, unsure = queue[0], queue[1], queue[2]
    truth = "normal" if wrong.given_label else "anomaly"  # the analyst corrects it
    assert audit.record_second_look(store, wrong.case_id, truth, analyst="ana") == 1
    kept = "anomaly" if right.given_label else "normal"
    audit.record_second_look(store, right.case_id, kept, analyst="bo")
    audit.record_second_look(store, unsure.case_id, "unsure", analyst="ana")
    s = audit.summary(store)
    assert s.latest == {"found": 10, "open": 7, "confirmed": 1, "corrected": 1, "unsure": 1}
    queue, total = audit.second_look_queue(store, limit=20)
    assert total == 7 and wrong.case_id not in {c.case_id for c in queue}
    with store.session() as sess:
        labels = {r["case_pk"]: r for r in current_labels(sess, project_id=store.project_id)}
    assert labels[wrong.case_id]["is_anomaly"] == int(truth == "anomaly")
    assert labels[wrong.case_id]["label_source"] == "verdict"
    assert labels[unsure.case_id]["label_source"] == "seed"  # unsure abstains: the seed label stands
    # A second audit leaves the second-looked cases alone and keeps counting them once.
    again = audit.run_audit(store, user=ROOT, use_model=False, max_issues=10)
    assert again.run == 2 and again.skipped_seen >= 2  # the corrected label no longer looks wrong
    assert not {wrong.case_id, right.case_id, unsure.case_id} & {c.case_id for c in audit.found_issues(store, 2)}
    s = audit.summary(store)
    assert s.latest_run == 2 and s.latest["found"] == 10
    assert s.overall["corrected"] == 1 and s.overall["confirmed"] == 1 and s.overall["unsure"] == 1


def test_second_look_is_accepted_with_custom_reason_codes(env, monkeypatch):
    from rsad.service.batches import open_store
    from rsad.service.labels import verdict_table

    monkeypatch.setenv("RSAD_REASON_CODES", "spam,bot")
    store = open_store()
    try:
        uploads.save_batch(store, load_batch(tiny_table(12).to_csv(index=False).encode(), file_name="t.csv"),
                           name="t")
        with store.session() as sess:
            case = current_labels(sess, project_id=store.project_id)[0]["case_pk"]
        audit.record_second_look(store, case, "normal", analyst="ana")
        assert verdict_table(store)["reason_code"].tolist() == ["second look"]
        with pytest.raises(InputError, match="Unknown reason code"):
            from rsad.service.review import record_verdicts

            record_verdicts(store, [case], "normal", analyst="ana", reason_code="benign")
    finally:
        store.dispose()


def test_too_few_labels_are_refused_with_what_to_do(store):
    uploads.save_batch(store, load_batch(tiny_table(6).to_csv(index=False).encode(), file_name="t.csv"), name="t")
    with pytest.raises(InputError, match="at least 5 labeled cases of each class.*3 anomalies and 3 normal.*label"):
        audit.run_audit(store, user=ROOT)
    assert audit.summary(store).latest_run is None


def test_only_admins_run_the_audit(flipped):
    store, _ids = flipped
    with pytest.raises(AccessError, match="Running the label audit needs the admin role"):
        audit.run_audit(store, user=ANA)
    with pytest.raises(InputError, match="at least one case"):
        audit.run_audit(store, user=ROOT, max_issues=0)


def test_cli_audit_prints_the_cases_and_the_counts(flipped, capsys):
    from rsad.cli.main import main

    store, _ids = flipped
    assert main(["audit", "--max", "5", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "Audit #1: 300 labeled cases (tf-idf)" in out and "5 sent to the second look" in out
    assert out.count("cross-validated models give") == 5
    assert "5 found, 5 open, 0 confirmed, 0 corrected, 0 unsure" in out
    assert main(["audit", "--status"]) == 0
    assert "Latest audit (#1" in capsys.readouterr().out
    assert main(["--as", "nobody", "audit"]) == 2


def test_audit_averages_in_the_active_versions_embeddings(store_with_model):
    store = store_with_model
    table, flipped_ids = _flipped_table()
    uploads.save_batch(store, load_batch(table.to_csv(index=False).encode(), file_name="seed.csv"), name="seed")
    run = audit.run_audit(store, user=ROOT)
    assert run.features == "tf-idf + embeddings of v1" and run.embedded == 300 and run.stored == 30
    hits = {c.external_id for c in audit.found_issues(store)} & flipped_ids
    assert len(hits) >= 8, hits
