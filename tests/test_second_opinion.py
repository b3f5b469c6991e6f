"""Blind second opinions: a project setting sends a share of cases to a second analyst, who judges
them without seeing the first verdict. Through the service layer, on SQLite and (with
RSAD_TEST_PG_URL) PostgreSQL."""

import pandas as pd
import pytest
from sqlalchemy import literal, select, text

from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.errors import AccessError, InputError
from rsad.model import versions
from rsad.review import verdicts
from rsad.review.second_opinion import is_sampled, sampled
from rsad.review.work_queue import QueueFilter
from rsad.service import labels, projects
from rsad.service import review as triage

pytestmark = pytest.mark.usefixtures("backend")
ROOT = User("root", "admin")
SHARE = 0.5


@pytest.fixture
def cases(store):
    """Twenty cases scored under an active version v1 (threshold 0.5); second opinions on half of them."""
    df = pd.DataFrame({"case_id": [f"k{i:02d}" for i in range(20)],
                       "behavior_description": [f"case {i}" for i in range(20)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [i / 19 for i in range(20)])
    assert projects.set_second_opinion_share(store, "default", SHARE, user=ROOT) == SHARE
    return ids


def ids(store, **kw) -> list[int]:
    return [r["id"] for r in triage.queue(store, QueueFilter(**kw), limit=100).rows]


def consistent(store, viewer: str) -> None:
    """Rows, counts, positions and neighbours come from one filter, whatever the status and verdict."""
    for status in ("unreviewed", "reviewed", "all"):
        for verdict in (None, "anomaly", "normal"):
            f = QueueFilter(status=status, verdict=verdict, viewer=viewer)
            page = triage.queue(store, f, limit=100)
            assert page.total == len(page.rows), (status, verdict)
            for pos, row in enumerate(page.rows):
                assert triage.queue_position(store, f, row["id"]) == pos
                assert triage.queue_case_at(store, f, pos) == row["id"]


def test_a_sampled_case_waits_blind_for_a_second_analyst(store, cases):
    picked = next(c for c in cases if is_sampled(c, SHARE))
    other = next(c for c in cases if not is_sampled(c, SHARE))
    verdicts.record_verdicts(store, [picked, other], "anomaly", analyst="ana", reason_code="spam")

    # ana has judged both; bo still has the sampled one, the other is reviewed for everyone.
    assert picked not in ids(store, viewer="ana") and other not in ids(store, viewer="ana")
    assert triage.queue(store, QueueFilter(viewer="ana")).total == 18
    assert picked in ids(store, viewer="bo") and other not in ids(store, viewer="bo")
    assert triage.queue(store, QueueFilter(viewer="bo")).total == 19
    assert ids(store, viewer="bo", status="reviewed") == [other]
    assert picked not in ids(store, viewer="bo", status="all", verdict="anomaly")  # no verdict to filter on
    assert picked in ids(store, viewer="ana", status="all", verdict="anomaly")
    assert set(ids(store, viewer=None, status="reviewed")) == {picked, other}  # no viewer (CLI): no rule
    consistent(store, "bo")
    consistent(store, "ana")

    # Blind: bo's queue row and case view hide ana's verdict; ana's and a viewer-less view show it.
    row = next(r for r in triage.queue(store, QueueFilter(viewer="bo", status="all"), limit=100).rows
               if r["id"] == picked)
    assert row["verdict"] is None and row["analyst"] is None
    seen = triage.case_view(store, picked, viewer="bo")
    assert seen.second_opinion and seen.verdicts == []
    assert triage.case_view(store, other, viewer="bo").verdicts[0]["analyst"] == "ana"  # not sampled
    assert [v["analyst"] for v in triage.case_view(store, picked, viewer="ana").verdicts] == ["ana"]
    assert not triage.case_view(store, picked, viewer="ana").second_opinion
    assert labels.second_opinions(store) == {"share": SHARE, "double_judged": 0, "waiting": 1}

    # ana changing her mind is still one analyst: the case still waits for bo.
    verdicts.record_verdicts(store, [picked], "normal", analyst="ana")
    assert picked in ids(store, viewer="bo")

    # bo judges it: it leaves bo's queue (and everyone's), and bo sees both verdicts.
    verdicts.record_verdicts(store, [picked], "anomaly", analyst="bo")
    assert picked not in ids(store, viewer="bo") and picked not in ids(store, viewer="cy")
    assert triage.queue(store, QueueFilter(viewer="bo")).total == 18
    after = triage.case_view(store, picked, viewer="bo")
    assert not after.second_opinion and {v["analyst"] for v in after.verdicts} == {"ana", "bo"}
    assert labels.second_opinions(store) == {"share": SHARE, "double_judged": 1, "waiting": 0}
    consistent(store, "bo")


def test_off_by_default_and_the_queue_is_unchanged(store, cases):
    projects.set_second_opinion_share(store, "default", 0, user=ROOT)
    picked = next(c for c in cases if is_sampled(c, SHARE))
    verdicts.record_verdicts(store, [picked], "anomaly", analyst="ana", reason_code="spam")
    assert picked not in ids(store, viewer="bo")
    assert triage.queue(store, QueueFilter(viewer="bo")).total == 19
    assert triage.case_view(store, picked, viewer="bo").verdicts[0]["analyst"] == "ana"
    assert labels.second_opinions(store)["share"] == 0


def test_the_share_is_checked_and_only_admins_set_it(store):
    assert projects.second_opinion_share(store) == 0.0  # off until an admin turns it on
    for bad in (-0.01, 0.51, 1, float("nan"), "lots"):
        with pytest.raises(InputError, match="between 0 .off. and 0.5"):
            projects.set_second_opinion_share(store, "default", bad, user=ROOT)
    with pytest.raises(AccessError):
        projects.set_second_opinion_share(store, "default", 0.05, user=User("ana", "analyst"))
    assert projects.set_second_opinion_share(store, "default", 0.05, user=ROOT) == 0.05
    assert projects.second_opinion_share(store) == 0.05


def test_sampling_is_deterministic_and_grows_with_the_share(store):
    with store.session() as s:  # the database agrees with Python, also past PostgreSQL's int4 * 7919
        for case_id in (1, 7, 271_182, 2_000_000_001):
            assert bool(s.scalar(select(sampled(literal(case_id), 0.5)))) == is_sampled(case_id, 0.5)
    ids_ = range(1, 20_001)
    five = {i for i in ids_ if is_sampled(i, 0.05)}
    assert abs(len(five) / 20_000 - 0.05) < 0.005
    assert five <= {i for i in ids_ if is_sampled(i, 0.1)}
    assert not any(is_sampled(i, 0) for i in ids_)


def test_cli_sets_the_share(store, capsys):
    from rsad.cli.main import main

    assert main(["projects", "set", "default", "--second-opinion-share", "0.05"]) == 0
    assert "5% of its cases go to a second analyst" in capsys.readouterr().out
    assert projects.second_opinion_share(store) == 0.05
    assert main(["projects", "set", "default", "--second-opinion-share", "0.9"]) != 0
    assert "between 0 (off) and 0.5" in capsys.readouterr().err
    assert main(["projects", "set", "default", "--second-opinion-share", "0"]) == 0
    assert "off" in capsys.readouterr().out
