"""``rsad db ...``: the store itself: its schema (``upgrade``), ``backup`` and ``restore``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rsad.cli.common import acting_user
from rsad.errors import RsadError
from rsad.i18n import _


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    """Create or upgrade the store's schema to the newest migration."""
    from rsad.config import get_settings
    from rsad.service.batches import upgrade_schema

    settings = get_settings()
    print(_("Store at revision {revision} ({url}).").format(revision=upgrade_schema(settings), url=settings.db_url))


def cmd_db_backup(args: argparse.Namespace) -> None:
    """Back up the store, the user file and the model versions into a new folder (while the desk runs)."""
    from rsad.config import get_settings
    from rsad.service import backup

    info = backup.backup(get_settings(), Path(args.path), user=acting_user(args), models=not args.no_models)
    size = sum(f["bytes"] for f in info.files.values())
    print(_("Backed up the {kind} store (schema {revision}) into {path}: {n:,} files, {mb:,.1f} MB; "
            "checksums in manifest.json.").format(kind=info.kind, revision=info.revision, path=info.path,
                                                   n=len(info.files), mb=size / 1e6))


def cmd_db_restore(args: argparse.Namespace) -> None:
    """Replace the store, the user file and the model versions with a backup, then upgrade the schema."""
    from rsad.config import get_settings
    from rsad.service import backup

    path = Path(args.path)
    if not path.is_dir():
        raise RsadError(_("No backup folder at {path}.").format(path=path))
    done = backup.restore(get_settings(), path, user=acting_user(args), yes=args.yes)
    print(_("Restored the backup of {created} UTC: {batches:,} batches, schema {old} -> {revision}, "
            "{files:,} model files; user file {users}.").format(
              created=f"{done.backup.created_at:%Y-%m-%d %H:%M}", batches=done.batches, old=done.backup.revision,
              revision=done.revision, files=done.model_files,
              users=_("restored") if done.users_file else _("kept (none in the backup)")))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``rsad db upgrade | backup | restore``."""
    db = sub.add_parser("db", help="the store: schema upgrade, backup and restore")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help=cmd_db_upgrade.__doc__)
    up.set_defaults(func=cmd_db_upgrade)
    p = db_sub.add_parser("backup", help=cmd_db_backup.__doc__, description=cmd_db_backup.__doc__)
    p.add_argument("path", help="a new (or empty) folder to write the backup into")
    p.add_argument("--no-models", action="store_true", help="leave the model version folders out")
    p.set_defaults(func=cmd_db_backup)
    p = db_sub.add_parser("restore", help=cmd_db_restore.__doc__, description=cmd_db_restore.__doc__)
    p.add_argument("path", help="a folder written by `rsad db backup`")
    p.add_argument("--yes", action="store_true", help="confirm: the store's batches and verdicts are replaced")
    p.set_defaults(func=cmd_db_restore)
