"""The review queue's filters, sorting and paging, and the triage operations behind the pages."""

import pandas as pd
import pytest
from sqlalchemy import text

from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.errors import InputError
from rsad.model import versions
from rsad.review import reports, verdicts
from rsad.review.work_queue import QueueFilter
from rsad.service import review as triage

# The queue's SQL (JSON metadata, LIKE, paging) runs on SQLite and, when RSAD_TEST_PG_URL is set, PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def scored(store):
    """A batch of 12 cases with known scores under an active version v1 (threshold 0.5)."""
    df = pd.DataFrame({"case_id": [f"k{i:02d}" for i in range(12)],
                       "behavior_description": [f"case {i} {'spam link' if i % 3 == 0 else 'normal day'} 100%_off"
                                                for i in range(12)],
                       "country": ["CN", "US", "DE"] * 4, "n_events": list(range(12))})
    info = uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [i / 11 for i in range(12)])
    return {"batch_id": info["id"], "ids": ids}


def test_default_queue_is_unreviewed_by_score(store, scored):
    page = triage.queue(store, QueueFilter(), limit=5)
    assert page.total == 12 and page.model == "v1"
    assert [r["external_id"] for r in page.rows] == ["k11", "k10", "k09", "k08", "k07"]
    second = triage.queue(store, QueueFilter(), offset=10, limit=5)
    assert [r["external_id"] for r in second.rows] == ["k01", "k00"]


def test_filters(store, scored):
    def ext(**kw):
        return [r["external_id"] for r in triage.queue(store, QueueFilter(**kw), limit=50).rows]

    assert ext(score_min=0.5, score_max=0.75) == ["k08", "k07", "k06"]
    assert ext(meta_key="country", meta_value="CN") == ["k09", "k06", "k03", "k00"]
    assert ext(meta_key="n_events", meta_value="4") == ["k04"]  # numbers compare as text
    assert ext(text_contains="SPAM") == ["k09", "k06", "k03", "k00"]
    assert len(ext(text_contains="100%_")) == 12 and ext(text_contains="0%x") == []  # % and _ are literal
    assert set(ext(sort="uncertain")[:2]) == {"k05", "k06"}  # 0.4545 and 0.5454, equally near 0.5
    assert ext(sort="newest")[0] == "k11"
    assert ext(batch_id=scored["batch_id"] + 99) == []


def test_status_and_verdict_filters_follow_the_latest_verdict(store, scored):
    k11, k10 = scored["ids"][11], scored["ids"][10]
    verdicts.record_verdicts(store, [k11, k10], "anomaly", analyst="ana", reason_code="spam")
    verdicts.record_verdicts(store, [k10], "normal", analyst="bo", reason_code="benign", note=" ok ")
    unreviewed = triage.queue(store, QueueFilter()).rows
    assert "k11" not in [r["external_id"] for r in unreviewed] and len(unreviewed) == 10
    reviewed = triage.queue(store, QueueFilter(status="reviewed")).rows
    assert {r["external_id"]: r["verdict"] for r in reviewed} == {"k11": "anomaly", "k10": "normal"}
    normal = triage.queue(store, QueueFilter(status="all", verdict="normal")).rows
    assert [r["external_id"] for r in normal] == ["k10"]
    view = triage.case_view(store, k10)
    assert [v["analyst"] for v in view.verdicts] == ["bo", "ana"] and view.verdicts[0]["note"] == "ok"
    assert view.verdicts[0]["threshold"] == 0.5 and view.score == pytest.approx(10 / 11)
    assert view.meta == {"country": "US", "n_events": "10"}  # CSV cells stay text
    assert triage.queue_case_at(store, QueueFilter(), 0) == scored["ids"][9]
    assert triage.queue_case_at(store, QueueFilter(), 10) is None


def test_bad_requests(store, scored):
    with pytest.raises(InputError, match="Select at least one"):
        verdicts.record_verdicts(store, [], "anomaly", analyst="ana")
    with pytest.raises(InputError, match="Unknown reason code"):
        verdicts.record_verdicts(store, scored["ids"][:1], "anomaly", analyst="ana", reason_code="vibes")
    with pytest.raises(InputError, match="score range"):
        triage.queue(store, QueueFilter(score_min=0.9, score_max=0.1))
    with pytest.raises(InputError, match="Say who you are"):
        verdicts.record_verdicts(store, scored["ids"][:2], "normal", analyst="")
    assert reports.verdict_table(store).empty  # the failed bulk wrote nothing


def test_metadata_filters_and_labels_tables(store, scored):
    assert triage.metadata_keys(store, scored["batch_id"]) == ["country", "n_events"]
    assert set(triage.metadata_values(store, scored["batch_id"], "country")) == {"CN", "US", "DE"}
    ids = scored["ids"]
    verdicts.record_verdicts(store, ids[:4], "anomaly", analyst="ana", reason_code="spam")
    verdicts.record_verdicts(store, ids[:4], "anomaly", analyst="bo", reason_code="spam")
    verdicts.record_verdicts(store, ids[2:4], "normal", analyst="bo", reason_code="benign")
    table = reports.verdict_table(store, analysts=["bo"], labels=["normal"])
    assert len(table) == 2 and set(table["case_id"]) == {"k02", "k03"}
    kappa = reports.agreement(store)
    row = kappa.iloc[0]
    assert (row["analyst_a"], row["analyst_b"], row["shared_cases"], row["agreement"]) == ("ana", "bo", 4, 0.5)
    assert row["kappa"] == pytest.approx(0.0)
    current = reports.current_label_table(store)
    assert dict(zip(current["case_id"], current["is_anomaly"])) == {"k00": 1, "k01": 1, "k02": 0, "k03": 0}
