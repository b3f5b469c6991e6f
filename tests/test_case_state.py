"""Case lifecycle: open → in review → escalated → closed, who may move a case, the conditional
writes that keep two users from both moving it, the audit trail, the export and Overview numbers."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import text, update

from rsad.auth import audit
from rsad.auth.policies import case_move_denied
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import CaseState, utcnow
from rsad.errors import AccessError, InputError, StateError
from rsad.model import versions
from rsad.review import case_state, case_stats, export, verdicts
from rsad.service import cases as svc
from rsad.service import review as triage
from rsad.service.review import QueueFilter

ANA, BO, ROOT = User("ana", "analyst"), User("bo", "analyst"), User("root", "admin")


@pytest.fixture
def ids(store, users):
    """Four scored cases k0..k3 (store ids, in upload order) and users ana, bo (analysts), root (admin)."""
    df = pd.DataFrame({"case_id": [f"k{i}" for i in range(4)], "behavior_description": [f"case {i}" for i in range(4)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        found = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, found, [0.9, 0.7, 0.3, 0.1])
    return found


def _trail(store, case_id):
    with store.session() as s:
        return [(e["action"], e["actor"], e["detail"]) for e in audit.events(s, subject=f"case:{case_id}")][::-1]


@pytest.mark.parametrize(("move", "state", "target"), [
    ("start", "open", "in_review"), ("escalate", "in_review", "escalated"), ("close", "escalated", "closed"),
    ("return", "escalated", "in_review"), ("reopen", "closed", "open"), ("assign", "open", None)])
def test_the_allowed_moves(move, state, target):
    assert case_state.check_move(move, state, reason="duplicate", note="why") == target


@pytest.mark.parametrize(("move", "state", "kw", "message"), [
    ("start", "closed", {}, "closed cannot be started"),
    ("reopen", "open", {}, "open cannot be reopened"),
    ("close", "in_review", {}, "Closing needs a reason"),
    ("close", "in_review", {"reason": "other"}, "needs a note"),
    ("escalate", "in_review", {}, "Say why"),
    ("fly", "open", {}, "Unknown move")])
def test_refused_moves(move, state, kw, message):
    with pytest.raises(InputError, match=message):
        case_state.check_move(move, state, **kw)


def test_who_may_do_what():
    assert case_move_denied(ANA, "escalate", state="in_review", assignee="ana") is None
    assert case_move_denied(ANA, "close", state="in_review", assignee=None) is None
    assert "assigned to bo" in case_move_denied(ANA, "close", state="in_review", assignee="bo")
    assert "waits for an admin" in case_move_denied(ANA, "close", state="escalated", assignee="ana")
    assert "admin" in case_move_denied(ANA, "reopen", state="closed", assignee="ana")
    assert case_move_denied(ANA, "assign", state="open", assignee=None, target="ana") is None
    assert "themselves" in case_move_denied(ANA, "assign", state="open", assignee=None, target="bo")
    assert case_move_denied(ROOT, "close", state="escalated", assignee="bo") is None
    assert case_move_denied(ROOT, "assign", state="in_review", assignee="ana", target="bo") is None
    assert "not signed in" in case_move_denied(None, "start", state="open", assignee=None)


def test_a_case_goes_through_its_life_and_every_move_is_audited(store, ids):
    c = ids[0]
    assert svc.status(store, c).state == "open" and svc.status(store, c).age_days < 1
    svc.change(store, c, "assign", user=ANA, assign_to="ana")
    assert svc.change(store, c, "start", user=ANA).state == "in_review"
    with pytest.raises(AccessError, match="assigned to ana"):
        svc.change(store, c, "close", user=BO, reason="duplicate")
    esc = svc.change(store, c, "escalate", user=ANA, note="same device as ring 4")
    assert (esc.state, esc.escalated_by, esc.escalation_note) == ("escalated", "ana", "same device as ring 4")
    with pytest.raises(AccessError, match="waits for an admin"):
        svc.change(store, c, "close", user=ANA, reason="duplicate")
    assert [r["case_id"] for r in svc.escalated_cases(store, user=ROOT)] == [c]
    with pytest.raises(AccessError):
        svc.escalated_cases(store, user=ANA)
    done = svc.change(store, c, "close", user=ROOT, reason="confirmed_anomaly", note="ring confirmed")
    assert (done.state, done.closing_reason, done.age_days) == ("closed", "confirmed_anomaly", None)
    assert svc.change(store, c, "reopen", user=ROOT).state == "open"
    assert [a for a, _who, _d in _trail(store, c)] == ["case_assign", "case_start", "case_escalate", "case_close",
                                                      "case_reopen"]
    assert _trail(store, c)[3] == ("case_close", "root", "escalated -> closed; confirmed_anomaly: ring confirmed")


def test_opening_a_case_starts_its_review_and_a_verdict_closes_it(store, ids):
    c, other = ids[0], ids[1]
    triage.claim_case(store, c, "ana")
    st = svc.status(store, c)
    assert (st.state, st.assignee) == ("in_review", "ana")
    triage.claim_case(store, c, "ana")  # a rerun renews the claim; nothing new in the trail
    assert len(_trail(store, c)) == 1
    svc.change(store, other, "escalate", user=BO, note="odd")
    verdicts.record_verdicts(store, [c, other, ids[2]], "anomaly", analyst="ana")
    assert svc.status(store, c).closing_reason == "verdict_anomaly"
    assert svc.status(store, other).state == "escalated"  # stays for an admin
    assert (svc.status(store, ids[2]).state, svc.status(store, ids[2]).assignee) == ("closed", "ana")
    verdicts.record_verdicts(store, [ids[3]], "unsure", analyst="ana")
    assert svc.status(store, ids[3]).state == "open"


def test_a_stale_move_is_refused(store, ids):
    c = ids[0]
    seen = svc.status(store, c).revision
    svc.change(store, c, "start", user=ANA, seen_revision=seen)
    with pytest.raises(StateError, match="changed since you opened it"):
        svc.change(store, c, "escalate", user=BO, note="x", seen_revision=seen)


@pytest.mark.usefixtures("backend")
def test_two_writers_cannot_both_move_a_case(store, ids):
    """Both read the case, then both write: exactly one conditional write lands."""
    c = ids[0]
    for revision_seen in (0, 1):  # the first move inserts the row; the second updates it
        with store.session() as s:
            seen = case_state.current(s, c)
        assert seen["revision"] == revision_seen
        with store.session() as s:
            first = case_state.move(s, c, "escalate" if revision_seen else "start", actor="ana", seen=seen,
                                    note="why")
        with store.session() as s:
            second = case_state.move(s, c, "escalate" if revision_seen else "start", actor="bo", seen=seen,
                                     note="why")
        assert (revision_seen, first, second) == (revision_seen, True, False)
    assert svc.status(store, c).state == "escalated"
    assert [who for _a, who, _d in _trail(store, c)] == ["ana", "ana"]


@pytest.mark.usefixtures("backend")
def test_two_threads_moving_a_case_at_once_make_one_move(store, ids):
    """Two sessions, each in its own thread, read the case and then write at the same moment."""
    import threading

    c, barrier, results = ids[1], threading.Barrier(2), {}
    svc.change(store, c, "start", user=ANA)  # a row to update (the sequential test covers the first insert)

    def escalate(who: str) -> None:
        with store.session() as s:
            seen = case_state.current(s, c)
        barrier.wait(10)
        with store.session() as s:
            results[who] = case_state.move(s, c, "escalate", actor=who, seen=seen, note=f"by {who}")

    threads = [threading.Thread(target=escalate, args=(who,)) for who in ("ana", "bo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == [False, True]
    winner = next(who for who, ok in results.items() if ok)
    st = svc.status(store, c)
    assert (st.state, st.escalated_by, st.escalation_note, st.revision) == ("escalated", winner, f"by {winner}", 2)
    assert [who for _a, who, _d in _trail(store, c)] == ["ana", winner]


def test_the_export_carries_the_state(store, ids):
    verdicts.record_verdicts(store, [ids[0]], "normal", analyst="ana")
    svc.change(store, ids[1], "escalate", user=BO, note="odd")
    verdicts.record_verdicts(store, [ids[1]], "anomaly", analyst="bo")
    df = pd.read_csv(pd.io.common.BytesIO(export.labels_bytes(store, "csv", user=ANA)))
    got = df.set_index("case_id")[["state", "assignee", "closing_reason"]].fillna("").to_dict("index")
    assert got["k0"] == {"state": "closed", "assignee": "ana", "closing_reason": "verdict_normal"}
    assert got["k1"] == {"state": "escalated", "assignee": "", "closing_reason": ""}


def test_the_age_of_cases_not_closed(store, ids):
    with store.session() as s:
        s.execute(text("UPDATE batches SET created_at = :t"), {"t": utcnow() - timedelta(days=5)})
    svc.change(store, ids[0], "escalate", user=ANA, note="x")
    verdicts.record_verdicts(store, [ids[1]], "normal", analyst="ana")
    svc.change(store, ids[1], "reopen", user=ROOT)  # its age counts from now
    with store.session() as s:
        s.execute(update(CaseState).where(CaseState.case_id == ids[1]).values(opened_at=utcnow() - timedelta(hours=2)))
    triage.claim_case(store, ids[2], "bo")
    got = svc.age_summary(store)
    assert got["counts"] == {"open": 2, "in_review": 1, "escalated": 1} and got["closed"] == 0
    assert got["buckets"] == {"< 1 d": 1, "1–3 d": 0, "3–7 d": 3, "> 7 d": 0}
    assert got["oldest_days"] == pytest.approx(5, abs=0.01) and got["median_days"] == pytest.approx(5, abs=0.01)
    with store.session() as s:
        assert case_stats.age_summary(s, project_id=999)["total"] == 0
        s.execute(text("UPDATE cases SET given_label = 0 WHERE id IN (:a, :b)"), {"a": ids[3], "b": ids[0]})
    # labeled on upload: no work waiting, unless someone moved it (k0 is escalated)
    got = svc.age_summary(store)
    assert got["counts"] == {"open": 1, "in_review": 1, "escalated": 1} and got["total"] == 3


def test_the_queue_filters_by_state_and_assignee(store, ids):
    triage.claim_case(store, ids[1], "ana")
    svc.change(store, ids[2], "escalate", user=BO, note="x")
    assert [r["id"] for r in triage.queue(store, QueueFilter(case_state="open")).rows] == [ids[0], ids[3]]
    assert [r["id"] for r in triage.queue(store, QueueFilter(case_state="escalated")).rows] == [ids[2]]
    page = triage.queue(store, QueueFilter(assignee="ana"))
    assert ([r["id"] for r in page.rows], page.total) == ([ids[1]], 1)


def test_the_cli_shows_and_moves_a_case(store, ids, capsys):
    from rsad.cli.main import main

    assert main(["--as", "ana", "cases", "escalate", "k0", "--note", "same device"]) == 0
    assert main(["--as", "ana", "cases", "close", "k0", "--reason", "duplicate"]) == 2  # waits for an admin
    assert "waits for an admin" in capsys.readouterr().err
    assert main(["--as", "root", "cases", "escalated"]) == 0
    assert "same device" in capsys.readouterr().out
    assert main(["--as", "root", "cases", "close", str(ids[0]), "--reason", "other", "--note", "test run"]) == 0
    assert main(["cases", "state", "k0"]) == 0
    out = capsys.readouterr().out
    assert "Closed: other (say why in the note). test run" in out and "case_escalate" in out
    assert main(["--as", "bo", "cases", "assign", "k1", "ana"]) == 2
    assert "themselves" in capsys.readouterr().err
