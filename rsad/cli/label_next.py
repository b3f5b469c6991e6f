"""The CLI's `rsad next`: a batch's cases to label next, in the desk's order."""

from __future__ import annotations

import argparse
import sys

from rsad.cli.common import Adder, Bar, open_store
from rsad.i18n import _

STRATEGIES = ("active", "uncertain", "random")  # rsad.review.selection's, named here so --help stays light


def cmd_next(args: argparse.Namespace) -> None:
    """Print the cases of a batch to label next, one external id a line, best first.

    Only unlabeled, unreviewed cases the active model scored. Strategy "active" (the desk's
    order) picks cases near the threshold that differ from each other and from the latest
    verdicts, embedding them with the active model; "uncertain" is nearest the threshold
    first; "random" a seeded sample. The Review page's "best next to label" sort shows the same."""
    from rsad.service.next_cases import next_cases

    cases = next_cases(open_store(), args.batch, args.n, args.strategy, args.seed, progress=Bar("texts"))
    if not cases:
        print(_("Batch {batch!r} has no unlabeled, unreviewed cases left.").format(batch=args.batch),
              file=sys.stderr)
    for c in cases:
        if not args.details:
            print(c.external_id)
            continue
        why = (_("score {score:.3f}, {distance:.3f} above the threshold") if c.distance >= 0 else
               _("score {score:.3f}, {distance:.3f} below the threshold"))
        print("\t".join([c.external_id, why.format(score=c.score, distance=abs(c.distance)),
                         " ".join(c.preview.split())]))


def add_commands(add: Adder) -> None:
    p = add("next", cmd_next)
    p.add_argument("--batch", required=True, help="batch name or id")
    p.add_argument("--n", type=int, default=50, help="how many cases (default %(default)s)")
    p.add_argument("--strategy", choices=STRATEGIES, default="active",
                   help="active: uncertain and diverse (default); uncertain: nearest the threshold; random")
    p.add_argument("--seed", type=int, default=0, help="seed of the random order (default %(default)s)")
    p.add_argument("--details", action="store_true",
                   help="also print each case's score, its distance to the threshold and the text's start, "
                        "tab-separated")
