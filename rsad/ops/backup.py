"""``rsad db backup PATH``: everything a desk needs, copied into one folder while it keeps working.

The folder holds the store (SQLite through its online backup API, a consistent snapshot taken
while analysts keep writing; PostgreSQL through ``pg_dump -Fc``, which reads one snapshot too),
the user file (it lives beside the store, not in it), the model version folders (scores and
explanations need them) and ``manifest.json``: what kind of store, its schema revision, and each
file's size and SHA-256, so that :mod:`rsad.ops.restore` can refuse a damaged or partial backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from glob import glob
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from rsad.config import Settings
from rsad.data.db import make_engine
from rsad.data.orm import utcnow
from rsad.errors import ConfigError, InputError, StateError
from rsad.i18n import _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "store.sqlite3"
PG_FILE = "store.pgdump"
USERS_FILE = "users.json"
MODELS = "models"


@dataclass(frozen=True)
class Backup:
    """What a backup holds (its manifest, read back)."""

    path: Path
    kind: str  # sqlite | postgresql
    revision: str  # the store's schema revision when it was taken
    created_at: datetime
    files: dict[str, dict[str, Any]]  # relative path -> {"bytes", "sha256"}
    models_dir: str  # where the version folders were (restore rewrites those paths)


def kind_of(db_url: str) -> str:
    name = make_url(db_url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(_("Backups need SQLite or PostgreSQL, not {dialect}: change RSAD_DB_URL.").format(
            dialect=name))
    return name


def pg_tool(name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``: on PATH, else the newest Debian cluster's."""
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise ConfigError(_("{tool} is not installed: PostgreSQL stores are backed up and restored with the "
                            "PostgreSQL client tools (Debian/Ubuntu: `apt-get install postgresql-client`).").format(
                              tool=name))
    return found


def pg_env(url: URL) -> dict[str, str]:
    """libpq's variables for the store's URL: the password never shows on a command line."""
    values = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
              "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode")}
    return {**os.environ, **{k: str(v) for k, v in values.items() if v}}


def run_tool(cmd: list[str], url: URL, what: str) -> None:
    """Run a PostgreSQL client tool; its own message becomes the error when it fails."""
    done = subprocess.run(cmd, env=pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StateError(_("{what} failed ({tool} exit {rc}): {stderr}").format(
            what=what, tool=Path(cmd[0]).name, rc=done.returncode, stderr=done.stderr.strip()[-1500:]))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sqlite_path(db_url: str) -> Path:
    database = make_url(db_url).database
    if not database or database == ":memory:":
        raise ConfigError(_("RSAD_DB_URL {url!r} names no SQLite file to back up or restore.").format(url=db_url))
    return Path(database)


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another through the online backup API (one consistent snapshot)."""
    src = sqlite3.connect(source, timeout=60)
    dst = sqlite3.connect(target, timeout=60)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _revision(db_url: str) -> str:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or "base"
    finally:
        engine.dispose()


def _dump_store(settings: Settings, kind: str, folder: Path) -> str:
    """Write the store into ``folder``; returns the file name."""
    if kind == "sqlite":
        source = sqlite_path(settings.db_url)
        if not source.is_file():
            raise StateError(_("There is no store at {path} to back up.").format(path=source))
        sqlite_copy(source, folder / SQLITE_FILE)
        return SQLITE_FILE
    url = make_url(settings.db_url)
    run_tool([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / PG_FILE}"],
             url, _("Backing up the PostgreSQL store"))
    return PG_FILE


def _copy_models(models_dir: Path, target: Path) -> None:
    # Dotted names are temporary folders of saves in progress, job logs and lock files.
    shutil.copytree(models_dir, target, ignore=shutil.ignore_patterns(".*"), symlinks=True)


def backup(settings: Settings, path: Path, *, models: bool = True) -> Backup:
    """Back the store, the user file and (with ``models``) the model versions up into a new folder ``path``."""
    kind = kind_of(settings.db_url)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InputError(_("{path} already exists: back up into a new or empty folder.").format(path=path))
    path.mkdir(parents=True, exist_ok=True)
    revision = _revision(settings.db_url) if kind == "postgresql" else ""
    names = [_dump_store(settings, kind, path)]
    if kind == "sqlite":  # the copy's own revision: the one its snapshot holds
        revision = _revision(f"sqlite:///{path / SQLITE_FILE}")
    if settings.users_file.is_file():
        shutil.copy2(settings.users_file, path / USERS_FILE)
        names.append(USERS_FILE)
    if models and settings.models_dir.is_dir():
        _copy_models(settings.models_dir, path / MODELS)
        names += [str(p.relative_to(path)) for p in sorted((path / MODELS).rglob("*")) if p.is_file()]
    files = {name: {"bytes": (path / name).stat().st_size, "sha256": sha256(path / name)} for name in names}
    manifest = {"format": FORMAT, "kind": kind, "revision": revision, "created_at": utcnow().isoformat(),
                "models_dir": str(settings.models_dir), "files": files}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return read(path, verify=False)


def read(path: Path, *, verify: bool = True) -> Backup:
    """A backup folder's manifest; with ``verify`` every file's size and checksum is checked first."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        info = Backup(path, manifest["kind"], manifest["revision"], datetime.fromisoformat(manifest["created_at"]),
                      files, manifest.get("models_dir", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(_("{path} is not an rsad backup (no readable {manifest}: {exc}).").format(
            path=path, manifest=MANIFEST, exc=exc)) from None
    if manifest.get("format") != FORMAT:
        raise InputError(_("{path} is a backup of format {format}, which this rsad cannot read.").format(
            path=path, format=manifest.get("format")))
    for name, meta in files.items() if verify else ():
        file = path / name
        if not file.is_file() or file.stat().st_size != meta["bytes"] or sha256(file) != meta["sha256"]:
            raise InputError(_("Backup file {file} is missing or damaged (its size or checksum differs from "
                               "the manifest): nothing was restored.").format(file=file))
    return info
