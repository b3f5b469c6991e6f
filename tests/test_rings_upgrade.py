"""A store of the previous schema (0007, label issues) upgrades to 0009 (rings, ring_members,
verdicts.ring_id) with every row intact, records a ring verdict, and goes back down without
losing any row and with verdicts still append-only.

The 0007 store is the 0005 fixture (tests/fixtures/stores, made by that release's own code)
upgraded to 0007 by its migrations, exactly what that release did on start."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.exc import DBAPIError
from test_audit_upgrade import TABLES_0006
from test_project_upgrade import _alembic, _rows, fixture_at

from rsad.auth.users import User
from rsad.data.db import Store, head_revision, make_engine, upgrade
from rsad.review.ring_groups import FoundRing

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

TABLES_0007 = [*TABLES_0006, "label_issues"]


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every 0007 table's rows in its 0007 columns."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    out = {name: _rows(engine, name, [c.name for c in meta.tables[name].columns if c.name != "ring_id"])
           for name in TABLES_0007}
    engine.dispose()
    return out


def test_a_0007_store_upgrades_to_rings_and_back(env, tmp_path, monkeypatch):
    from alembic import command

    url = fixture_at(tmp_path, "0007")  # the previous release's schema, with its rows
    before = _snapshot(url)
    assert len(before["verdicts"]) == 6 and len(before["cases"]) == 11
    monkeypatch.setenv("RSAD_DB_URL", url)
    store = Store()  # migrates to head, as the app and the CLI do when they start
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT count(*) FROM rings")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM verdicts WHERE ring_id IS NULL")).scalar() == 6
            case_ids = [r[0] for r in conn.execute(text("SELECT id FROM cases ORDER BY id LIMIT 4"))]
            batch_id, version_id = conn.execute(text("SELECT c.batch_id, v.id FROM cases c, model_versions v "
                                                     f"WHERE c.id = {case_ids[0]} LIMIT 1")).one()
        from rsad.review import rings as kept
        from rsad.service import rings

        with store.session() as s:  # a ring of the cases of one batch, as compute_rings keeps it
            same = [c for c, in s.execute(text(f"SELECT id FROM cases WHERE batch_id = {batch_id} ORDER BY id"))][:3]
            ring_id = kept.save_rings(s, 1, batch_id, version_id,
                                      [FoundRing(tuple(same), "device_id=d1", 0.9, None, None)])[0]
        out = rings.record_ring_verdict(store, ring_id, "unsure", user=User("ana", "analyst"))
        assert out["recorded"] + out["skipped"] == 3
    finally:
        store.dispose()
    after = _snapshot(url)
    assert len(after["verdicts"]) == 6 + out["recorded"]
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM verdicts WHERE ring_id = :r"), {"r": ring_id}).scalar() \
            == out["recorded"]
    engine.dispose()
    after["verdicts"] = [r for r in after["verdicts"] if r[0] <= 6]  # the ring's verdicts are the new ones
    assert after == before
    command.downgrade(_alembic(url), "0007")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name IN ('rings', 'ring_members')")) \
            .scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar() == 6 + out["recorded"]
        with pytest.raises(DBAPIError, match="append-only"):  # the trigger survived the table's copy
            conn.execute(text("UPDATE verdicts SET note = 'edited'"))
    engine.dispose()


def test_postgresql_goes_down_to_0007_and_back_up(pg_url):
    """On PostgreSQL the column and its foreign key go with the tables, and the trigger stays."""
    from alembic import command

    engine = make_engine(pg_url)
    assert upgrade(engine) == HEAD
    engine.dispose()
    command.downgrade(_alembic(pg_url), "0007")
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM information_schema.columns WHERE table_name = 'verdicts' "
                                 "AND column_name = 'ring_id'")).scalar() == 0
        assert conn.execute(text("SELECT to_regclass('rings')")).scalar() is None
        assert conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'verdicts_append_only'")).scalar() == 1
    engine.dispose()
    command.upgrade(_alembic(pg_url), "head")
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    engine.dispose()
