"""The stored batch checks (``batch_checks``): one per batch and version, replaced when the batch
is scored again. Session first, never commits (the caller owns the transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, BatchCheck, ModelVersion, utcnow

FIELDS = ("rows", "flagged_share", "reference_flagged_share", "psi", "ks", "unknown_token_share",
          "foreign", "reasons")


def put_check(session: Session, batch_id: int, model_version_id: int, check: dict[str, Any]) -> BatchCheck:
    """Insert or replace the check of (batch, version); ``check`` holds at least :data:`FIELDS`."""
    row = session.scalar(select(BatchCheck).where(BatchCheck.batch_id == batch_id,
                                                  BatchCheck.model_version_id == model_version_id))
    if row is None:
        row = BatchCheck(batch_id=batch_id, model_version_id=model_version_id)
        session.add(row)
    for name in FIELDS:
        setattr(row, name, list(check[name]) if name == "reasons" else check[name])
    row.created_at = utcnow()
    session.flush()
    return row


def _row(check: BatchCheck, batch: Batch, version_name: str) -> dict[str, Any]:
    return {"batch_id": batch.id, "batch": batch.name, "uploaded_at": batch.created_at,
            "model": version_name, **{name: getattr(check, name) for name in FIELDS},
            "reasons": list(check.reasons or []), "checked_at": check.created_at}


def project_checks(session: Session, project_id: int, model_version_id: int) -> list[dict[str, Any]]:
    """The checks a version made of the project's batches, in upload order (oldest first)."""
    rows = session.execute(
        select(BatchCheck, Batch, ModelVersion.name).join(Batch, Batch.id == BatchCheck.batch_id)
        .join(ModelVersion, ModelVersion.id == BatchCheck.model_version_id)
        .where(Batch.project_id == project_id, BatchCheck.model_version_id == model_version_id)
        .order_by(Batch.created_at, Batch.id)).all()
    return [_row(c, b, name) for c, b, name in rows]


def batch_check(session: Session, batch_id: int, model_version_id: int) -> dict[str, Any] | None:
    """The check a version made of one batch, or None."""
    found = session.execute(
        select(BatchCheck, Batch, ModelVersion.name).join(Batch, Batch.id == BatchCheck.batch_id)
        .join(ModelVersion, ModelVersion.id == BatchCheck.model_version_id)
        .where(BatchCheck.batch_id == batch_id, BatchCheck.model_version_id == model_version_id)).first()
    return _row(*found) if found else None
