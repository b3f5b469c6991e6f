"""`rsad projects ...`: the desk's projects (detection tasks), each with its own batches, labels,
models and thresholds."""

from __future__ import annotations

import argparse

from rsad.cli.common import acting_user, add_project_flag, open_store
from rsad.errors import InputError
from rsad.i18n import _


def cmd_list(args: argparse.Namespace) -> None:
    """List the projects: batches, cases, versions, the active version and the base model."""
    from rsad.service.projects import list_projects

    rows = list_projects(open_store())
    # The column keys stay in English in every language: scripts read this table.
    print(f"{'project':20} {'batches':>7} {'cases':>9} {'versions':>8}  {'active':10} {'base model'}")
    default = _("(default)")  # outside the f-string: the catalog's extractor does not look inside one
    for p in rows:
        print(f"{p.name:20} {p.batches:>7,} {p.cases:>9,} {p.versions:>8,}  {p.active_version or '-':10} "
              f"{p.base_model or default}")


def cmd_add(args: argparse.Namespace) -> None:
    """Create a project (admins): its own batches, labels, models and thresholds."""
    from rsad.service.projects import add_project

    codes = tuple(c for c in (args.reason_codes or "").split(",") if c.strip())
    p = add_project(open_store(), args.name, user=acting_user(args), base_model=args.base_model or "",
                    description=args.description or "", reason_codes=codes, start_per_class=args.start_per_class)
    print(_("Project {name!r} created (base model: {base}). Work in it with --project {name} or "
            "RSAD_PROJECT={name}.").format(name=p.name, base=p.base_model or _("the default")))


def cmd_set(args: argparse.Namespace) -> None:
    """Change a project's settings (admins): the share of cases a second analyst judges blind, and
    how rings are found (entity columns, time column, window, near-duplicate cosine)."""
    ring_flags = (args.entities, args.time_column, args.ring_window_hours, args.near_duplicate_cosine)
    if args.second_opinion_share is None and all(v is None for v in ring_flags):
        raise InputError(_("Name a setting to change: --second-opinion-share, --entities, --time-column, "
                           "--ring-window-hours or --near-duplicate-cosine."))
    if args.second_opinion_share is not None:
        _set_share(args)
    if any(v is not None for v in ring_flags):
        _set_rings(args)


def _set_rings(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from rsad.service.rings import ring_settings, set_ring_settings

    store = open_store()
    now = ring_settings(store.in_project(args.name))
    changes = {k: v for k, v in (
        ("entity_columns", None if args.entities is None else tuple(args.entities.split(","))),
        ("time_column", args.time_column), ("window_hours", args.ring_window_hours),
        ("near_duplicate_cosine", args.near_duplicate_cosine)) if v is not None}
    saved = set_ring_settings(store, args.name, replace(now, **changes), user=acting_user(args))
    print(_("Project {name!r}: rings link flagged cases sharing {entities} within {hours:g} hours (time column: "
            "{time}), or with texts of cosine {cosine:g} or more.").format(
                name=args.name, entities=", ".join(saved.entity_columns) or _("(no entity column)"),
                hours=saved.window_hours, time=saved.time_column or _("found in the data"),
                cosine=saved.near_duplicate_cosine))


def _set_share(args: argparse.Namespace) -> None:
    from rsad.service.projects import SUGGESTED_SECOND_OPINION, set_second_opinion_share

    share = set_second_opinion_share(open_store(), args.name, args.second_opinion_share, user=acting_user(args))
    if share > 0:
        print(_("Project {name!r}: {pct:g}% of its cases go to a second analyst, who judges them without seeing "
                "the first verdict.").format(name=args.name, pct=share * 100))
    else:
        print(_("Project {name!r}: blind second opinions are off ({usual} is the usual share).").format(
            name=args.name, usual=SUGGESTED_SECOND_OPINION))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("projects", help="list and create projects (each with its own labels and models)",
                       description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("list", help=cmd_list.__doc__, description=cmd_list.__doc__)
    ls.set_defaults(func=cmd_list)
    add_project_flag(ls)
    add = verbs.add_parser("add", help=cmd_add.__doc__.splitlines()[0], description=cmd_add.__doc__)
    add.add_argument("name", help="letters, digits, '.', '_' or '-'")
    add.add_argument("--base-model", metavar="PATH",
                     help="a Hugging Face model folder its models fine-tune (default: RSAD_BASE_MODEL, "
                          "else the embedded MiniLM)")
    add.add_argument("--description", help="one line on what the project detects")
    add.add_argument("--reason-codes", metavar="A,B,C", help="its reason codes (default: RSAD_REASON_CODES)")
    add.add_argument("--start-per-class", type=int, default=20,
                     help="label this many of each class before training its first model (default %(default)s)")
    add.set_defaults(func=cmd_add)
    put = verbs.add_parser("set", help=cmd_set.__doc__.splitlines()[0], description=cmd_set.__doc__)
    put.add_argument("name", help="the project")
    put.add_argument("--second-opinion-share", type=float, metavar="SHARE",
                     help="0 (off) .. 0.5: that share of cases goes to a second analyst, blind; 0.05 is usual")
    put.add_argument("--entities", metavar="A,B,C",
                     help="metadata columns that name an entity (user, device, IP, shop...) for rings; '' for none")
    put.add_argument("--time-column", metavar="COLUMN", help="the metadata column with each case's time ('': find one)")
    put.add_argument("--ring-window-hours", type=float, metavar="HOURS",
                     help="cases sharing an entity within this many hours are linked (default 24)")
    put.add_argument("--near-duplicate-cosine", type=float, metavar="COSINE",
                     help="texts at least this similar are linked (0.5 .. 1; default 0.95)")
    put.set_defaults(func=cmd_set)
