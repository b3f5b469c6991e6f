"""A store of the previous release (schema 0006) upgrades to 0007 (label_issues) with every row
intact, and goes back down without losing any.

The previous release's store is the 0005 fixture (tests/fixtures/stores, made by that release's
own code) upgraded to 0006 by the 0006 migration, exactly what that release did on start."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from test_project_upgrade import TABLES, _alembic, _rows, fixture_at

from rsad.data.db import Store, head_revision

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

TABLES_0006 = [*TABLES, "projects", "batch_checks", "user_prefs"]


def _snapshot(url: str) -> dict[str, list[tuple]]:
    from sqlalchemy import MetaData

    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    later = {"ring_id"}  # 0009's verdicts.ring_id
    out = {name: _rows(engine, name, [c.name for c in meta.tables[name].columns if c.name not in later])
           for name in TABLES_0006}
    engine.dispose()
    return out


def test_a_0006_store_upgrades_to_label_issues_and_back(env, tmp_path, monkeypatch):
    from alembic import command

    url = fixture_at(tmp_path, "0006")  # the previous release's schema, with its rows
    before = _snapshot(url)
    assert len(before["verdicts"]) == 6 and len(before["cases"]) == 11
    monkeypatch.setenv("RSAD_DB_URL", url)
    store = Store()  # migrates to head, as the app and the CLI do when they start
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT count(*) FROM label_issues")).scalar() == 0
        from rsad.service import audit

        assert audit.summary(store).latest_run is None  # the new table answers
        audit.record_second_look(store, 1, "normal", analyst="ana")  # the reason is accepted here too
    finally:
        store.dispose()
    after = _snapshot(url)
    assert len(after["verdicts"]) == 7
    after["verdicts"] = [r for r in after["verdicts"] if "second look" not in r]
    # The second look's verdict closed its case (rsad.review.case_state): that move is in the trail.
    after["audit_events"] = [r for r in after["audit_events"] if not str(r[1]).startswith("case_")]
    assert after == before
    command.downgrade(_alembic(url), "0006")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'label_issues'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM verdicts")).scalar() == 7
    engine.dispose()
