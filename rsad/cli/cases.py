"""`rsad cases ...`: a case's lifecycle from the shell: its state, assigning, escalating, closing,
sending back to review, reopening, and the escalated queue. ID is the case's store number or its
upload id (when that is unique in the project)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from rsad.cli.common import acting_user, add_project_flag, open_store
from rsad.i18n import _

if TYPE_CHECKING:  # the service layer loads its libraries only when a command runs
    from rsad.service.cases import CaseStatus


def _print(c: CaseStatus) -> None:
    from rsad.service.cases import REASON_NAMES, STATE_NAMES

    print(_("Case {ext} (#{id}, batch {batch}): {state}, {who}.").format(
        ext=c.external_id, id=c.case_id, batch=c.batch, state=_(STATE_NAMES[c.state]),
        who=_("assigned to {name}").format(name=c.assignee) if c.assignee else _("unassigned")))
    if c.age_days is not None:
        print(_("Open for {days:.1f} days.").format(days=c.age_days))
    if c.state == "escalated":
        print(_("Escalated by {who} at {when:%Y-%m-%d %H:%M} UTC: {note}").format(
            who=c.escalated_by, when=c.escalated_at, note=c.escalation_note))
    if c.state == "closed":
        print(_("Closed: {reason}. {note}").format(reason=_(REASON_NAMES.get(c.closing_reason, c.closing_reason)),
                                                   note=c.closing_note).rstrip())


def cmd_state(args: argparse.Namespace) -> None:
    """Show a case's state, assignee, age, notes and its history (the audit trail)."""
    from rsad.service import cases

    store = open_store()
    c = cases.status(store, cases.find_case(store, args.id))
    _print(c)
    for e in c.history[::-1]:
        print(f"  {e['created_at']:%Y-%m-%d %H:%M}  {e['action']:14} {e['actor']:16} {e['detail']}")


def _move(args: argparse.Namespace, move: str, **kw: str | None) -> None:
    from rsad.service import cases

    store = open_store()
    _print(cases.change(store, cases.find_case(store, args.id), move, user=acting_user(args), **kw))


def cmd_assign(args: argparse.Namespace) -> None:
    """Assign a case to a user (analysts take cases for themselves; admins assign anyone)."""
    _move(args, "assign", assign_to=args.user)


def cmd_start(args: argparse.Namespace) -> None:
    """Start the review of an open case (opening it on Review does the same)."""
    _move(args, "start")


def cmd_escalate(args: argparse.Namespace) -> None:
    """Escalate a case to the admins, saying why (--note)."""
    _move(args, "escalate", note=args.note)


def cmd_close(args: argparse.Namespace) -> None:
    """Close a case with a reason: confirmed_anomaly, false_positive, duplicate, insufficient_evidence or
    other (which needs --note). Escalated cases are closed by admins."""
    _move(args, "close", reason=args.reason, note=args.note or "")


def cmd_return(args: argparse.Namespace) -> None:
    """Send an escalated case back to review (admins)."""
    _move(args, "return")


def cmd_reopen(args: argparse.Namespace) -> None:
    """Reopen a closed case (admins); its age counts from now."""
    _move(args, "reopen")


def cmd_escalated(args: argparse.Namespace) -> None:
    """List the project's escalated cases, longest waiting first (admins)."""
    from rsad.service import cases

    rows = cases.escalated_cases(open_store(), user=acting_user(args))
    if not rows:
        print(_("No escalated cases in this project."))
    for r in rows:
        print(f"  #{r['case_id']:<7} {r['external_id']:14} {r['escalated_by']:16} "
              f"{r['escalated_at']:%Y-%m-%d %H:%M}  {r['note']}")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cases", help="a case's lifecycle: state, assign, escalate, close, reopen",
                       description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, fn: Callable[[argparse.Namespace], None], with_id: bool = True) -> argparse.ArgumentParser:
        doc = fn.__doc__ or ""
        v = verbs.add_parser(name, help=doc.splitlines()[0], description=doc)
        if with_id:
            v.add_argument("id", metavar="ID", help="the case's store number, or its upload id")
        v.set_defaults(func=fn)
        add_project_flag(v)
        return v

    verb("state", cmd_state)
    verb("assign", cmd_assign).add_argument("user", metavar="USER", help="a user of the desk")
    verb("start", cmd_start)
    verb("escalate", cmd_escalate).add_argument("--note", required=True, help="why (the admin reads it)")
    close = verb("close", cmd_close)
    # rsad.service.cases.CLOSING_REASONS, spelled out: importing the service here would slow `rsad --help`.
    close.add_argument("--reason", required=True, choices=["confirmed_anomaly", "false_positive", "duplicate",
                                                           "insufficient_evidence", "other"])
    close.add_argument("--note", help="a note (required with --reason other)")
    verb("return", cmd_return)
    verb("reopen", cmd_reopen)
    verb("escalated", cmd_escalated, with_id=False)
