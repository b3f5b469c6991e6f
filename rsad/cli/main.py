"""rsad: score, review and retrain anomaly detection for behavior records.

Each command's help is its function's docstring. Heavy libraries (torch, transformers) are
imported inside the commands that need them, so `rsad --help` and `rsad models` stay quick.
Who a command acts as, and how roles apply, is in :mod:`rsad.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rsad.cli import (
    audit,
    cases,
    data,
    db,
    first,
    label_next,
    models,
    projects,
    rings,
    serve,
    similar,
    thresholds,
    users,
)
from rsad.cli.common import PROJECT_HELP, add_project_flag, use_project
from rsad.errors import RsadError
from rsad.i18n import _

# Help stays in English (the catalog covers what commands print, not argparse's own text).
EPILOG = ("Messages are printed in the language RSAD_LANG names: en (English, the default) or zh (Chinese), "
          "e.g. RSAD_LANG=zh rsad batches.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsad", description=__doc__.splitlines()[0], epilog=EPILOG)
    parser.add_argument("--as", dest="as_user", metavar="NAME",
                        help="act as this user of the user file, with its role (default: $RSAD_USER, "
                             "else the shell's admin cli:<login>); recorded as who did it")
    parser.add_argument("--project", metavar="NAME", help=PROJECT_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], None]) -> argparse.ArgumentParser:
        doc = fn.__doc__ or ""
        p = sub.add_parser(name, help=doc.splitlines()[0], description=doc)
        p.set_defaults(func=fn)
        add_project_flag(p)
        return p

    data.add_commands(add)
    models.add_train(add)
    data.add_label_commands(add)
    audit.add_commands(add)
    thresholds.add_commands(add)
    models.add_commands(add)
    first.add_commands(add)
    label_next.add_commands(add)
    similar.add_commands(add)
    rings.add_commands(add)
    data.add_admin_commands(add)
    serve.add_commands(add)
    projects.add_parsers(sub)
    cases.add_parsers(sub)
    users.add_parsers(sub)
    db.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_project(getattr(args, "project", None))
    try:
        args.func(args)
    except RsadError as exc:
        print(_("rsad: error: {error}").format(error=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("rsad: interrupted; finished chunks were kept."), file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
