"""The "label to start" queue of a project without a model: its unlabeled, unreviewed cases in
coverage order (:mod:`rsad.ops.coverage` ranks them), the labels of each class it has so far,
and whether that is enough to train the first model. Session first, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, Verdict
from rsad.review.labels import current_labels

CLASSES = ("anomaly", "normal")


@dataclass(frozen=True)
class StartQueue:
    """One page of the "label to start" queue and where the project stands."""

    rows: list[dict[str, Any]]  # id, external_id, batch, batch_id, text, rank (None: not ranked yet)
    total: int  # unlabeled, unreviewed cases left (in the batch asked for, else the project)
    offset: int
    counts: dict[str, int]  # labeled cases of each class in the project: anomaly, normal
    needed: int  # of each class before the first training (the project's start_per_class)
    unranked: int  # of ``total``, cases without a coverage rank (they come last)

    @property
    def ready(self) -> bool:
        """Every class has at least ``needed`` labels: the first model may be trained."""
        return all(self.counts[c] >= self.needed for c in CLASSES)


def _open(project_id: int, batch_id: int | None) -> list[Any]:
    where = [Batch.project_id == project_id, Case.given_label.is_(None),
             ~exists().where(Verdict.case_id == Case.id)]
    return where + ([Case.batch_id == batch_id] if batch_id is not None else [])


def label_counts(session: Session, project_id: int) -> dict[str, int]:
    """Cases of each class the project's labels give (seed labels and verdicts, by the label rule)."""
    counts = dict.fromkeys(CLASSES, 0)
    for row in current_labels(session, project_id=project_id):
        counts["anomaly" if row["is_anomaly"] else "normal"] += 1
    return counts


def start_page(session: Session, project_id: int, *, batch_id: int | None = None, offset: int = 0,
               limit: int = 20, needed: int) -> StartQueue:
    """A page of the project's (or one batch's) unlabeled cases, ranked ones first in rank
    order, then unranked ones by id; with the project's label counts."""
    where = _open(project_id, batch_id)
    total, unranked = session.execute(
        select(func.count(Case.id), func.count(Case.id) - func.count(Case.coverage_rank))
        .join(Batch, Batch.id == Case.batch_id).where(*where)).one()
    rows = session.execute(
        select(Case.id, Case.external_id, Batch.name, Case.batch_id, Case.text, Case.coverage_rank)
        .join(Batch, Batch.id == Case.batch_id).where(*where)
        .order_by(Case.coverage_rank.is_(None), Case.coverage_rank, Case.id)
        .offset(max(0, offset)).limit(max(1, limit))).all()
    return StartQueue(
        rows=[{"id": r[0], "external_id": r[1], "batch": r[2], "batch_id": r[3], "text": r[4], "rank": r[5]}
              for r in rows],
        total=int(total), offset=max(0, offset), counts=label_counts(session, project_id), needed=needed,
        unranked=int(unranked))
