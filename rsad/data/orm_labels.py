"""The store's table about the labels themselves: the label-issue audit's findings.

Declared in the one metadata with the rest (``orm_base.Base``); ``orm`` re-exports it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rsad.data.orm_base import Base, utcnow


class LabelIssue(Base):
    """A label the audit doubts (rsad.ops.audit): the case, its label and where it came from at
    audit time, the label the out-of-sample models suggest and how sure they are. The issue's
    status (open, confirmed, corrected, unsure) is not stored: the "second look" verdicts
    recorded after it decide it (rsad.review.label_issues), so it can never disagree with them."""

    __tablename__ = "label_issues"
    __table_args__ = (
        CheckConstraint("given_label IN (0, 1)", name="ck_label_issues_given_label"),
        CheckConstraint("suggested_label IN (0, 1)", name="ck_label_issues_suggested_label"),
        CheckConstraint("label_source IN ('seed', 'verdict')", name="ck_label_issues_label_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    run: Mapped[int] = mapped_column(Integer)  # the audit that found it: 1, 2, ... per project
    given_label: Mapped[int] = mapped_column(Integer)  # the case's label when audited (1 anomaly)
    label_source: Mapped[str] = mapped_column(String(20))  # seed (the upload's) | verdict
    suggested_label: Mapped[int] = mapped_column(Integer)
    p_anomaly: Mapped[float] = mapped_column(Float)  # out of sample (cross-validated)
    quality: Mapped[float] = mapped_column(Float)  # self-confidence: P(given label); low = doubtful
    reason: Mapped[str] = mapped_column(Text, default="")  # one English line, for the record and exports
    features: Mapped[str] = mapped_column(String(200), default="")  # e.g. "tf-idf + embeddings of v3"
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
