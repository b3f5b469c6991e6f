"""The store's table about an investigation's course: each case's lifecycle state.

Declared in the one metadata with the rest (``orm_base.Base``); ``orm`` re-exports it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rsad.data.orm_base import Base, utcnow

CASE_STATES = ("open", "in_review", "escalated", "closed")


class CaseState(Base):
    """Where a case stands (rsad.review.case_state): open, in review, escalated or closed, who it is
    assigned to, why it was closed and why it was escalated. A case without a row is open and
    unassigned, so stores from before this table need no backfill. ``revision`` grows with every
    change: a move is written only if the row is still the one its maker saw."""

    __tablename__ = "case_states"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'in_review', 'escalated', 'closed')", name="ck_case_states_state"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    closing_reason: Mapped[str] = mapped_column(String(40), default="")
    closing_note: Mapped[str] = mapped_column(Text, default="")
    escalation_note: Mapped[str] = mapped_column(Text, default="")
    escalated_by: Mapped[str] = mapped_column(String(200), default="")
    escalated_at: Mapped[datetime | None] = mapped_column()
    # When it was last reopened; None: open since its batch came in (the age counts from then).
    opened_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
