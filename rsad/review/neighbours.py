"""What the similar-cases list shows of each neighbour: its batch, a snippet of its text, its
score under the version, and its newest verdict with the reason, unless the viewer still owes
that case a blind second opinion (then the verdict stays hidden, as in the queue)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, Score
from rsad.review import second_opinion
from rsad.review.verdicts import latest_verdicts_subquery
from rsad.review.work_queue import QueueFilter

SNIPPET_CHARS = 160


def describe(session: Session, version_id: int, case_ids: list[int], *, project_id: int,
             viewer: str | None = None) -> dict[int, dict[str, Any]]:
    """{case id: external_id, batch, snippet, score, verdict, reason_code} for those of
    ``case_ids`` in the project (a case of another project is left out)."""
    if not case_ids:
        return {}
    latest = latest_verdicts_subquery()
    score = (select(Score.score).where(Score.case_id == Case.id, Score.model_version_id == version_id)
             .scalar_subquery())
    rows = session.execute(
        select(Case.id, Case.external_id, Batch.name, func.substr(Case.text, 1, SNIPPET_CHARS), score,
               latest.c.label, latest.c.reason_code)
        .join(Batch, Batch.id == Case.batch_id).outerjoin(latest, latest.c.case_id == Case.id)
        .where(Case.id.in_([int(c) for c in case_ids]), Batch.project_id == project_id)).all()
    out = {int(r[0]): {"external_id": r[1], "batch": r[2], "snippet": r[3], "score": r[4],
                       "verdict": r[5], "reason_code": r[6] or ""} for r in rows}
    blind = second_opinion.blind_ids(session, second_opinion.for_viewer(session, QueueFilter(viewer=viewer),
                                                                        project_id), list(out))
    for case_id in blind:
        out[case_id].update(verdict=None, reason_code="")
    return out
