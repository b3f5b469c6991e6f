"""Second opinions: a project setting sends a share of cases to a second analyst, blind.

Which cases: ``(case id * 7919) % 1000 < share * 1000`` (see :func:`sampled`), computed in SQL on SQLite and
PostgreSQL alike, so every process and every page agrees without a table of sampled cases, and
raising the share only adds cases. Once one analyst has judged a sampled case, it stays
"unreviewed" for every other analyst until a second one has judged it too; meanwhile those others
see neither the first verdict nor who gave it (the queue row and the case view hide them), so the
two verdicts are independent and the agreement on the Labels page measures something.

The queue (rsad.review.work_queue) takes its status and verdict filters from
:func:`verdict_where` and the viewer from ``QueueFilter.second_opinion``, which
:func:`for_viewer` fills in from the project setting. Functions take the session first and never
commit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, Verdict
from rsad.data.project_settings import project_share

PRIME = 7919  # spreads consecutive ids over the thousandths
F = TypeVar("F")


def permille(share: float) -> int:
    return int(round(float(share) * 1000))


def sampled(case_id: Any, share: float) -> ColumnElement[bool]:
    """SQL: is this case among the share sent to a second analyst?

    ``(id % 1000) * 7919 % 1000`` equals ``id * 7919 % 1000`` but stays small: PostgreSQL's
    4-byte integers would overflow on ``id * 7919`` past case 271,181."""
    return ((case_id % 1000) * PRIME) % 1000 < permille(share)


def is_sampled(case_id: int, share: float) -> bool:
    """:func:`sampled` in Python (tests, and callers holding an id)."""
    return ((int(case_id) % 1000) * PRIME) % 1000 < permille(share)


def for_viewer(session: Session, f: F, project_id: int) -> F:
    """The queue filter with the second opinion rule for its viewer, when the project has it on."""
    viewer = getattr(f, "viewer", None)
    share = project_share(session, project_id) if viewer else 0.0
    return replace(f, second_opinion=(viewer, share) if permille(share) > 0 else None)  # type: ignore[type-var]


def _one_analyst(share: float) -> Select:
    """Ids of the sampled cases judged so far by exactly one analyst (driven from the verdicts)."""
    return (select(Verdict.case_id).where(sampled(Verdict.case_id, share)).group_by(Verdict.case_id)
            .having(func.count(func.distinct(Verdict.analyst)) == 1))


def awaiting(f: Any) -> ColumnElement[bool] | None:
    """SQL: the case waits for the viewer's blind second opinion (None: the rule is off)."""
    if not getattr(f, "second_opinion", None):
        return None
    viewer, share = f.second_opinion
    return and_(sampled(Case.id, share), Case.id.in_(_one_analyst(share)),
                Case.id.not_in(select(Verdict.case_id).where(Verdict.analyst == viewer)))


def latest_with_label(label: str) -> Select:
    """Ids of the cases whose newest verdict has this label."""
    newest = select(func.max(Verdict.id)).group_by(Verdict.case_id)
    return select(Verdict.case_id).where(Verdict.id.in_(newest), Verdict.label == label)


def verdict_where(query: Select, f: Any) -> Select:
    """The queue's status and verdict filters as the viewer sees them: a case waiting for their
    second opinion counts as unreviewed and matches no verdict."""
    hidden = awaiting(f)
    # IN (one list of reviewed ids, built once) rather than a per-case EXISTS probe: the
    # reviewed filter must otherwise probe every case of a big batch.
    reviewed = select(Verdict.case_id)
    if f.status == "unreviewed":
        query = query.where(Case.id.not_in(reviewed) if hidden is None else or_(Case.id.not_in(reviewed), hidden))
    elif f.status == "reviewed":
        query = query.where(Case.id.in_(reviewed))
    if f.verdict:
        query = query.where(Case.id.in_(latest_with_label(f.verdict)))
    return visible(query, f) if f.status == "reviewed" or f.verdict else query


def visible(query: Select, f: Any) -> Select:
    """Leave out the cases waiting for the viewer's second opinion (their verdicts are hidden)."""
    hidden = awaiting(f)
    return query if hidden is None else query.where(not_(hidden))


def blind_ids(session: Session, f: Any, case_ids: list[int]) -> set[int]:
    """Which of these cases wait for the viewer's second opinion."""
    hidden = awaiting(f)
    if hidden is None or not case_ids:
        return set()
    return set(session.scalars(select(Case.id).where(Case.id.in_([int(c) for c in case_ids]), hidden)))


def blind_rows(session: Session, f: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queue rows with the first verdict and its analyst hidden where the viewer judges blind."""
    blind = blind_ids(session, f, [r["id"] for r in rows if r.get("verdict")])
    for r in rows:
        if r["id"] in blind:
            r["verdict"] = r["analyst"] = r["reviewed_at"] = None
    return rows


def summary(session: Session, project_id: int) -> dict[str, Any]:
    """The project's share, and its sampled cases judged by two analysts or more, or by one so far."""
    share = project_share(session, project_id)
    per_case = (select(Verdict.case_id, func.count(func.distinct(Verdict.analyst)).label("n"))
                .join(Case, Case.id == Verdict.case_id).join(Batch, Batch.id == Case.batch_id)
                .where(Batch.project_id == project_id, sampled(Verdict.case_id, share))
                .group_by(Verdict.case_id).subquery())
    double, single = session.execute(select(func.count().filter(per_case.c.n >= 2),
                                            func.count().filter(per_case.c.n == 1))).one()
    return {"share": share, "double_judged": int(double or 0), "waiting": int(single or 0)}
