"""The label-issue audit for the pages and the CLI: run it (admins), its counts, the "second look"
queue of open issues, and recording a second-look verdict (an ordinary verdict whose reason is
``SECOND_LOOK_REASON``, so the usual label rule makes a correction the training label).

Each function opens its own transaction on a Store; what crosses to the pages are the typed
records below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rsad.auth.policies import Action, authorize
from rsad.auth.users import User
from rsad.config import SECOND_LOOK_REASON
from rsad.data.db import Store
from rsad.i18n import _
from rsad.ops.audit import MAX_ISSUES, AuditRun
from rsad.ops.audit import run_audit as _run
from rsad.ops.audit import start_audit as _start
from rsad.ops.background import BackgroundJob
from rsad.progress import ProgressFn, no_progress
from rsad.review import label_issues as li
from rsad.review.verdicts import record_verdicts

__all__ = ["MAX_ISSUES", "SECOND_LOOK_REASON", "AuditRun", "AuditSummary", "BackgroundJob", "SecondLookCase",
           "found_issues", "reason_text", "record_second_look", "run_audit", "second_look_queue", "start_audit",
           "summary"]


@dataclass(frozen=True)
class AuditSummary:
    """Counts of the latest audit and of every audit (each flagged case once, by its newest issue):
    found, open, confirmed, corrected, unsure. ``latest_run`` None: never audited."""

    latest_run: int | None
    latest_at: datetime | None
    latest_by: str
    latest: dict[str, int]
    overall: dict[str, int]


@dataclass(frozen=True)
class SecondLookCase:
    """An open issue as the Second look page and the CLI show it."""

    issue_id: int
    case_id: int
    external_id: str
    batch: str
    text: str
    given_label: int  # the label that was flagged (1 anomaly)
    label_source: str  # seed | verdict
    suggested_label: int
    p_anomaly: float
    quality: float
    status: str
    run: int


def run_audit(store: Store, *, user: User, max_issues: int = MAX_ISSUES, use_model: bool = True,
              progress: ProgressFn = no_progress) -> AuditRun:
    """Audit the project's labels now (admins): see :mod:`rsad.ops.audit`."""
    authorize(user, Action.RUN_AUDIT)
    return _run(store, created_by=user.name, max_issues=max_issues, use_model=use_model, progress=progress)


def start_audit(store: Store, *, user: User, max_issues: int = MAX_ISSUES) -> BackgroundJob:
    """:func:`run_audit` in a background thread (admins); refused before it starts."""
    authorize(user, Action.RUN_AUDIT)
    return _start(store, created_by=user.name, max_issues=max_issues)


def summary(store: Store) -> AuditSummary:
    with store.session() as s:
        rows = li.issue_rows(s, project_id=store.project_id)
    if not rows:
        empty = li.status_counts([])
        return AuditSummary(None, None, "", empty, empty)
    latest = max(r.run for r in rows)
    mine = [r for r in rows if r.run == latest]
    return AuditSummary(latest, mine[0].created_at, mine[0].created_by, li.status_counts(mine),
                        li.status_counts(li.newest_per_case(rows)))


def _cases(store: Store, rows: list[li.IssueRow]) -> list[SecondLookCase]:
    with store.session() as s:
        info = li.case_details(s, [r.case_id for r in rows])
    return [SecondLookCase(r.id, r.case_id, info[r.case_id]["external_id"], info[r.case_id]["batch"],
                           info[r.case_id]["text"], r.given_label, r.label_source, r.suggested_label, r.p_anomaly,
                           r.quality, r.status, r.run) for r in rows if r.case_id in info]


def second_look_queue(store: Store, *, limit: int = 5, offset: int = 0) -> tuple[list[SecondLookCase], int]:
    """Open issues, most doubtful first (lowest self-confidence), and how many are open in all."""
    with store.session() as s:
        rows = [r for r in li.newest_per_case(li.issue_rows(s, project_id=store.project_id)) if r.status == "open"]
    rows.sort(key=lambda r: (r.quality, r.id))
    return _cases(store, rows[offset: offset + limit]), len(rows)


def found_issues(store: Store, run: int | None = None) -> list[SecondLookCase]:
    """The issues one audit found (default: the latest), most doubtful first, with their status now."""
    with store.session() as s:
        rows = li.issue_rows(s, project_id=store.project_id)
    run = run if run is not None else max((r.run for r in rows), default=None)
    return _cases(store, sorted((r for r in rows if r.run == run), key=lambda r: (r.quality, r.id)))


def record_second_look(store: Store, case_id: int, label: str, *, analyst: str,
                       submission: str | None = None) -> int:
    """Record a verdict from the second-look queue (reason "second look"); see record_verdicts."""
    return record_verdicts(store, [case_id], label, analyst=analyst, reason_code=SECOND_LOOK_REASON,
                           submission=submission)


def reason_text(case: SecondLookCase) -> str:
    """Why the audit doubts the label, in the reader's language."""
    label = _("anomaly") if case.given_label else _("normal")
    text = (_("labeled {label} on upload; cross-validated models give {p:.2f} anomaly") if case.label_source == "seed"
            else _("labeled {label} by verdict; cross-validated models give {p:.2f} anomaly"))
    return text.format(label=label, p=case.p_anomaly)
