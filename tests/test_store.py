import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from conftest import tiny_table
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.db import head_revision, make_engine, upgrade
from rsad.data.ingest import load_batch
from rsad.data.orm import Base, Verdict
from rsad.errors import InputError, NotFoundError, StateError
from rsad.model import versions
from rsad.review import export, labels, verdicts
from rsad.review.trainset import assemble

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

# Every test here runs on SQLite and, when RSAD_TEST_PG_URL is set, on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")


def current_revision(engine) -> str | None:
    """The schema revision Alembic recorded in a store (None: not an Alembic-managed store)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return MigrationContext.configure(conn).get_current_revision()


def _batch(store, name="b1", n=6):
    return uploads.save_batch(store, load_batch(tiny_table(n).to_csv(index=False).encode(), file_name=f"{name}.csv"),
                          name=name, uploader="ana")


def _version(s, name, **kw):
    fields = dict(name=name, folder=f"/m/{name}", base_model="base", train_config={}, data_hash="h",
                  metrics={}, threshold=0.5)
    return versions.add_model_version(s, **{**fields, **kw})


def test_migrations_create_the_schema_with_sqlite_pragmas(store, backend):
    assert current_revision(store.engine) == HEAD
    assert store.engine.dialect.name == backend
    if backend != "sqlite":
        assert upgrade(store.engine) == HEAD
        return
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    assert upgrade(store.engine) == HEAD  # idempotent


def test_orm_matches_the_migrations(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_batch_is_written_whole_and_counted(store):
    info = _batch(store, n=6)
    assert info["rows"] == 6 and info["labeled"] == 6
    with store.session() as s:
        assert q.totals(s)["cases"] == 6
        assert q.get_batch(s, "b1").row_count == 6
        assert q.get_batch(s, info["id"]).name == "b1"
        with pytest.raises(NotFoundError, match="No batch 'nope'"):
            q.get_batch(s, "nope")


def test_duplicate_batch_name_writes_nothing(store):
    _batch(store)
    with pytest.raises(InputError, match="already exists"):
        _batch(store)
    with store.session() as s:
        assert q.totals(s) == {**q.totals(s), "batches": 1, "cases": 6}


def test_failed_insert_rolls_back_the_whole_batch(store):
    prepared = load_batch(tiny_table(4).to_csv(index=False).encode(), file_name="x.csv")
    prepared.labels[3] = 7  # violates the given_label check in the database itself
    with pytest.raises(IntegrityError):
        uploads.save_batch(store, prepared, name="bad")
    with store.session() as s:
        assert q.totals(s)["batches"] == 0 and q.totals(s)["cases"] == 0


def test_first_version_is_active_later_ones_candidates_and_promotion(store):
    with store.session() as s:
        assert versions.active_model(s) is None
        with pytest.raises(StateError, match="no active model"):
            versions.require_active(s)
        assert _version(s, "v1").status == "active"
        assert _version(s, "v2").status == "candidate"
    with store.session() as s:
        versions.promote(s, "v2")
    with store.session() as s:
        statuses = {v.name: v.status for v in versions.list_model_versions(s)}
        assert statuses == {"v1": "retired", "v2": "active"}
        with pytest.raises(NotFoundError, match="Known versions: v1, v2"):
            versions.get_model_version(s, "v9")


def test_scores_one_per_pair_and_resumable(store):
    info = _batch(store, n=6)
    with store.session() as s:
        v = _version(s, "v1")
        chunks = list(q.unscored_cases(s, info["id"], v.id, chunk=4))
        assert [len(c) for c in chunks] == [4, 2]
        q.put_scores(s, v.id, [c for c, _ in chunks[0]], [0.1, 0.9, 0.2, 0.8])
        assert q.count_unscored(s, info["id"], v.id) == 2
        q.put_scores(s, v.id, [chunks[0][0][0]], [0.7])  # rescoring replaces, never duplicates
        assert sorted(q.batch_scores(s, info["id"], v.id)) == [0.2, 0.7, 0.8, 0.9]
        batches = q.list_batches(s, v.id, 0.75)
        assert batches[0]["scored"] == 4 and batches[0]["flagged"] == 2


def test_verdicts_are_append_only_and_latest_wins(store):
    info = _batch(store, n=4)
    with store.session() as s:
        case_id = s.scalar(text("SELECT id FROM cases WHERE external_id = 'c000'"))
        first = verdicts.add_verdict(s, case_id, "anomaly", analyst="ana", reason_code="spam")
        verdicts.add_verdict(s, case_id, "normal", analyst="bo", reason_code="benign", note="false alarm")
        history = s.scalars(select(Verdict).where(Verdict.case_id == case_id).order_by(Verdict.id.desc())).all()
        assert [v.label for v in history] == ["normal", "anomaly"]
    with pytest.raises(ValueError, match="append-only"), store.session() as s:
        s.get(Verdict, first.id).note = "edited"
        s.flush()
    # The database refuses too, whoever the client is (a trigger on SQLite and on PostgreSQL).
    with store.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE verdicts SET label = 'normal'"))
    with store.session() as s:
        assert s.query(Verdict).count() == 2
    assert info["rows"] == 4


def test_verdict_input_is_checked(store):
    _batch(store, n=2)
    with store.session() as s:
        cid = s.scalar(text("SELECT min(id) FROM cases"))
        with pytest.raises(InputError, match="must be one of"):
            verdicts.add_verdict(s, cid, "spam", analyst="ana")
        with pytest.raises(InputError, match="Say who you are"):
            verdicts.add_verdict(s, cid, "normal", analyst="  ")
        with pytest.raises(NotFoundError):
            verdicts.add_verdict(s, 99999, "normal", analyst="ana")


def test_current_labels_seed_then_verdicts(store):
    _batch(store, n=4)  # c000 normal, c001 anomaly, c002 normal, c003 anomaly
    prepared = load_batch(b"case_id,behavior_description\nu1,unlabeled one\nu2,unlabeled two\n", file_name="u.csv")
    uploads.save_batch(store, prepared, name="u")
    with store.session() as s:
        ids = dict(s.execute(text("SELECT external_id, id FROM cases")).all())
        verdicts.add_verdict(s, ids["c000"], "anomaly", analyst="ana", reason_code="spam")  # overrides seed
        verdicts.add_verdict(s, ids["c001"], "unsure", analyst="ana")  # leaves the seed label
        verdicts.add_verdict(s, ids["u1"], "normal", analyst="ana", reason_code="benign")
        verdicts.add_verdict(s, ids["u2"], "anomaly", analyst="ana", reason_code="insufficient evidence")
        current = {r["case_id"]: (r["is_anomaly"], r["label_source"]) for r in labels.current_labels(s)}
    assert current == {"c000": (1, "verdict"), "c001": (1, "seed"), "c002": (0, "seed"),
                      "c003": (1, "seed"), "u1": (0, "verdict")}


def test_export_labels_round_trips_into_training(store, tmp_path):
    _batch(store, "b1", n=4)
    _batch(store, "b2", n=4)  # same external ids in another batch
    out = export.export_labels(store, tmp_path / "labels.csv")
    assert out["rows"] == 8 and out["anomalies"] == 4
    again = load_batch(tmp_path / "labels.csv", label_required=True)
    assert len(set(again.ids)) == 8 and again.n_labeled == 8
    assert "meta_platform" in again.columns
    with pytest.raises(InputError, match=".csv or .parquet"):
        export.export_labels(store, tmp_path / "labels.xlsx")
    table = assemble(store).table()
    assert len(table) == 8 and table["id"].is_unique


def test_unusable_database_url_is_a_clear_error(tmp_path):
    from rsad.errors import ConfigError

    with pytest.raises(ConfigError, match="RSAD_DB_URL"):
        make_engine("nosuchdb://x")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateError, match="Cannot open or migrate"):
        upgrade(make_engine(f"sqlite:///{blocker}/sub/rsad.sqlite3"))


def test_upgrade_from_the_previous_release_keeps_every_row(env, backend, monkeypatch):
    """A store made at 0004 (the release before verdict submissions, web sessions and stopped
    jobs), with a batch, a model, scores, a verdict and a failed job, upgrades to head whole."""
    import os

    from rsad.data.db import Store

    engine = make_engine(os.environ["RSAD_DB_URL"])
    assert upgrade(engine, "0004") == "0004"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO batches (id, name, file_name, sha256, uploader, row_count, created_at) "
                          "VALUES (1, 'old', 'old.csv', 'x', 'ana', 1, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO cases (id, batch_id, external_id, text, meta, given_label) "
                          "VALUES (1, 1, 'c1', 'some text', '{}', 1)"))
        conn.execute(text("INSERT INTO verdicts (case_id, label, reason_code, note, analyst, created_at) "
                          "VALUES (1, 'anomaly', 'spam', '', 'ana', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO training_jobs (status, params, done, total, message, log, error, "
                          "created_by, created_at) VALUES ('failed', '{}', 0, 0, '', '', 'stopped by root', "
                          "'root', CURRENT_TIMESTAMP)"))
    engine.dispose()
    store = Store()  # migrates to head, as the app and CLI do on start
    try:
        assert current_revision(store.engine) == HEAD
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar() == 1
            assert conn.execute(text("SELECT external_id FROM cases")).scalar() == "c1"
            assert conn.execute(text("SELECT status FROM training_jobs")).scalar() == "failed"
        with store.engine.begin() as conn:  # the new status is allowed now
            conn.execute(text("UPDATE training_jobs SET status = 'stopped'"))
    finally:
        store.dispose()
