"""The review queue: filtered, sorted, paged in SQL so a 100,000-case batch stays fast.

Functions take the session first and never commit, like :mod:`rsad.store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from rsad.claims import as_utc, claimed_by_other
from rsad.errors import InputError, NotFoundError
from rsad.orm import Batch, Case, CaseClaim, Score, Verdict, utcnow
from rsad.store import latest_verdicts_subquery

STATUSES = ("unreviewed", "reviewed", "all")
SORTS = {"score": "score, high to low", "uncertain": "most uncertain first", "newest": "newest first"}
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class QueueFilter:
    """What the analyst asked the queue for (every field optional)."""

    batch_id: int | None = None
    score_min: float = 0.0
    score_max: float = 1.0
    status: str = "unreviewed"
    verdict: str | None = None  # latest verdict label: anomaly / normal / unsure
    meta_key: str | None = None
    meta_value: str | None = None
    text_contains: str = ""
    sort: str = "score"
    # The analyst looking at the queue: cases someone else has open are skipped. None shows all.
    viewer: str | None = None

    def check(self) -> None:
        if self.status not in STATUSES:
            raise InputError(f"Status must be one of {', '.join(STATUSES)}.")
        if self.sort not in SORTS:
            raise InputError(f"Sort must be one of {', '.join(SORTS)}.")
        if not 0.0 <= self.score_min <= self.score_max <= 1.0:
            raise InputError("The score range must lie within 0..1, lowest first.")


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _meta_value(key: str):  # noqa: ANN202
    # JSON numbers come back as numbers on SQLite: compare everything as text.
    return cast(Case.meta[key].as_string(), String)


def _filtered(model_version_id: int, f: QueueFilter, now: datetime | None = None):  # noqa: ANN202
    latest = latest_verdicts_subquery()
    query = (
        select(Case.id, Case.external_id, Batch.name.label("batch"), Score.score,
               func.substr(Case.text, 1, PREVIEW_CHARS).label("preview"),
               latest.c.label.label("verdict"), latest.c.analyst.label("analyst"),
               latest.c.created_at.label("reviewed_at"))
        .join(Score, and_(Score.case_id == Case.id, Score.model_version_id == model_version_id))
        .join(Batch, Batch.id == Case.batch_id)
        .outerjoin(latest, latest.c.case_id == Case.id)
        .where(Score.score >= f.score_min, Score.score <= f.score_max)
    )
    if f.batch_id is not None:
        query = query.where(Case.batch_id == f.batch_id)
    has_verdict = exists().where(Verdict.case_id == Case.id)
    if f.status == "unreviewed":
        query = query.where(~has_verdict)
    elif f.status == "reviewed":
        query = query.where(has_verdict)
    if f.verdict:
        query = query.where(latest.c.label == f.verdict)
    if f.meta_key and f.meta_value not in (None, ""):
        query = query.where(_meta_value(f.meta_key) == str(f.meta_value))
    if f.text_contains.strip():
        query = query.where(Case.text.ilike(_like_pattern(f.text_contains.strip()), escape="\\"))
    if f.viewer is not None:
        query = query.where(~claimed_by_other(f.viewer, now or utcnow()))
    return query


def _ordered(query, f: QueueFilter, threshold: float):  # noqa: ANN001, ANN202
    if f.sort == "uncertain":
        return query.order_by(func.abs(Score.score - literal(threshold)), Case.id)
    if f.sort == "newest":
        return query.order_by(Case.id.desc())
    return query.order_by(Score.score.desc(), Case.id)


def queue_page(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
               *, offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of the queue and the number of cases matching the filters."""
    f.check()
    base = _filtered(model_version_id, f)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(_ordered(base, f, threshold).offset(max(0, offset)).limit(limit)).mappings()
    return [dict(r) for r in rows], int(total)


def neighbour(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
              position: int) -> int | None:
    """The case id at ``position`` (0-based) of the queue, or None past its end."""
    if position < 0:
        return None
    row = session.execute(_ordered(_filtered(model_version_id, f), f, threshold)
                          .offset(position).limit(1)).first()
    return row[0] if row else None


def held_by_others(session: Session, f: QueueFilter) -> list[dict[str, Any]]:
    """Who else has cases open (in the filter's batch, if any): cases and latest expiry each.

    Not matched against the other filters: on a large batch that costs a queue scan, and a case
    another analyst has open is kept from the viewer's queue whatever the filters."""
    if f.viewer is None:
        return []
    query = (select(CaseClaim.analyst, func.count(), func.max(CaseClaim.expires_at))
             .where(CaseClaim.analyst != f.viewer, CaseClaim.expires_at > utcnow())
             .group_by(CaseClaim.analyst).order_by(CaseClaim.analyst))
    if f.batch_id is not None:
        query = query.join(Case, Case.id == CaseClaim.case_id).where(Case.batch_id == f.batch_id)
    return [{"analyst": a, "cases": int(n), "until": as_utc(u)} for a, n, u in session.execute(query)]


def meta_keys(session: Session, batch_id: int | None, sample: int = 200) -> list[str]:
    """Metadata column names, read from a sample of cases (batches share their columns)."""
    query = select(Case.meta).order_by(Case.id).limit(sample)
    if batch_id is not None:
        query = query.where(Case.batch_id == batch_id)
    keys: dict[str, None] = {}
    for meta in session.scalars(query):
        keys.update(dict.fromkeys((meta or {}).keys()))
    return list(keys)


def meta_values(session: Session, batch_id: int | None, key: str, limit: int = 100) -> list[str]:
    """The most common values of one metadata column."""
    value = _meta_value(key)
    query = select(value, func.count()).where(value.is_not(None)).group_by(value) \
        .order_by(func.count().desc()).limit(limit)
    if batch_id is not None:
        query = query.where(Case.batch_id == batch_id)
    return [str(v) for v, _ in session.execute(query)]


def case_detail(session: Session, case_id: int, model_version_id: int | None) -> dict[str, Any]:
    """Everything the case view shows: text, metadata, score and the verdict history."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}.")
    score = None
    if model_version_id is not None:
        score = session.scalar(select(Score.score).where(Score.case_id == case_id,
                                                         Score.model_version_id == model_version_id))
    history = session.scalars(select(Verdict).where(Verdict.case_id == case_id).order_by(Verdict.id.desc()))
    return {
        "id": case.id, "external_id": case.external_id, "batch": case.batch.name, "batch_id": case.batch_id,
        "text": case.text, "meta": dict(case.meta or {}), "given_label": case.given_label, "score": score,
        "verdicts": [{"label": v.label, "reason_code": v.reason_code, "note": v.note, "analyst": v.analyst,
                      "created_at": v.created_at, "model_version_id": v.model_version_id,
                      "threshold": v.threshold} for v in history],
    }
