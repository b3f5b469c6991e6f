"""The store's table of case vectors: what similar cases (rsad.ops.similar) compare.

Declared in the one metadata with the rest (``orm_base.Base``); ``orm`` re-exports it.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from rsad.data.orm_base import Base


class CaseEmbedding(Base):
    """One case's pooled vector under one model version (the vector the classification head
    read when that version scored it): ``dim`` little-endian float16 values in ``vector``.
    float16 halves the store's bytes and moves a cosine by about 1e-5; plain bytes work the
    same on SQLite and PostgreSQL, and the index is built in memory from them (decision 0026)."""

    __tablename__ = "case_embeddings"
    __table_args__ = (Index("ix_case_embeddings_case_id", "case_id"),)

    # The version first: the index reads every vector of one version, in case order.
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                                  primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
