"""The CLI's `rsad similar`: a case's nearest cases, or cases like a given text, under the active model."""

from __future__ import annotations

import argparse
import sys

from rsad.cli.common import Adder, Bar, acting_user, open_store
from rsad.i18n import _


def cmd_similar(args: argparse.Namespace) -> None:
    """Print the cases nearest to a case (--case, its id as Review's URL shows it) or to a text
    (--text), one a line, nearest first: cosine, case, batch, score, verdict, reason and the text's
    start, tab-separated. Compared by the vector the active model's head read when it scored each
    case; --embed-missing first embeds the cases scored before vectors were kept (admins)."""
    from rsad.service import similar

    store, user = open_store(), acting_user(args)
    if args.embed_missing:
        n = similar.backfill(store, user, progress=Bar("cases"))
        print(_("{n:,} cases embedded.").format(n=n), file=sys.stderr)
    if args.case is not None:
        found = similar.similar_cases(store, user, args.case, k=args.k)
    else:
        found = similar.search_by_example(store, user, args.text, k=args.k)
    if not found.has_vector:
        print(_("Case {case} was scored by {model} before similar cases were kept, so it has no vector yet: "
                "run `rsad similar --embed-missing` (admins).").format(case=args.case, model=found.model),
              file=sys.stderr)
    elif found.missing:
        print(_("{n:,} scored cases have no vector yet and are left out: `rsad similar --embed-missing` "
                "embeds them.").format(n=found.missing), file=sys.stderr)
    for n in found.neighbours:
        print("\t".join([f"{n.cosine:.3f}", n.external_id, n.batch, "" if n.score is None else f"{n.score:.3f}",
                         n.verdict or "", n.reason_code, " ".join(n.snippet.split())]))


def add_commands(add: Adder) -> None:
    p = add("similar", cmd_similar)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--case", type=int, help="the case's id (Review's URL shows it as ?case=ID)")
    which.add_argument("--text", help="a behaviour description to find cases like")
    p.add_argument("--k", type=int, default=10, help="how many cases (default %(default)s)")
    p.add_argument("--embed-missing", action="store_true",
                   help="first embed the cases the active model scored before vectors were kept (admins)")
