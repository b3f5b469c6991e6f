"""The label store's tables (SQLAlchemy 2.0 declarative style).

The schema itself is created and upgraded by the Alembic migrations in ``rsad/data/migrations``;
these classes must match them (``tests/test_store.py`` checks that autogenerate finds no diff).
The tables about people (claims, audit, sessions, preferences) are in ``orm_access``, the label
audit's findings in ``orm_labels``, the cases' lifecycle states in ``orm_cases``, case vectors in
``orm_vectors``; all share ``orm_base.Base`` and this module re-exports them, so ``rsad.data.orm`` names every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from rsad.data.orm_access import AuditEvent, CaseClaim, UserPref, VerdictSubmission, WebSession
from rsad.data.orm_base import Base, as_utc, utcnow
from rsad.data.orm_cases import CaseState
from rsad.data.orm_labels import LabelIssue
from rsad.data.orm_rings import Ring, RingMember
from rsad.data.orm_vectors import CaseEmbedding
from rsad.i18n import _

__all__ = ["Attribution", "AuditEvent", "Base", "Batch", "BatchCheck", "Case", "CaseClaim", "CaseEmbedding",
           "CaseState", "LabelIssue", "ModelEvent", "ModelVersion", "Project", "Ring", "RingMember", "Score",
           "ThresholdChange", "TrainingJob", "UserPref", "Verdict", "VerdictSubmission", "WebSession", "as_utc",
           "utcnow"]

DEFAULT_PROJECT_ID = 1  # migration 0006 moved everything from before projects into it


class Project(Base):
    """One detection task (fake orders, spam comments, ...): it owns its batches, model versions
    and training jobs, and through them its cases, labels and thresholds."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("name", name="uq_projects_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    base_model: Mapped[str] = mapped_column(String(1000), default="")  # empty: RSAD_BASE_MODEL
    reason_codes: Mapped[list[str]] = mapped_column(default=list)  # empty: RSAD_REASON_CODES
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. start_per_class
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Batch(Base):
    """One uploaded file (or generated demo table): a set of cases scored together."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_batches_project_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploader: Mapped[str] = mapped_column(String(200))
    row_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Rows of the file that were skipped and why ({"skipped": [...], "label_map": ...}); None: older batch
    ingest_report: Mapped[dict[str, Any] | None] = mapped_column()

    cases: Mapped[list[Case]] = relationship(back_populates="batch", passive_deletes=True)


class Case(Base):
    """One behavior record to triage: the text the model reads plus everything else as metadata."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("batch_id", "external_id", name="uq_cases_batch_external"),
        CheckConstraint("given_label IN (0, 1)", name="ck_cases_given_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The label the file came with (1 anomaly, 0 normal); None for an unlabeled case.
    given_label: Mapped[int | None] = mapped_column(Integer)
    # Position in the "label to start" queue (clusters of the base model's embeddings); None: not ranked
    coverage_rank: Mapped[int | None] = mapped_column(Integer)

    batch: Mapped[Batch] = relationship(back_populates="cases")


class ModelVersion(Base):
    """A fine-tuned model folder in the registry."""

    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('candidate', 'active', 'retired')", name="ck_model_versions_status"
        ),
        UniqueConstraint("project_id", "name", name="uq_model_versions_project_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(1000))
    base_model: Mapped[str] = mapped_column(String(1000))
    train_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_hash: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    threshold: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="candidate", index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Temperature fitted on the evaluation set (None: not calibrated); display only, scores stay raw.
    temperature: Mapped[float | None] = mapped_column(Float)


class Score(Base):
    """P(anomaly) of one case under one model version."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("case_id", "model_version_id", name="uq_scores_case_model"),
        # The review queue filters by model and sorts by score.
        Index("ix_scores_model_score", "model_version_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """An analyst's decision on a case. Append-only: a newer verdict supersedes older ones."""

    __tablename__ = "verdicts"
    __table_args__ = (
        CheckConstraint("label IN ('anomaly', 'normal', 'unsure')", name="ck_verdicts_label"),
        Index("ix_verdicts_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    analyst: Mapped[str] = mapped_column(String(200), index=True)
    # What the analyst saw when deciding: kept even if that version is retired later.
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    threshold: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The ring this verdict was recorded on, as one of its members (None: judged on its own).
    ring_id: Mapped[int | None] = mapped_column(ForeignKey("rings.id", name="fk_verdicts_ring_id"))


@event.listens_for(Verdict, "before_update")
def _verdicts_are_append_only(mapper: Mapper[Verdict], connection: Connection, target: Verdict) -> None:
    raise ValueError(_("Verdicts are append-only: add a new verdict instead of changing one."))


class Attribution(Base):
    """Cached token attributions of one case under one model version and explain settings."""

    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("case_id", "model_version_id", "settings_key", name="uq_attributions_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    settings_key: Mapped[str] = mapped_column(String(100))  # e.g. "lig:n50:len128"
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThresholdChange(Base):
    """One save of a version's alert threshold: who, when, from what, to what, and why."""

    __tablename__ = "threshold_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                                  index=True)
    old_threshold: Mapped[float] = mapped_column(Float)
    new_threshold: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(100), default="manual")  # e.g. "capacity=300"
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelEvent(Base):
    """Registry history: registration, promotion, rollback (who, when, why)."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"),
                                                  index=True)
    action: Mapped[str] = mapped_column(String(20))  # register | promote | rollback
    previous_active_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingJob(Base):
    """A retraining run; its state lives here so every page (and process) can show it."""

    __tablename__ = "training_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'stopped')",
                        name="ck_training_jobs_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    eta_s: Mapped[float | None] = mapped_column(Float)
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    version_name: Mapped[str | None] = mapped_column(String(100))
    pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class BatchCheck(Base):
    """How foreign a batch looked to the version that scored it: its flagged share against the
    share on the version's validation set, the score distribution's shift (PSI, KS) and the share
    of tokens the tokenizer does not know. One row per batch and version; Overview charts them."""

    __tablename__ = "batch_checks"
    __table_args__ = (UniqueConstraint("batch_id", "model_version_id", name="uq_batch_checks_batch_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    rows: Mapped[int] = mapped_column(Integer)
    flagged_share: Mapped[float] = mapped_column(Float)
    reference_flagged_share: Mapped[float | None] = mapped_column(Float)
    psi: Mapped[float | None] = mapped_column(Float)
    ks: Mapped[float | None] = mapped_column(Float)
    unknown_token_share: Mapped[float | None] = mapped_column(Float)
    foreign: Mapped[bool] = mapped_column()
    reasons: Mapped[list[str]] = mapped_column(default=list)  # one sentence per check that fired
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
