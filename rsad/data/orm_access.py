"""The store's tables about people: case claims, the audit log, verdict submissions, browser
sessions and each user's preferences (declared with the rest in one metadata, see ``orm``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rsad.data.orm_base import Base, utcnow


class CaseClaim(Base):
    """Who has a case open in Review, and until when. One row per case: the primary key makes
    taking a claim atomic (a second insert conflicts), on SQLite and PostgreSQL alike."""

    __tablename__ = "case_claims"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    analyst: Mapped[str] = mapped_column(String(200), index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """Sign-ins (failed ones too), sign-outs, unlocks and batch deletions. The sign-in rows also
    decide lockouts, so a new browser session or a server restart cannot reset them."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_subject", "action", "subject", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40))  # login | logout | unlock | delete_batch
    subject: Mapped[str] = mapped_column(String(200))  # the user name tried, the batch deleted
    actor: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerdictSubmission(Base):
    """One submitted verdict form (bulk or single): its key makes a second press of the same
    form write nothing. Inserted in the verdicts' own transaction; the primary key decides a
    race between two presses on SQLite and PostgreSQL alike."""

    __tablename__ = "verdict_submissions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    analyst: Mapped[str] = mapped_column(String(200))
    cases: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A browser sign-in: the HttpOnly cookie holds a random token, this row its SHA-256, so a
    sign-in survives a reload and a server restart until it expires or the user signs out."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_name: Mapped[str] = mapped_column(String(200), index=True)
    method: Mapped[str] = mapped_column(String(20), default="password")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()


class UserPref(Base):
    """One remembered choice of one user (the project they work in, say): kept in the store so it
    follows them to another browser and survives a server restart."""

    __tablename__ = "user_prefs"

    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
