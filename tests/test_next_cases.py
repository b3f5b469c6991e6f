"""The "best next to label" list (rsad.ops.next_cases), `rsad next`, and the Review queue's
"best next to label" sort (the ranking first, then by uncertainty, paged in SQL)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select, text

from conftest import tiny_table
from rsad.cli.label_next import STRATEGIES as CLI_STRATEGIES
from rsad.cli.main import main
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import Case, Verdict
from rsad.errors import InputError, NotFoundError, StateError
from rsad.model import versions
from rsad.ops import next_cases as ops_next
from rsad.ops import scoring
from rsad.review import selection, verdicts
from rsad.service import next_cases as nc
from rsad.service import review as triage
from rsad.service.review import QueueFilter


@pytest.fixture(autouse=True)
def _fresh_cache():
    nc.forget()
    yield
    nc.forget()


# --- the Review queue's sort, with a ranking given (no model needed) ---------------------------

@pytest.fixture
def twelve(store):
    """12 cases with scores i/11 under an active v1 (threshold 0.5), as in tests/test_queue.py."""
    df = pd.DataFrame({"case_id": [f"k{i:02d}" for i in range(12)],
                       "behavior_description": [f"case {i}" for i in range(12)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [i / 11 for i in range(12)])
    return ids


def _names(store, rows):
    return [r["external_id"] for r in rows]


@pytest.mark.usefixtures("backend")  # its SQL (CASE, nested UNION ALL) runs on PostgreSQL too, when set
def test_active_sort_puts_the_ranking_first_then_uncertainty_and_pages_agree(backend, store, twelve):
    ranked = (twelve[11], twelve[0], twelve[3])
    f = QueueFilter(sort="active", ranked=ranked)
    full = _names(store, triage.queue(store, f, limit=50).rows)
    assert full[:3] == ["k11", "k00", "k03"]
    # then nearest the threshold 0.5 (5/11 and 6/11 are equally near, bar the last bit of a float)
    assert set(full[3:5]) == {"k05", "k06"} and set(full[5:7]) == {"k04", "k07"}
    assert sorted(full) == [f"k{i:02d}" for i in range(12)]
    for size in (1, 2, 5):  # paging walks the same order, whatever the page size
        pages = [r for off in range(0, 12, size) for r in triage.queue(store, f, offset=off, limit=size).rows]
        assert _names(store, pages) == full
    by_name = {f"k{i:02d}": cid for i, cid in enumerate(twelve)}
    for pos, name in enumerate(full):
        assert triage.queue_case_at(store, f, pos) == by_name[name]
        assert triage.queue_position(store, f, by_name[name]) == pos
    # A ranked case with a verdict leaves the unreviewed queue; the rest keep their order.
    verdicts.record_verdicts(store, [twelve[0]], "normal", analyst="ana")
    assert _names(store, triage.queue(store, f, limit=4).rows) == ["k11", "k03", *full[3:5]]
    # Without a ranking the sort is most uncertain first.
    plain = _names(store, triage.queue(store, QueueFilter(sort="active"), limit=50).rows)
    assert plain == _names(store, triage.queue(store, QueueFilter(sort="uncertain"), limit=50).rows)


def test_the_sort_is_offered_and_the_cli_names_the_same_strategies():
    assert "active" in triage.SORTS and CLI_STRATEGIES == selection.STRATEGIES


# --- next_cases on a batch scored by the tiny model ---------------------------------------------

@pytest.fixture
def open_batch(store_with_model, tmp_path):
    """Batch "open": 48 cases, a third with a label from the upload, scored by the tiny model."""
    df = tiny_table(48)
    df["is_anomaly"] = [label if i % 3 == 0 else None for i, label in enumerate(df["is_anomaly"])]
    df.to_csv(tmp_path / "open.csv", index=False)
    uploads.ingest_file(store_with_model, tmp_path / "open.csv", name="open")
    scoring.score_batch(store_with_model, "open")
    return store_with_model


def _open_ids(store) -> set[int]:
    with store.session() as s:
        return set(s.scalars(select(Case.id).where(Case.given_label.is_(None),
                                                   Case.id.not_in(select(Verdict.case_id)))))


@pytest.fixture
def embeds(monkeypatch):
    """Counts the calls of the embedding (the one slow step of the active order)."""
    calls = []
    real = ops_next.embed_texts

    def counted(texts, *args, **kwargs):
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(ops_next, "embed_texts", counted)
    return calls


def test_active_returns_distinct_open_cases_and_keeps_its_list(open_batch, embeds):
    store = open_batch
    first = nc.next_cases(store, "open", n=8)
    assert len(first) == 8 and len({c.id for c in first}) == 8 and {c.id for c in first} <= _open_ids(store)
    assert len(embeds) == 1 and embeds[0] == 32  # the whole pool: 32 open cases < POOL_FACTOR x 8
    threshold = versions.active_version(store).threshold
    for c in first:
        assert c.distance == pytest.approx(c.score - threshold) and 0 <= c.uncertainty <= 1 and c.preview
    assert nc.next_cases(store, "open", n=8) == first and len(embeds) == 1  # kept: no second embedding
    # A case labeled meanwhile leaves the list; the rest keep their order, still without embedding.
    verdicts.record_verdicts(store, [first[0].id, first[2].id], "anomaly", analyst="ana")
    again = nc.next_cases(store, "open", n=8)
    assert [c.id for c in again] == [c.id for c in first if c.id not in (first[0].id, first[2].id)]
    assert len(embeds) == 1
    # Fewer than half left: computed anew, away from the latest verdicts, and full again.
    verdicts.record_verdicts(store, [c.id for c in again[:3]], "normal", analyst="ana")
    fresh = nc.next_cases(store, "open", n=8)
    assert len(embeds) == 2 and embeds[1] == 27 + 5  # 27 open cases and the 5 reviewed ones
    assert len(fresh) == 8 and {c.id for c in fresh} <= _open_ids(store)


def test_uncertain_and_random(open_batch):
    store = open_batch
    threshold = versions.active_version(store).threshold
    near = nc.next_cases(store, "open", n=10, strategy="uncertain")
    assert [abs(c.distance) for c in near] == sorted(abs(c.distance) for c in near)
    outside = _open_ids(store) - {c.id for c in near}
    with store.session() as s:
        scores = q.batch_score_map(s, q.get_batch(s, "open").id, versions.active_version(store).id)
    assert all(abs(scores[i] - threshold) >= abs(near[-1].distance) - 1e-12 for i in outside)
    a, b = (nc.next_cases(store, "open", n=10, strategy="random", seed=7) for _ in range(2))
    assert a == b and len({c.id for c in a}) == 10 and {c.id for c in a} <= _open_ids(store)
    assert [c.id for c in nc.next_cases(store, "open", n=10, strategy="random", seed=8)] != [c.id for c in a]
    assert len(nc.next_cases(store, "open", n=500, strategy="random")) == 32  # all there is


def test_errors_say_what_to_do(open_batch, store, tmp_path):
    with pytest.raises(NotFoundError, match="No batch 'nope'"):
        nc.next_cases(open_batch, "nope")
    with pytest.raises(InputError, match="Unknown strategy"):
        nc.next_cases(open_batch, "open", strategy="best")
    with pytest.raises(InputError, match="Ask for 1 to"):
        nc.next_cases(open_batch, "open", n=0)
    tiny_table(6).to_csv(tmp_path / "later.csv", index=False)
    uploads.ingest_file(open_batch, tmp_path / "later.csv", name="later")
    with pytest.raises(StateError, match="not scored by the active model v1: score it first"):
        nc.next_cases(open_batch, "later")
    with open_batch.session() as s:
        s.execute(text("UPDATE model_versions SET status = 'retired'"))
    with pytest.raises(StateError, match="no active model"):
        nc.next_cases(open_batch, "open")


def test_the_review_queue_sorts_by_the_same_list(open_batch):
    store = open_batch
    with store.session() as s:
        batch_id = q.get_batch(s, "open").id
    best = [c.id for c in nc.next_cases(store, batch_id, n=nc.NEXT_N)]
    assert len(best) == 32  # every open case of the batch
    f = QueueFilter(batch_id=batch_id, sort="active")
    page = triage.queue(store, f, limit=10)
    # The queue also holds the cases labeled at upload (they are never ranked): after the 32.
    assert page.total == 48 and [r["id"] for r in page.rows] == best[:10]
    assert triage.queue_case_at(store, f, 20) == best[20] and triage.queue_position(store, f, best[17]) == 17


def test_cli_prints_the_ids_in_order(open_batch, capsys):
    assert main(["next", "--batch", "open", "--n", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [c.external_id for c in nc.next_cases(open_batch, "open", n=5)]
    assert main(["next", "--batch", "open", "--n", "3", "--strategy", "uncertain", "--details"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(" the threshold\t" in line and line.count("\t") == 2 for line in lines)
    assert main(["next", "--batch", "nope"]) == 2
    assert "No batch 'nope'" in capsys.readouterr().err
