"""The audit log: sign-ins (failed ones too), sign-outs, unlocks, batch deletions.

Functions take the session first and never commit. Lockouts are computed from the sign-in
rows, so they hold across browser sessions, server restarts and processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsad.data.orm import AuditEvent, as_utc, utcnow

LOCKED = "locked"  # detail of a refused attempt: it does not count as a failure itself


def add_event(session: Session, action: str, subject: str, *, actor: str, ok: bool, detail: str = "",
              now: datetime | None = None) -> None:
    session.add(AuditEvent(action=action, subject=subject[:200], actor=actor[:200], ok=ok, detail=detail,
                           created_at=now or utcnow()))
    session.flush()


def locked_until(session: Session, subject: str, *, max_failures: int, lock_s: int,
                 now: datetime | None = None) -> datetime | None:
    """When ``subject`` may try again, or None when it may try now.

    ``max_failures`` failed sign-ins within ``lock_s`` seconds of each other, since the last
    success or unlock, lock the name until ``lock_s`` seconds after the last of them. Refused
    attempts are logged but do not count, so they cannot extend the lock.
    """
    now = now or utcnow()
    reset = session.scalar(select(func.max(AuditEvent.created_at)).where(
        AuditEvent.subject == subject, AuditEvent.ok.is_(True), AuditEvent.action.in_(("login", "unlock"))))
    query = (select(AuditEvent.created_at)
             .where(AuditEvent.action == "login", AuditEvent.subject == subject, AuditEvent.ok.is_(False),
                    AuditEvent.detail != LOCKED)
             .order_by(AuditEvent.created_at.desc()).limit(max_failures))
    if reset is not None:
        query = query.where(AuditEvent.created_at > reset)
    failures = [as_utc(t) for t in session.scalars(query)]
    if len(failures) < max_failures:
        return None
    newest, oldest = failures[0], failures[-1]
    until = newest + timedelta(seconds=lock_s)
    return until if newest - oldest < timedelta(seconds=lock_s) and now < until else None


def events(session: Session, *, action: str | None = None, subject: str | None = None,
           limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit rows first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if subject:
        query = query.where(AuditEvent.subject == subject)
    return [{"created_at": as_utc(e.created_at), "action": e.action, "subject": e.subject, "actor": e.actor,
             "ok": e.ok, "detail": e.detail} for e in session.scalars(query)]
