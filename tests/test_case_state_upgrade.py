"""A store of the previous schema (0007) upgrades to 0010 (case_states) with every row intact, its
cases all open, and goes back down without losing any.

The previous schema's store is the 0005 fixture (tests/fixtures/stores, made by that release's own
code) upgraded to 0007 by the migrations, as a desk of that release did on start."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from test_audit_upgrade import _snapshot
from test_project_upgrade import _alembic, fixture_at

from rsad.auth.users import User
from rsad.data.db import Store, head_revision

HEAD = head_revision()  # the newest migration: a store opened by this release is at it


def test_a_0007_store_upgrades_to_case_states_and_back(env, users, tmp_path, monkeypatch):
    from alembic import command

    url = fixture_at(tmp_path, "0007")  # the previous release's schema, with its rows
    before = _snapshot(url)
    assert len(before["cases"]) == 11 and len(before["verdicts"]) == 6
    monkeypatch.setenv("RSAD_DB_URL", url)
    store = Store()  # migrates to head, as the app and the CLI do when they start
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT count(*) FROM case_states")).scalar() == 0
            unlabeled = conn.execute(text("SELECT count(*) FROM cases WHERE given_label IS NULL")).scalar()
        from rsad.service import cases

        # no backfill: every case of the old store reads as open (those labeled on upload are no work waiting)
        ages = cases.age_summary(store)
        assert 0 < unlabeled < 11 and ages["counts"]["open"] == unlabeled and ages["total"] == unlabeled
        first = int(before["cases"][0][0])
        cases.change(store, first, "escalate", user=User("root", "admin"), note="from the old store")
        assert cases.status(store, first).state == "escalated"
    finally:
        store.dispose()
    after = _snapshot(url)
    added = sorted(set(after["audit_events"]) - set(before["audit_events"]))
    assert len(added) == 1 and "case_escalate" in added[0]
    after["audit_events"] = before["audit_events"]
    assert after == before
    command.downgrade(_alembic(url), "0007")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'case_states'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 11
        assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar() == 6
    engine.dispose()

