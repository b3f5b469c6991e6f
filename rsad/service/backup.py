"""Backups of a whole desk for the CLI: ``backup`` (store, user file, model versions) and
``restore`` (the same, back, then the schema upgraded). Both are for admins."""

from __future__ import annotations

from pathlib import Path

from rsad.auth import policies
from rsad.auth.users import User
from rsad.config import Settings
from rsad.ops.backup import Backup, read
from rsad.ops.backup import backup as _backup
from rsad.ops.restore import Restored
from rsad.ops.restore import restore as _restore

__all__ = ["Backup", "Restored", "backup", "read", "restore"]


def backup(settings: Settings, path: Path, *, user: User, models: bool = True) -> Backup:
    """Back the desk up into a new folder ``path`` (see :mod:`rsad.ops.backup`)."""
    policies.authorize(user, policies.Action.BACKUP_STORE)
    return _backup(settings, path, models=models)


def restore(settings: Settings, path: Path, *, user: User, yes: bool = False) -> Restored:
    """Replace the desk with the backup in ``path`` (see :mod:`rsad.ops.restore`)."""
    policies.authorize(user, policies.Action.RESTORE_STORE)
    return _restore(settings, path, yes=yes)
