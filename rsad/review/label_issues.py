"""The label audit's findings in the store, and what the "second look" verdicts made of them.

An issue's status is derived, never stored: the newest verdict with the second-look reason
recorded on its case after the issue was found decides it. ``open``: none yet; ``confirmed``:
it agrees with the label that was flagged; ``corrected``: it differs (that verdict is then
the case's training label by the usual rule, :mod:`rsad.review.labels`); ``unsure``: the
analyst could not tell. Session first, never commits (like :mod:`rsad.data.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsad.config import SECOND_LOOK_REASON
from rsad.data.orm import Batch, Case, LabelIssue, Verdict, as_utc

STATUSES = ("open", "confirmed", "corrected", "unsure")


@dataclass(frozen=True)
class IssueRow:
    """One stored issue with its derived status (and the verdict that decided it, if any)."""

    id: int
    case_id: int
    run: int
    given_label: int
    label_source: str
    suggested_label: int
    p_anomaly: float
    quality: float
    reason: str
    features: str
    created_at: datetime
    status: str
    created_by: str = ""
    decided_by: str = ""


def _in_project(project_id: int) -> Any:
    return Case.batch_id.in_(select(Batch.id).where(Batch.project_id == project_id))


def second_looked(session: Session, *, project_id: int) -> set[int]:
    """Cases of the project that already have a second-look verdict: a new audit leaves them be."""
    return set(session.scalars(select(Verdict.case_id).join(Case, Case.id == Verdict.case_id).where(
        Verdict.reason_code == SECOND_LOOK_REASON, _in_project(project_id)).distinct()))


def next_run(session: Session, *, project_id: int) -> int:
    """The number of the next audit of the project (1, 2, ...)."""
    return int(session.scalar(select(func.max(LabelIssue.run)).where(LabelIssue.project_id == project_id)) or 0) + 1


def add_issues(session: Session, rows: list[dict[str, Any]], *, project_id: int, run: int, created_by: str) -> int:
    """Store one audit's findings (dicts of LabelIssue's columns without project, run, creator)."""
    session.add_all(LabelIssue(project_id=project_id, run=run, created_by=created_by, **r) for r in rows)
    session.flush()
    return len(rows)


def _status(issue: LabelIssue, verdict: tuple[str, datetime, str] | None) -> tuple[str, str]:
    if verdict is None:
        return "open", ""
    label, _when, analyst = verdict
    if label == "unsure":
        return "unsure", analyst
    return ("confirmed" if int(label == "anomaly") == issue.given_label else "corrected"), analyst


def issue_rows(session: Session, *, project_id: int) -> list[IssueRow]:
    """Every issue of the project, oldest first, each with its status (see the module's doc)."""
    issues = session.scalars(select(LabelIssue).where(LabelIssue.project_id == project_id)
                             .order_by(LabelIssue.id)).all()
    looks: dict[int, list[tuple[str, datetime, str]]] = {}
    for cid, label, when, analyst in session.execute(
        select(Verdict.case_id, Verdict.label, Verdict.created_at, Verdict.analyst)
        .join(Case, Case.id == Verdict.case_id)
        .where(Verdict.reason_code == SECOND_LOOK_REASON, _in_project(project_id)).order_by(Verdict.id)
    ):
        looks.setdefault(cid, []).append((label, as_utc(when), analyst))
    out = []
    for i in issues:
        found = as_utc(i.created_at)
        after = [v for v in looks.get(i.case_id, []) if v[1] >= found]
        status, who = _status(i, after[-1] if after else None)
        out.append(IssueRow(i.id, i.case_id, i.run, i.given_label, i.label_source, i.suggested_label, i.p_anomaly,
                            i.quality, i.reason, i.features, found, status, i.created_by, who))
    return out


def newest_per_case(rows: list[IssueRow]) -> list[IssueRow]:
    """Each flagged case once, by its newest issue (a case an audit flagged again counts once)."""
    newest: dict[int, IssueRow] = {}
    for r in rows:
        newest[r.case_id] = r
    return list(newest.values())


def status_counts(rows: list[IssueRow]) -> dict[str, int]:
    """found, then how many of them are open, confirmed, corrected and unsure."""
    counts = {"found": len(rows)} | dict.fromkeys(STATUSES, 0)
    for r in rows:
        counts[r.status] += 1
    return counts


def case_details(session: Session, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """external id, text and batch name of each case."""
    rows = session.execute(select(Case.id, Case.external_id, Case.text, Batch.name)
                           .join(Batch, Batch.id == Case.batch_id).where(Case.id.in_(case_ids)))
    return {cid: {"external_id": ext, "text": text, "batch": batch} for cid, ext, text, batch in rows}
