"""What the Review page shows beside the queue's rows: the metadata columns and their values
(the filter boxes) and one case's details (the case view). Moved out of
:mod:`rsad.review.work_queue`, which re-exports them. Session first, never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.orm import Session

from rsad.data.orm import DEFAULT_PROJECT_ID, Case, Score, Verdict
from rsad.data.store import in_project
from rsad.errors import NotFoundError
from rsad.i18n import _


def meta_text(key: str) -> ColumnElement[str]:
    """One metadata column as text: JSON numbers come back as numbers on SQLite."""
    return cast(Case.meta[key].as_string(), String)


def meta_keys(session: Session, batch_id: int | None, sample: int = 200, *,
              project_id: int = DEFAULT_PROJECT_ID) -> list[str]:
    """Metadata column names, read from a sample of the project's cases (batches share their columns)."""
    query = select(Case.meta).where(in_project(project_id)).order_by(Case.id).limit(sample)
    if batch_id is not None:
        query = query.where(Case.batch_id == batch_id)
    keys: dict[str, None] = {}
    for meta in session.scalars(query):
        keys.update(dict.fromkeys((meta or {}).keys()))
    return list(keys)


def meta_values(session: Session, batch_id: int | None, key: str, limit: int = 100, *,
                project_id: int = DEFAULT_PROJECT_ID) -> list[str]:
    """The most common values of one metadata column in the project."""
    value = meta_text(key)
    query = select(value, func.count()).where(value.is_not(None), in_project(project_id)).group_by(value) \
        .order_by(func.count().desc()).limit(limit)
    if batch_id is not None:
        query = query.where(Case.batch_id == batch_id)
    return [str(v) for v, _ in session.execute(query)]


def case_detail(session: Session, case_id: int, model_version_id: int | None, *,
                project_id: int = DEFAULT_PROJECT_ID) -> dict[str, Any]:
    """Everything the case view shows: text, metadata, score and the verdict history."""
    case = session.get(Case, case_id)
    if case is None or case.batch.project_id != project_id:  # a link from another project: not here
        raise NotFoundError(_("No case with id {case_id} in this project.").format(case_id=case_id))
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
