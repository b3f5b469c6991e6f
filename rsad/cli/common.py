"""What the CLI's commands share: the store, the progress line, who a command acts as, column flags.

Who a command acts as (see :func:`acting_user`): the operator at the server's shell is an admin,
``cli:<login>``; ``--as NAME`` or ``RSAD_USER=NAME`` acts as that user of the user file, with
that user's role. Either way every action goes through the role policy, as on the pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rsad.config import get_settings
from rsad.i18n import _
from rsad.progress import Rate, format_seconds, sigterm_stops  # noqa: F401 - re-exported for the commands

if TYPE_CHECKING:  # the service layer loads its libraries only when a command runs
    from rsad.service.batches import ColumnMap, Store
    from rsad.service.users import User

# Registers one subcommand: its name and function (whose docstring is the help); returns its parser.
Adder = Callable[[str, Callable[[argparse.Namespace], None]], argparse.ArgumentParser]


_project: str | None = None  # --project of this command line (main sets it); None: RSAD_PROJECT / default


def use_project(name: str | None) -> None:
    global _project
    _project = name


def open_store() -> Store:
    """The store, working in this command's project (--project, else RSAD_PROJECT, else 'default')."""
    from rsad.service.batches import open_store as open_

    return open_(project=_project)


def acting_user(args: argparse.Namespace) -> User:
    """Who this command acts as (``--as``, else RSAD_USER, else the shell's admin)."""
    from rsad.service.users import cli_user

    return cli_user(get_settings(), getattr(args, "as_user", None))


def authorized(args: argparse.Namespace, action: str) -> User:
    """The acting user, if the role policy lets them do ``action`` (an Action name); else AccessError."""
    from rsad.service import policies

    return policies.authorize(acting_user(args), policies.Action[action])


def columns(args: argparse.Namespace) -> ColumnMap:
    from rsad.service.batches import ColumnMap

    anomaly = tuple(v.strip() for v in (args.anomaly_values or "").split(",") if v.strip())
    return ColumnMap(text=args.text_col, label=args.label_col or None, id=args.id_col, anomaly_values=anomaly)


PROJECT_HELP = "the project to work in (default: $RSAD_PROJECT, else 'default'); see `rsad projects list`"


def add_project_flag(p: argparse.ArgumentParser) -> None:
    """--project after a verb too (`rsad ingest FILE --project sms`); SUPPRESS keeps one given before it."""
    p.add_argument("--project", metavar="NAME", default=argparse.SUPPRESS, help=PROJECT_HELP)


def project_flag(store: Store) -> str:
    """' --project P' for a 'Next:' hint, when the command works outside the default project."""
    return "" if store.project_name == "default" else f" --project {store.project_name}"


def split(args: argparse.Namespace) -> tuple[str, str] | None:
    return (args.split_col, args.split) if args.split else None


def add_columns(p: argparse.ArgumentParser, split: bool = False) -> None:
    p.add_argument("--text-col", default="behavior_description", help="text column (default %(default)s)")
    p.add_argument("--label-col", default="is_anomaly",
                   help="label column (default %(default)s, else label/class/target/...; '' for none)")
    p.add_argument("--anomaly-values", metavar="VALUE[,VALUE]",
                   help="label values that mean anomaly (e.g. spam); every other value of the column means normal")
    p.add_argument("--id-col", default="case_id", help="id column (default %(default)s)")
    if split:
        p.add_argument("--split", help="use only rows whose split column has this value (e.g. train)")
        p.add_argument("--split-col", default="split", help="split column (default %(default)s)")


class Bar:
    """A one-line progress display on stderr with rate and ETA."""

    def __init__(self, unit: str | None = "rows") -> None:
        # unit None: the counts are a made-up scale (several phases), show percent and ETA only.
        self.rate, self.unit, self.last = Rate(), unit, 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        pct = 100 * done / total if total else 100
        if self.unit:
            detail = self.rate.describe(done, total, self.unit)
        else:
            eta = self.rate.eta_seconds(done, total)
            detail = (_("about {eta} left").format(eta=format_seconds(eta))
                      if eta is not None and 0 < done < total else "")
        clear = "\033[K" if sys.stderr.isatty() else ""
        sys.stderr.write(f"\r{clear}{message}: {pct:5.1f}% {detail}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
