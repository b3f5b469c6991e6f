"""The CLI's `rsad rings`: rings of coordinated accounts among a batch's flagged cases."""

from __future__ import annotations

import argparse
import sys

from rsad.cli.common import Adder, open_store
from rsad.i18n import _


def cmd_rings(args: argparse.Namespace) -> None:
    """Print a batch's rings, largest first: id, size, shared key, mean score (tab-separated).

    Recomputes them from the batch's flagged cases under the active version (a ring found again
    keeps its id): cases that share an entity value within the project's window (its entity columns:
    `rsad projects set NAME --entities ...`), or whose texts are near-duplicates. Open a ring on the
    Rings page to see its members and to record one verdict for all of them."""
    from rsad.service.rings import MIN_RING, compute_rings, list_rings

    store = open_store()
    rings = list_rings(store, args.batch) if args.stored else compute_rings(store, args.batch)
    if not rings:
        print(_("Batch {batch!r} has no rings: no group of {n} or more flagged cases shares an entity or a "
                "near-duplicate text.").format(batch=args.batch, n=MIN_RING), file=sys.stderr)
    for r in rings:
        print(f"{r['id']}\t{r['size']}\t{r['key']}\t{r['mean_score']:.3f}")


def add_commands(add: Adder) -> None:
    p = add("rings", cmd_rings)
    p.add_argument("--batch", required=True, help="batch name or id")
    p.add_argument("--stored", action="store_true", help="list the rings last computed, without recomputing")
