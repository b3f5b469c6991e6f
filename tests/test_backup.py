"""`rsad db backup` / `rsad db restore`: a backup taken while an analyst keeps recording verdicts
holds every verdict committed before it began, on SQLite and on PostgreSQL; a restore checks the
backup, refuses to overwrite a store with batches without --yes, and upgrades an older backup."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from test_project_upgrade import FIXTURE

from conftest import PG_URL, tiny_table
from rsad.auth.users import User, UserFile
from rsad.config import get_settings
from rsad.data import uploads
from rsad.data.db import Store, head_revision
from rsad.data.orm import Case, Verdict
from rsad.errors import AccessError, InputError, StateError
from rsad.review import verdicts
from rsad.service import backup

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

ADMIN = User("root", "admin")


@contextmanager
def other_pg_database() -> Iterator[str]:
    """A second fresh PostgreSQL database (the `pg_url` fixture gives the test its first)."""
    name = f"rsad_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'rsad.sqlite3'}"
    else:
        with other_pg_database() as url:
            yield url


class Writer(threading.Thread):
    """One analyst recording verdicts one transaction at a time; ``committed`` grows after each commit."""

    def __init__(self, store: Store, case_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.store, self.case_ids = store, case_ids
        self.committed: list[int] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        i = 0
        try:
            while not self.halt.is_set():
                verdicts.record_verdicts(self.store, [self.case_ids[i % len(self.case_ids)]], "anomaly",
                                         analyst="ana", note=f"seq-{i}")
                self.committed.append(i)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error = exc

    def wait_for(self, n: int) -> None:
        while len(self.committed) < n and self.error is None:
            self.halt.wait(0.01)


def _notes(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        notes = list(conn.execute(select(Verdict.note)).scalars())
    engine.dispose()
    return notes


@pytest.mark.usefixtures("backend")
def test_a_backup_taken_while_verdicts_are_written_holds_every_one_committed_before(store, backend, env,
                                                                                       tmp_path):
    uploads.ingest_file(store, tiny_table(30).to_csv(index=False).encode(), file_name="b.csv", name="b")
    UserFile(env / "users.json").add("ana", "analyst", "ana-password-1")
    (env / "models" / "v1").mkdir(parents=True)
    (env / "models" / "v1" / "weights.bin").write_bytes(b"w" * 1000)
    with store.session() as s:
        case_ids = list(s.scalars(select(Case.id).order_by(Case.id)))
    writer = Writer(store, case_ids)
    writer.start()
    try:
        writer.wait_for(20)
        before = set(writer.committed)  # committed before the backup began
        info = backup.backup(get_settings(), tmp_path / "bk", user=ADMIN)
        writer.wait_for(len(before) + 10)  # writing went on during the backup and after
    finally:
        writer.halt.set()
        writer.join(60)
    assert writer.error is None, writer.error
    assert info.kind == backend and info.revision == HEAD
    assert {"users.json", "models/v1/weights.bin"} <= set(info.files)

    with fresh_store_url(backend, tmp_path) as url:
        settings = replace(get_settings(), db_url=url, users_file=tmp_path / "restored" / "users.json",
                           models_dir=tmp_path / "restored" / "models")
        done = backup.restore(settings, tmp_path / "bk", user=ADMIN)
        notes = _notes(url)
        assert done.revision == HEAD and done.batches == 1 and done.users_file and done.model_files == 1
        restored = {int(n.removeprefix("seq-")) for n in notes}
        assert before <= restored, sorted(before - restored)  # none committed before the backup is lost
        assert len(notes) == len(restored)  # none twice
        # One consistent snapshot of a sequential writer: verdicts 0..k-1, no gaps, nothing invented.
        assert restored == set(range(len(restored))) and len(restored) <= len(writer.committed) + 1
        assert UserFile(settings.users_file).get("ana")["role"] == "analyst"
        assert (settings.models_dir / "v1" / "weights.bin").read_bytes() == b"w" * 1000
        restored_store = Store(settings)  # the restored store opens and takes new verdicts
        try:
            assert verdicts.record_verdicts(restored_store, [case_ids[0]], "normal", analyst="ana") == 1
        finally:
            restored_store.dispose()


def test_restore_refuses_a_damaged_backup_a_busy_store_and_a_non_admin(store, env, tmp_path):
    uploads.ingest_file(store, tiny_table(6).to_csv(index=False).encode(), file_name="b.csv", name="b")
    settings = get_settings()
    with pytest.raises(AccessError, match="needs the admin role"):
        backup.backup(settings, tmp_path / "bk", user=User("ana", "analyst"))
    backup.backup(settings, tmp_path / "bk", user=ADMIN)
    with pytest.raises(InputError, match="already exists"):
        backup.backup(settings, tmp_path / "bk", user=ADMIN)
    with pytest.raises(StateError, match="holds 1 batches.*--yes"):
        backup.restore(settings, tmp_path / "bk", user=ADMIN)
    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "bk", damaged)
    with open(damaged / "store.sqlite3", "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00garbage")
    with pytest.raises(InputError, match="missing or damaged"):
        backup.restore(settings, damaged, user=ADMIN, yes=True)
    shutil.copy(tmp_path / "bk" / "store.sqlite3", damaged / "store.sqlite3")
    manifest = json.loads((damaged / "manifest.json").read_text())
    (damaged / "manifest.json").write_text(json.dumps({**manifest, "kind": "postgresql"}))
    with pytest.raises(InputError, match="is a backup of a postgresql store"):
        backup.restore(settings, damaged, user=ADMIN, yes=True)
    assert backup.restore(settings, tmp_path / "bk", user=ADMIN, yes=True).batches == 1


def test_a_backup_of_an_older_release_restores_and_upgrades(env, tmp_path):
    old = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, old)  # a store of schema 0005 with its rows
    old_settings = replace(get_settings(), db_url=f"sqlite:///{old}")
    info = backup.backup(old_settings, tmp_path / "bk", user=ADMIN)
    assert info.revision == "0005"
    done = backup.restore(get_settings(), tmp_path / "bk", user=ADMIN)
    assert (done.backup.revision, done.revision) == ("0005", HEAD)
    store = Store(migrate=False)
    try:
        with store.session() as s:
            assert s.scalar(select(func.count(Verdict.id))) == 6 and s.scalar(select(func.count(Case.id))) == 11
    finally:
        store.dispose()


def test_cli_backs_up_and_restores(store, env, tmp_path, capsys):
    from rsad.cli.main import main

    uploads.ingest_file(store, tiny_table(6).to_csv(index=False).encode(), file_name="b.csv", name="b")
    assert main(["db", "backup", str(tmp_path / "bk")]) == 0
    assert "manifest.json" in capsys.readouterr().out
    assert main(["db", "restore", str(tmp_path / "bk")]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["db", "restore", str(tmp_path / "bk"), "--yes"]) == 0
    assert "1 batches" in capsys.readouterr().out
    assert main(["db", "restore", str(tmp_path / "nothing")]) == 2
