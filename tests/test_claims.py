"""Case claims: an opened case is held for a few minutes; other analysts' queues skip it."""

import threading
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import CaseClaim, utcnow
from rsad.errors import InputError, NotFoundError, StateError
from rsad.model import versions
from rsad.review import claims, reports, verdicts
from rsad.review.work_queue import QueueFilter
from rsad.service import batches
from rsad.service import review as triage


def _live_claims(s) -> list[tuple[int, str]]:
    """The claims not yet expired (what another analyst's queue would skip)."""
    return list(s.execute(select(CaseClaim.case_id, CaseClaim.analyst).where(CaseClaim.expires_at > utcnow())))


@pytest.fixture
def cases(store):
    """Six cases scored 0.0 .. 1.0 under the active version v1; ids from the highest score down."""
    df = pd.DataFrame({"case_id": [f"k{i}" for i in range(6)], "behavior_description": [f"case {i}" for i in range(6)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [i / 5 for i in range(6)])
    return ids[::-1]


def queue_ids(store, viewer):
    return [r["id"] for r in triage.queue(store, QueueFilter(viewer=viewer)).rows]


def test_two_analysts_do_not_get_the_same_case(store, cases):
    top = cases[0]
    assert triage.claim_case(store, top, "ana")["mine"]
    # bo's queue skips the case ana has open, and says who has it.
    page = triage.queue(store, QueueFilter(viewer="bo"))
    assert [r["id"] for r in page.rows] == cases[1:]
    assert [(h["analyst"], h["cases"]) for h in page.held] == [("ana", 1)]
    assert triage.queue_case_at(store, QueueFilter(viewer="bo"), 0) == cases[1]
    # ana still sees her case; a queue without a viewer (CLI, exports) shows everything.
    assert queue_ids(store, "ana") == cases and queue_ids(store, None) == cases
    # bo opening it anyway (a stale page) gets told who has it and until when.
    seen = triage.claim_case(store, top, "bo")
    assert not seen["mine"] and seen["analyst"] == "ana"
    assert seen["expires_at"] - utcnow() == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=30))
    with pytest.raises(StateError, match=r"Case k5 is open with ana until \d\d:\d\d UTC"):
        verdicts.record_verdicts(store, [top], "normal", analyst="bo")
    assert reports.verdict_table(store).empty


def test_counts_leave_out_only_the_held_cases_the_filters_match(store, cases):
    assert triage.queue(store, QueueFilter(viewer="bo")).total == 6  # no claims at all
    triage.claim_case(store, cases[0], "ana")  # score 1.0
    triage.claim_case(store, cases[5], "bo")  # score 0.0: bo's own claim stays in bo's queue
    assert triage.queue(store, QueueFilter(viewer="bo")).total == 5
    assert triage.queue(store, QueueFilter(viewer="bo", score_max=0.5)).total == 3  # ana's case is above
    assert triage.queue(store, QueueFilter(viewer="ana")).total == 5
    assert triage.queue(store, QueueFilter(viewer=None)).total == 6
    verdicts.record_verdicts(store, [cases[5]], "normal", analyst="bo")  # releases bo's claim
    assert triage.queue(store, QueueFilter(viewer="ana")).total == 5  # reviewed now: not in the queue


def test_a_verdict_releases_the_claim_and_opening_another_case_moves_it(store, cases):
    triage.claim_case(store, cases[0], "ana")
    triage.claim_case(store, cases[1], "ana")  # one open case per analyst: the first goes back
    assert queue_ids(store, "bo") == [cases[0], *cases[2:]]
    verdicts.record_verdicts(store, [cases[1]], "anomaly", analyst="ana")
    with store.session() as s:
        assert _live_claims(s) == []
    assert triage.claim_case(store, cases[1], "bo")["mine"]
    triage.release_claims(store, "bo")  # sign-out
    with store.session() as s:
        assert _live_claims(s) == []


def test_claims_expire(store, cases):
    t0 = utcnow()
    with store.session() as s:
        assert claims.claim(s, cases[0], "ana", 10, now=t0)["mine"]
    with store.session() as s:
        early = claims.claim(s, cases[0], "bo", 10, now=t0 + timedelta(minutes=9))
        assert not early["mine"] and early["analyst"] == "ana"
        assert claims.held_by_others(s, [cases[0]], "bo", now=t0 + timedelta(minutes=9))
        assert not claims.held_by_others(s, [cases[0]], "bo", now=t0 + timedelta(minutes=11))
    with store.session() as s:
        late = claims.claim(s, cases[0], "bo", 10, now=t0 + timedelta(minutes=11))
    assert late["mine"] and late["expires_at"] == t0 + timedelta(minutes=21)
    with store.session() as s:
        # Renewing keeps when the claim was taken and moves the expiry.
        claims.claim(s, cases[0], "bo", 10, now=t0 + timedelta(minutes=12))
        row = s.get(CaseClaim, cases[0])
        assert row.analyst == "bo" and claims.as_utc(row.claimed_at) == t0 + timedelta(minutes=11)
        assert claims.as_utc(row.expires_at) == t0 + timedelta(minutes=22)


def test_claiming_a_missing_case_is_a_clear_error(store, cases):
    with pytest.raises(NotFoundError, match="No case with id 999"):
        triage.claim_case(store, 999, "ana")


def test_claim_minutes_setting(store, cases, monkeypatch):
    monkeypatch.setenv("RSAD_CLAIM_MINUTES", "2")
    short = batches.open_store()
    until = triage.claim_case(short, cases[0], "ana")["expires_at"]
    assert until - utcnow() == pytest.approx(timedelta(minutes=2), abs=timedelta(seconds=30))
    short.dispose()


def test_concurrent_claims_of_one_case_have_one_winner(store, cases):
    analysts = [f"analyst{i}" for i in range(8)]
    start = threading.Barrier(len(analysts))
    results, errors = {}, []

    def grab(name):
        try:
            start.wait(10)
            results[name] = triage.claim_case(store, cases[0], name)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(repr(exc))

    threads = [threading.Thread(target=grab, args=(a,)) for a in analysts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    winners = [a for a, r in results.items() if r["mine"]]
    assert len(winners) == 1 and len(results) == len(analysts)
    assert {r["analyst"] for r in results.values()} == set(winners)  # every loser was told who won
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseClaim)) == 1


def test_deleting_a_batch_cascades_to_everything_on_it(store, cases):
    verdicts.record_verdicts(store, cases[:2], "anomaly", analyst="ana")
    triage.claim_case(store, cases[2], "bo")
    with pytest.raises(InputError, match="Type the batch name 'k' exactly"):
        batches.delete_batch(store, "k", user=User("root", "admin"), confirm="K ")
    info = batches.delete_batch(store, "k", user=User("root", "admin"), confirm="k")
    assert (info["cases"], info["verdicts"]) == (6, 2)
    with store.session() as s:
        counts = {t: s.scalar(text(f"SELECT count(*) FROM {t}"))
                  for t in ("batches", "cases", "scores", "verdicts", "case_claims", "case_states")}
        assert counts == dict.fromkeys(counts, 0)
        row = s.execute(text("SELECT action, subject, actor, detail FROM audit_events "
                             "WHERE action = 'delete_batch'")).one()
        assert tuple(row) == ("delete_batch", "k", "root", "6 cases, 2 verdicts")
