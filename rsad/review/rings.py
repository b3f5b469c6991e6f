"""Rings in the store: keeping the found rings of a batch (stable ids), listing them, one ring's
members with their scores and latest verdicts. Session first, never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, Ring, RingMember, Score, Verdict, as_utc, utcnow
from rsad.errors import NotFoundError
from rsad.i18n import _
from rsad.review.ring_groups import FoundRing
from rsad.review.verdicts import latest_verdicts_subquery


def _current(session: Session, batch_id: int, version_id: int) -> list[Ring]:
    return list(session.scalars(select(Ring).where(Ring.batch_id == batch_id, Ring.model_version_id == version_id,
                                                   Ring.retired_at.is_(None))))


def save_rings(session: Session, project_id: int, batch_id: int, version_id: int, found: list[FoundRing]) -> list[int]:
    """Keep ``found`` as the batch's current rings under the version; returns their ids in order.

    A ring found again with exactly the same members keeps its id (its key and numbers are
    refreshed); a current ring not found again is retired, so verdicts recorded on it still name it."""
    # A no-op write first: it takes the write lock (SQLite) or the batch row's lock (PostgreSQL), so
    # two analysts recomputing at once match each other's rings instead of storing them twice.
    session.execute(update(Batch).where(Batch.id == batch_id).values(name=Batch.name))
    members: dict[int, set[int]] = {}
    rows = _current(session, batch_id, version_id)
    if rows:
        for ring_id, case_id in session.execute(select(RingMember.ring_id, RingMember.case_id).where(
                RingMember.ring_id.in_([r.id for r in rows]))):
            members.setdefault(ring_id, set()).add(case_id)
    by_members = {frozenset(m): rid for rid, m in members.items()}
    kept, ids = set(), []
    for ring in found:
        rid = by_members.get(frozenset(ring.case_ids))
        if rid is None:
            row = Ring(project_id=project_id, batch_id=batch_id, model_version_id=version_id, key=ring.key[:1000],
                       size=ring.size, mean_score=ring.mean_score, first_at=ring.first_at, last_at=ring.last_at)
            session.add(row)
            session.flush()
            session.add_all(RingMember(ring_id=row.id, case_id=c) for c in ring.case_ids)
            rid = row.id
        else:
            row = session.get(Ring, rid)
            row.key, row.mean_score = ring.key[:1000], ring.mean_score
            row.first_at, row.last_at = ring.first_at, ring.last_at
        kept.add(rid)
        ids.append(rid)
    now = utcnow()
    for row in rows:
        if row.id not in kept:
            row.retired_at = now
    session.flush()
    return ids


def ring_rows(session: Session, batch_id: int, version_id: int) -> list[dict[str, Any]]:
    """The batch's current rings under the version: largest first, then by mean score."""
    rows = session.scalars(select(Ring).where(Ring.batch_id == batch_id, Ring.model_version_id == version_id,
                                              Ring.retired_at.is_(None))
                           .order_by(Ring.size.desc(), Ring.mean_score.desc(), Ring.id))
    return [_row(r) for r in rows]


def _row(r: Ring) -> dict[str, Any]:
    return {"id": r.id, "size": r.size, "key": r.key, "mean_score": r.mean_score, "batch_id": r.batch_id,
            "model_version_id": r.model_version_id, "first_at": as_utc(r.first_at) if r.first_at else None,
            "last_at": as_utc(r.last_at) if r.last_at else None, "retired": r.retired_at is not None}


def get_ring(session: Session, ring_id: int, project_id: int) -> dict[str, Any]:
    """One ring (current or retired) of the project; NotFoundError otherwise."""
    ring = session.get(Ring, int(ring_id))
    if ring is None or ring.project_id != project_id:
        raise NotFoundError(_("No ring with id {id} in this project: recompute the rings of its batch on the Rings "
                              "page or with `rsad rings --batch NAME`.").format(id=ring_id))
    return _row(ring) | {"batch": session.get(Batch, ring.batch_id).name}


def ring_members(session: Session, ring_id: int, version_id: int) -> list[dict[str, Any]]:
    """The ring's cases: id, external id, text, metadata, score under the version and latest verdict."""
    latest = latest_verdicts_subquery()
    query = (select(Case.id, Case.external_id, Case.text, Case.meta, Score.score, latest.c.label, latest.c.ring_id)
             .join(RingMember, RingMember.case_id == Case.id)
             .outerjoin(Score, (Score.case_id == Case.id) & (Score.model_version_id == version_id))
             .outerjoin(latest, latest.c.case_id == Case.id)
             .where(RingMember.ring_id == int(ring_id)).order_by(Score.score.desc(), Case.id))
    return [{"id": cid, "external_id": ext, "text": text, "meta": dict(meta or {}), "score": score, "verdict": label,
             "verdict_ring_id": vring} for cid, ext, text, meta, score, label, vring in session.execute(query)]


def judged(session: Session, case_ids: list[int]) -> set[int]:
    """Those of ``case_ids`` that already have a verdict."""
    return set(session.scalars(select(Verdict.case_id).where(Verdict.case_id.in_(case_ids)).distinct()))


def member_ids(session: Session, ring_id: int) -> list[int]:
    """The ring's case ids, in id order."""
    return list(session.scalars(select(RingMember.case_id).where(RingMember.ring_id == int(ring_id))
                                .order_by(RingMember.case_id)))
