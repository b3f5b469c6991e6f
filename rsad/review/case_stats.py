"""What the case states add up to: the escalated queue, the age of the cases not closed yet, the
states of cases for the label export. Session first, never commits (see rsad.review.case_state)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, CaseState, as_utc, utcnow
from rsad.data.orm_cases import CASE_STATES
from rsad.i18n import N_

# The labels are message ids: pages show them translated (_()), the numbers keep the English keys.
AGE_BUCKETS = ((0.0, 1.0, N_("< 1 d")), (1.0, 3.0, N_("1–3 d")), (3.0, 7.0, N_("3–7 d")),
               (7.0, float("inf"), N_("> 7 d")))


def case_ref(session: Session, case_id: int, *, project_id: int) -> tuple[str, str, datetime] | None:
    """The case's upload id, batch name and upload time, if the case is in the project."""
    row = session.execute(select(Case.external_id, Batch.name, Batch.created_at).join(Batch, Batch.id == Case.batch_id)
                          .where(Case.id == int(case_id), Batch.project_id == project_id)).first()
    return None if row is None else (row[0], row[1], as_utc(row[2]))


def ids_by_external(session: Session, external_id: str, *, project_id: int) -> list[int]:
    """Store ids of the project's cases with this upload id (at most two: enough to tell it is not unique)."""
    return [int(c) for c in session.scalars(select(Case.id).join(Batch, Batch.id == Case.batch_id).where(
        Batch.project_id == project_id, Case.external_id == external_id).limit(2))]


def escalated(session: Session, *, project_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The project's escalated cases, longest waiting first: who escalated, when, their note."""
    rows = session.execute(
        select(CaseState, Case.external_id, Batch.name, func.substr(Case.text, 1, 160))
        .join(Case, Case.id == CaseState.case_id).join(Batch, Batch.id == Case.batch_id)
        .where(CaseState.state == "escalated", Batch.project_id == project_id)
        .order_by(CaseState.escalated_at, CaseState.case_id).limit(limit))
    return [{"case_id": st.case_id, "external_id": ext, "batch": batch, "preview": preview,
             "assignee": st.assignee, "escalated_by": st.escalated_by,
             "escalated_at": as_utc(st.escalated_at) if st.escalated_at else None, "note": st.escalation_note,
             "revision": st.revision} for st, ext, batch, preview in rows]


def states_of(session: Session, case_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{case id: state, assignee, closing reason} for those cases with a row (the rest are open)."""
    ids = [int(c) for c in case_ids]
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 5_000):  # bound the IN list (PostgreSQL and SQLite limits)
        chunk = ids[start:start + 5_000]
        for cid, state, who, reason in session.execute(
                select(CaseState.case_id, CaseState.state, CaseState.assignee, CaseState.closing_reason)
                .where(CaseState.case_id.in_(chunk))):
            out[cid] = {"state": state, "assignee": who, "closing_reason": reason}
    return out


def _since_groups(session: Session, project_id: int) -> pd.DataFrame:
    """(state, since, cases): cases not closed, grouped by their state and the time their age counts
    from (reopened: then; else their batch's upload). Few groups: batches times states, plus reopens.
    A case labeled on upload (training data, e.g. the demo's seed batch) is no work waiting: it
    counts only once someone moved it (it has a state row)."""
    since = func.coalesce(CaseState.opened_at, Batch.created_at)
    state = func.coalesce(CaseState.state, "open")
    query = (select(state.label("state"), since.label("since"), func.count().label("cases"))
             .select_from(Case).join(Batch, Batch.id == Case.batch_id)
             .outerjoin(CaseState, CaseState.case_id == Case.id)
             .where(Batch.project_id == project_id, state != "closed",
                    or_(Case.given_label.is_(None), CaseState.case_id.is_not(None)))
             .group_by(state, since))
    return pd.DataFrame(session.execute(query).all(), columns=["state", "since", "cases"])


def age_summary(session: Session, *, project_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The cases not closed yet (open, in review, escalated): counts per state, the oldest and the
    median age in days, and how many fall in each age bucket (:data:`AGE_BUCKETS`)."""
    now = now or utcnow()
    groups = _since_groups(session, project_id)
    counts = {s: 0 for s in CASE_STATES if s != "closed"}
    buckets = {label: 0 for _lo, _hi, label in AGE_BUCKETS}
    closed = session.scalar(select(func.count()).select_from(CaseState).join(Case, Case.id == CaseState.case_id)
                            .join(Batch, Batch.id == Case.batch_id)
                            .where(Batch.project_id == project_id, CaseState.state == "closed")) or 0
    if groups.empty:
        return {"counts": counts, "closed": int(closed), "total": 0, "oldest_days": None, "median_days": None,
                "buckets": buckets}
    groups["days"] = [(now - as_utc(t)).total_seconds() / 86_400 for t in groups["since"]]
    for state, n in groups.groupby("state")["cases"].sum().items():
        counts[str(state)] = int(n)
    for lo, hi, label in AGE_BUCKETS:
        buckets[label] = int(groups.loc[(groups["days"] >= lo) & (groups["days"] < hi), "cases"].sum())
    ordered = groups.sort_values("days")
    cum = ordered["cases"].cumsum().to_numpy()
    total = int(cum[-1])
    median = float(ordered["days"].to_numpy()[int(np.searchsorted(cum, (total + 1) // 2))])
    return {"counts": counts, "closed": int(closed), "total": total, "oldest_days": float(groups["days"].max()),
            "median_days": median, "buckets": buckets}
