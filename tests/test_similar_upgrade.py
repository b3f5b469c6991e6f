"""A store of the previous release (schema 0007) upgrades to 0008 (case_embeddings) with every row
intact, its scored cases reported as having no vector (embedded on demand), and goes back down.

The previous release's store is the 0005 fixture (tests/fixtures/stores, made by that release's
own code) upgraded to 0007 by the 0006 and 0007 migrations, exactly what that release did on start."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from test_audit_upgrade import _snapshot
from test_project_upgrade import _alembic, fixture_at

from rsad.data.db import Store, head_revision
from rsad.ops import similar as index

HEAD = head_revision()  # the newest migration: a store opened by this release is at it


def test_a_0007_store_upgrades_to_case_embeddings_and_back(env, tmp_path, monkeypatch):
    from alembic import command

    url = fixture_at(tmp_path, "0007")  # the previous release's schema, with its rows
    before = _snapshot(url)
    assert len(before["scores"]) > 0 and len(before["cases"]) == 11
    monkeypatch.setenv("RSAD_DB_URL", url)
    store = Store()  # migrates to head, as the app and the CLI do when they start
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT count(*) FROM case_embeddings")).scalar() == 0
            version_id, scored = conn.execute(text(
                "SELECT model_version_id, count(*) FROM scores GROUP BY model_version_id ORDER BY 2 DESC")).first()
        assert len(index.index_for(store, version_id)) == 0  # the new table answers
        assert index.missing_count(store, version_id) == scored  # said plainly: older cases have no vector
    finally:
        store.dispose()
    assert _snapshot(url) == before
    command.downgrade(_alembic(url), "0007")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'case_embeddings'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 11
    engine.dispose()
