"""`rsad audit`: find the labels most likely wrong and send them to the "second look" queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rsad.cli.common import Adder, Bar, authorized, open_store
from rsad.i18n import _

if TYPE_CHECKING:  # the service layer loads its libraries only when a command runs
    from rsad.service.audit import AuditSummary


def _print_counts(summary: AuditSummary) -> None:
    if summary.latest_run is None:
        print(_("No audit has run in this project yet: `rsad audit`."))
        return
    for title, c in ((_("Latest audit (#{run}, {when:%Y-%m-%d %H:%M} UTC, by {who})").format(
            run=summary.latest_run, when=summary.latest_at, who=summary.latest_by), summary.latest),
            (_("All audits (each case once)"), summary.overall)):
        print(_("{title}: {found:,} found, {open:,} open, {confirmed:,} confirmed, {corrected:,} corrected, "
                "{unsure:,} unsure.").format(title=title, **c))


def cmd_audit(args: argparse.Namespace) -> None:
    """Audit the project's labels (seed labels and verdicts alike): models cross-validated on
    TF-IDF and, when there is an active version, its embeddings give each labeled case an
    out-of-sample P(anomaly); cleanlab lists the labels they contradict, most doubtful first.
    The top ones (at most --max, and at most a tenth of the labels) go to the "second look"
    queue; cases that had a second look already are left out. --status prints the counts only.
    """
    from rsad.service import audit

    if args.status:
        _print_counts(audit.summary(open_store()))
        return
    user = authorized(args, "RUN_AUDIT")
    store = open_store()
    done = audit.run_audit(store, user=user, max_issues=args.max, use_model=not args.no_model,
                           progress=Bar(None))
    print(_("Audit #{run}: {labeled:,} labeled cases ({features}), {suspects:,} labels look wrong, {stored:,} sent "
            "to the second look ({seen:,} had one already) in {seconds:.1f} s.").format(
                run=done.run, labeled=done.labeled, features=done.features, suspects=done.suspects,
                stored=done.stored, seen=done.skipped_seen, seconds=done.seconds))
    for case in audit.found_issues(store, done.run):
        print(f"  {case.external_id:14} {case.batch[:16]:16} {case.quality:6.3f}  {audit.reason_text(case)}")
    _print_counts(audit.summary(store))


def add_commands(add: Adder) -> None:
    p = add("audit", cmd_audit)
    p.add_argument("--max", type=int, default=200, help="send at most this many cases (default %(default)s)")
    p.add_argument("--no-model", action="store_true", help="TF-IDF alone, even with an active version")
    p.add_argument("--status", action="store_true", help="only print how many were found, confirmed, corrected")
