"""The store's tables about rings: groups of flagged cases of one batch that share an entity
(a device, an IP, a shop...) within a time window, or whose texts are near-duplicates.

Declared in the one metadata with the rest (``orm_base.Base``); ``orm`` re-exports them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rsad.data.orm_base import Base, utcnow


class Ring(Base):
    """One ring found among a batch's flagged cases under one model version (rsad.ops.rings).

    Rings are recomputed on demand; a ring found again with the same members keeps its id (so
    links and the verdicts recorded on it stay valid), one no longer found is retired, not
    deleted: verdicts keep pointing at the ring they were recorded on."""

    __tablename__ = "rings"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1000))  # what the members share: "device_id=dev-1; near-duplicate text"
    size: Mapped[int] = mapped_column(Integer)
    mean_score: Mapped[float] = mapped_column(Float)
    first_at: Mapped[datetime | None] = mapped_column()  # the members' earliest and latest time, if known
    last_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()  # set when a recomputation no longer finds it


class RingMember(Base):
    """One case of a ring."""

    __tablename__ = "ring_members"

    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True)
