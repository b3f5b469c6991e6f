"""A store made by the release before projects (schema 0005) upgrades into the project 'default'
with every row intact, on SQLite and on PostgreSQL.

The fixture ``tests/fixtures/stores/store_0005.sqlite3`` was made by that release's own code
(``make_store_0005.py`` beside it, run at d8e31a2): batches with Chinese and English cases, two
versions (one active), scores, verdicts from two analysts, a threshold change, registry events,
a cached attribution, a training job, a claim, audit rows, a verdict submission, a web session.
On PostgreSQL the same rows are copied into a database migrated to 0005, then upgraded.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select, text

from rsad.data.db import Store, head_revision, make_engine, upgrade

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

FIXTURE = Path(__file__).parent / "fixtures" / "stores" / "store_0005.sqlite3"
# Parents before children, so that foreign keys hold while the rows are copied.
TABLES = ["batches", "model_versions", "cases", "scores", "verdicts", "attributions", "threshold_changes",
          "model_events", "training_jobs", "case_claims", "audit_events", "verdict_submissions", "web_sessions"]


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (dict, list)):
        return repr(value)
    return value


def _rows(engine: Any, table: str, columns: list[str]) -> list[tuple]:
    meta = MetaData()
    meta.reflect(engine, only=[table])
    t = meta.tables[table]
    with engine.connect() as conn:
        rows = conn.execute(select(*[t.c[c] for c in columns])).all()
    return sorted(tuple(_norm(v) for v in row) for row in rows)


def _old_rows() -> dict[str, tuple[list[str], list[tuple]]]:
    engine = create_engine(f"sqlite:///{FIXTURE}")
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    for name in TABLES:
        columns = [c.name for c in meta.tables[name].columns]
        out[name] = (columns, _rows(engine, name, columns))
    engine.dispose()
    return out


def _copy_into(engine: Any) -> None:
    """The fixture's rows into an empty database at schema 0005 (ids kept, sequences moved on)."""
    source = create_engine(f"sqlite:///{FIXTURE}")
    src, dst = MetaData(), MetaData()
    src.reflect(source)
    dst.reflect(engine)
    with source.connect() as read, engine.begin() as write:
        for name in TABLES:
            rows = [dict(r._mapping) for r in read.execute(select(src.tables[name]))]
            if rows:
                write.execute(dst.tables[name].insert(), rows)
            if "id" in dst.tables[name].c:
                write.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"(SELECT max(id) FROM {name}))"))
    source.dispose()


def test_the_fixture_is_a_store_of_the_previous_release():
    engine = create_engine(f"sqlite:///{FIXTURE}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
    engine.dispose()
    old = _old_rows()
    assert {name: len(rows) for name, (_, rows) in old.items()} == {
        "batches": 2, "model_versions": 2, "cases": 11, "scores": 12, "verdicts": 6, "attributions": 1,
        "threshold_changes": 1, "model_events": 3, "training_jobs": 1, "case_claims": 1, "audit_events": 2,
        "verdict_submissions": 1, "web_sessions": 1}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_moves_every_row_into_the_default_project(backend, env, monkeypatch, tmp_path):
    import os

    if backend == "sqlite":
        copy = tmp_path / "old.sqlite3"
        shutil.copy(FIXTURE, copy)
        monkeypatch.setenv("RSAD_DB_URL", f"sqlite:///{copy}")
    else:
        engine = make_engine(os.environ["RSAD_DB_URL"])
        assert upgrade(engine, "0005") == "0005"
        _copy_into(engine)
        engine.dispose()
    old = _old_rows()
    store = Store()  # migrates to head, as the app and the CLI do when they start
    try:
        for name, (columns, rows) in old.items():
            assert _rows(store.engine, name, columns) == rows, name
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT id, name FROM projects")).all() == [(1, "default")]
            for name in ("batches", "model_versions", "training_jobs"):
                assert conn.execute(text(f"SELECT DISTINCT project_id FROM {name}")).scalars().all() == [1]
        _works_as_before(store)
    finally:
        store.dispose()


def _works_as_before(store: Store) -> None:
    """The upgraded store answers as the old one did, through the service layer."""
    from rsad.service import batches, labels, models, review
    from rsad.service.projects import add_project, list_projects
    from rsad.service.users import User

    assert store.project_name == "default"
    assert models.active_version(store).name == "v2"
    assert [v.name for v in models.list_versions(store)] == ["v2", "v1"]
    info = batches.overview(store)
    assert info["totals"]["cases"] == 11 and info["totals"]["verdicts"] == 6
    assert {b["name"] for b in info["batches"]} == {"old-batch", "unlabeled"}
    assert len(labels.verdict_table(store)) == 6
    page = review.queue(store, review.QueueFilter(status="all"), offset=0, limit=50)
    assert page.total == 4  # v2 scored four cases
    # A new project starts empty; the old one keeps everything, and the names may repeat.
    other = add_project(store, "sms", user=User("root", "admin"))
    sms = store.in_project(other.name)
    assert batches.overview(sms)["totals"]["cases"] == 0 and models.active_version(sms) is None
    assert {p.name: p.cases for p in list_projects(store)} == {"default": 11, "sms": 0}
    with store.engine.begin() as conn:  # verdicts stay append-only after the table rebuilds
        with pytest.raises(Exception, match="append-only|append only"):
            conn.execute(text("UPDATE verdicts SET label = 'normal'"))


def fixture_at(tmp_path: Path, revision: str) -> str:
    """The 0005 fixture store copied into ``tmp_path`` and upgraded to ``revision`` by the
    migrations, with its rows: a store of the release that shipped that revision. Returns its URL."""
    copy = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, copy)
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    assert upgrade(engine, revision) == revision
    engine.dispose()
    return url


def _alembic(url: str) -> Any:
    """Alembic run on its own (`alembic -x ...`): no connection handed over by rsad."""
    from alembic.config import Config

    from rsad.data.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_alembic_on_its_own_downgrades_and_upgrades_sqlite_without_losing_rows(env, tmp_path, monkeypatch):
    from alembic import command

    copy = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("RSAD_DB_URL", url)
    old = _old_rows()
    Store().dispose()  # up to head through rsad
    command.downgrade(_alembic(url), "0005")  # rebuilds batches and model_versions: no cascade
    engine = create_engine(url)
    for name, (columns, rows) in old.items():
        assert _rows(engine, name, columns) == rows, name
    engine.dispose()
    command.upgrade(_alembic(url), "head")
    engine = create_engine(url)
    assert _rows(engine, "verdicts", old["verdicts"][0]) == old["verdicts"][1]
    engine.dispose()


def test_a_store_with_several_projects_does_not_downgrade(store):
    from alembic import command

    from rsad.service.projects import add_project
    from rsad.service.users import User

    add_project(store, "sms", user=User("root", "admin"))
    with pytest.raises(RuntimeError, match="several projects"):
        command.downgrade(_alembic(store.engine.url.render_as_string(hide_password=False)), "0005")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


def test_a_store_with_rows_pointing_at_nothing_is_refused_before_the_upgrade(env, tmp_path, monkeypatch):
    import sqlite3

    from rsad.errors import StateError

    copy = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, copy)
    con = sqlite3.connect(copy)  # foreign keys off, as a tool or an old bug might have left it
    con.execute("INSERT INTO scores (case_id, model_version_id, score, created_at) VALUES (999, 1, 0.5, '2026-01-01')")
    con.commit()
    con.close()
    monkeypatch.setenv("RSAD_DB_URL", f"sqlite:///{copy}")
    with pytest.raises(StateError, match="rows pointing at nothing .*scores.*Nothing was changed"):
        Store()
    engine = create_engine(f"sqlite:///{copy}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'projects'")).scalar() == 0
    engine.dispose()
