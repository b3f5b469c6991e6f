"""``rsad db restore PATH``: put a backup (:mod:`rsad.ops.backup`) back as the configured store.

A restore replaces what is there, so it checks the backup's checksums before touching anything,
refuses while a training job runs (its process would write into the restored store), and asks
for ``yes`` when the store holds any batch. SQLite is written through the backup API (the live
file is replaced page by page under its write lock); PostgreSQL is emptied and refilled with
``pg_restore`` in one transaction. The user file and the model versions come back beside it,
version folders are pointed at this desk's models folder, and the schema is upgraded: a backup
from an older release restores and then runs the migrations it lacks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, MetaData, func, inspect, select, text, update
from sqlalchemy.engine import make_url

from rsad.config import Settings
from rsad.data.db import Store, make_engine, upgrade
from rsad.data.orm import Batch, ModelVersion, TrainingJob
from rsad.errors import InputError, StateError
from rsad.i18n import _
from rsad.ops import backup as bk
from rsad.training.jobs import LIVE, reap


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    backup: bk.Backup
    revision: str  # the store's schema revision after the upgrade
    batches: int
    users_file: bool  # the user file was replaced by the backup's
    model_files: int


def _guard(settings: Settings, *, yes: bool) -> None:
    """Refuse over a running job; over a store with batches, only with ``yes``."""
    if bk.kind_of(settings.db_url) == "sqlite" and not bk.sqlite_path(settings.db_url).exists():
        return  # no store there yet
    engine = make_engine(settings.db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if not {"training_jobs", "batches"} <= tables:
        return  # an empty or new database: nothing to lose
    store = Store(settings, migrate=False)
    try:
        reap(store)  # a job whose process died is not "running"
        with store.session() as s:
            live = s.scalar(select(func.count()).select_from(TrainingJob).where(TrainingJob.status.in_(LIVE)))
            batches = s.scalar(select(func.count()).select_from(Batch))
    finally:
        store.dispose()
    if live:
        raise StateError(_("A training job is running on this store: wait for it to end or stop it "
                           "(`rsad jobs`), then restore."))
    if batches and not yes:
        raise StateError(_("The store at {where} holds {n:,} batches, which the restore replaces: stop the "
                           "servers, then run it again with --yes.").format(where=store.location, n=batches))


def _restore_sqlite(settings: Settings, info: bk.Backup) -> None:
    target = bk.sqlite_path(settings.db_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    bk.sqlite_copy(info.path / bk.SQLITE_FILE, target)


def _empty_pg(engine: Engine) -> None:
    """Drop every table (and the sequences they own), so the dump's schema comes back as it was."""
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


def _restore_pg(settings: Settings, info: bk.Backup) -> None:
    engine = make_engine(settings.db_url)
    try:
        _empty_pg(engine)
    finally:
        engine.dispose()
    url = make_url(settings.db_url)
    bk.run_tool([bk.pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", "--exit-on-error", f"--dbname={url.database}", str(info.path / bk.PG_FILE)],
                url, _("Restoring the PostgreSQL store"))


def _restore_users(settings: Settings, info: bk.Backup) -> bool:
    source = info.path / bk.USERS_FILE
    if not source.is_file():
        return False
    settings.users_file.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it and renamed: a sign-in reading the file meanwhile sees the old or the new one.
    fd, tmp = tempfile.mkstemp(dir=settings.users_file.parent, prefix=".users-restore-")
    os.close(fd)
    shutil.copy2(source, tmp)
    os.replace(tmp, settings.users_file)
    return True


def _restore_models(settings: Settings, info: bk.Backup, engine: Engine) -> int:
    """Copy the version folders back and point the store's rows at them; returns the files copied."""
    source = info.path / bk.MODELS
    if not source.is_dir():
        return 0
    shutil.copytree(source, settings.models_dir, dirs_exist_ok=True, symlinks=True)
    old, new = info.models_dir.rstrip("/"), str(settings.models_dir).rstrip("/")
    if old and old != new:
        with engine.begin() as conn:
            for vid, folder in conn.execute(select(ModelVersion.id, ModelVersion.folder)).all():
                if folder == old or folder.startswith(old + "/"):
                    conn.execute(update(ModelVersion).where(ModelVersion.id == vid)
                                 .values(folder=new + folder[len(old):]))
    return sum(1 for name in info.files if name.startswith(bk.MODELS + "/"))


def restore(settings: Settings, path: Path, *, yes: bool = False) -> Restored:
    """Replace the configured store (and user file, model versions) with the backup in ``path``."""
    info = bk.read(path)
    kind = bk.kind_of(settings.db_url)
    if info.kind != kind:
        raise InputError(_("{path} is a backup of a {backup_kind} store and RSAD_DB_URL names a {kind} one: "
                           "restore it into a {backup_kind} store.").format(path=path, backup_kind=info.kind,
                                                                             kind=kind))
    _guard(settings, yes=yes)
    (_restore_sqlite if kind == "sqlite" else _restore_pg)(settings, info)
    users = _restore_users(settings, info)
    engine = make_engine(settings.db_url)
    try:
        revision = upgrade(engine)
        model_files = _restore_models(settings, info, engine)
        with engine.connect() as conn:
            batches = conn.execute(text("SELECT count(*) FROM batches")).scalar_one()
    finally:
        engine.dispose()
    return Restored(info, revision, batches, users, model_files)
