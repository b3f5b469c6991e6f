"""The "label to start" order of a batch's cases (``Case.coverage_rank``): which cases still
need a rank, and writing the ranks. Session first, never commits (see :mod:`rsad.data.store`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rsad.data.orm import Case

WRITE_CHUNK = 5_000


def unranked_cases(session: Session, batch_id: int) -> list[tuple[int, str]]:
    """(case id, text) of the batch's cases without a coverage rank, in id order."""
    return [(r[0], r[1]) for r in session.execute(
        select(Case.id, Case.text).where(Case.batch_id == batch_id, Case.coverage_rank.is_(None))
        .order_by(Case.id))]


def next_rank(session: Session, batch_id: int) -> int:
    """The first free rank of the batch: new ranks go after the ones it already has."""
    top = session.scalar(select(func.max(Case.coverage_rank)).where(Case.batch_id == batch_id))
    return 0 if top is None else int(top) + 1


def write_ranks(session: Session, ordered_ids: Sequence[int], start: int = 0) -> int:
    """Give ``ordered_ids`` the ranks start, start+1, ... (one bulk UPDATE by primary key per chunk)."""
    rows = [{"id": int(cid), "coverage_rank": start + i} for i, cid in enumerate(ordered_ids)]
    for at in range(0, len(rows), WRITE_CHUNK):
        session.execute(update(Case), rows[at : at + WRITE_CHUNK])
    return len(rows)


def ranked_count(session: Session, batch_id: int) -> tuple[int, int]:
    """(ranked, all) cases of the batch."""
    ranked, total = session.execute(select(func.count(Case.coverage_rank), func.count(Case.id))
                                    .where(Case.batch_id == batch_id)).one()
    return int(ranked), int(total)
