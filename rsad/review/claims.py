"""Case claims: an analyst who opens a case holds it for a few minutes, so two analysts do not
review the same case by accident. Functions take the session first and never commit.

A claim is one row per case (the case id is the primary key). Taking one is a single UPDATE
(renew my own claim, or take over an expired one) and, when no row exists, one INSERT ... ON
CONFLICT DO NOTHING: both are atomic on SQLite and PostgreSQL, so of two analysts claiming the
same case at the same moment exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsad.data.orm import CaseClaim, as_utc, utcnow
from rsad.errors import ConfigError, NotFoundError
from rsad.i18n import _


def _insert_if_absent(session: Session, row: dict[str, Any]) -> CursorResult[Any]:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        raise ConfigError(_("Case claims need SQLite or PostgreSQL, not {dialect}: change RSAD_DB_URL.").format(
                              dialect=dialect))
    return session.execute(dialect_insert(CaseClaim).values(**row)
                           .on_conflict_do_nothing(index_elements=["case_id"]))


def claim(session: Session, case_id: int, analyst: str, minutes: int,
          now: datetime | None = None) -> dict[str, Any]:
    """Take or renew ``analyst``'s claim on a case; say who holds it and until when.

    Taking a case lets go of the analyst's other claims: a claim means "the case I have open".
    """
    now = now or utcnow()
    until = now + timedelta(minutes=minutes)
    # Writes come first: on SQLite the first one takes the write lock before anything is read.
    taken = session.execute(
        update(CaseClaim)
        .where(CaseClaim.case_id == case_id, or_(CaseClaim.analyst == analyst, CaseClaim.expires_at <= now))
        .values(claimed_at=case((CaseClaim.analyst == analyst, CaseClaim.claimed_at), else_=now),
                analyst=analyst, expires_at=until)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not taken:
        try:
            taken = _insert_if_absent(session, {"case_id": case_id, "analyst": analyst, "claimed_at": now,
                                                "expires_at": until}).rowcount == 1
        except IntegrityError:  # the foreign key: no such case
            raise NotFoundError(_("No case with id {case_id}.").format(case_id=case_id)) from None
    if taken:
        session.execute(delete(CaseClaim).where(CaseClaim.analyst == analyst, CaseClaim.case_id != case_id)
                        .execution_options(synchronize_session=False))
        return {"case_id": case_id, "analyst": analyst, "expires_at": until, "mine": True}
    holder, expires = session.execute(
        select(CaseClaim.analyst, CaseClaim.expires_at).where(CaseClaim.case_id == case_id)).one()
    return {"case_id": case_id, "analyst": holder, "expires_at": as_utc(expires), "mine": False}


def release(session: Session, case_ids: Sequence[int], analyst: str) -> int:
    """Drop ``analyst``'s claims on these cases (others' claims stay)."""
    ids = [int(c) for c in case_ids]
    if not ids:
        return 0
    return session.execute(delete(CaseClaim).where(CaseClaim.case_id.in_(ids), CaseClaim.analyst == analyst)
                           .execution_options(synchronize_session=False)).rowcount


def release_all(session: Session, analyst: str) -> int:
    """Drop every claim ``analyst`` holds (on sign-out)."""
    return session.execute(delete(CaseClaim).where(CaseClaim.analyst == analyst)
                           .execution_options(synchronize_session=False)).rowcount


def held_by_others(session: Session, case_ids: Sequence[int], analyst: str,
                   now: datetime | None = None) -> dict[int, tuple[str, datetime]]:
    """{case id: (holder, until)} for those cases another analyst has claimed and not let expire."""
    ids = [int(c) for c in case_ids]
    now = now or utcnow()
    rows = session.execute(select(CaseClaim.case_id, CaseClaim.analyst, CaseClaim.expires_at).where(
        CaseClaim.case_id.in_(ids), CaseClaim.analyst != analyst, CaseClaim.expires_at > now))
    return {cid: (who, as_utc(until)) for cid, who, until in rows}
