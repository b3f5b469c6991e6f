"""The saved alert threshold of a version and its history (session first, never commits)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsad.data.orm import ModelVersion, ThresholdChange
from rsad.errors import InputError
from rsad.i18n import _


def set_threshold(session: Session, version: ModelVersion, threshold: float, *, changed_by: str,
                  method: str = "manual", reason: str = "") -> ThresholdChange:
    """Change a version's alert threshold and record who changed it, from what, and why."""
    if not (0.0 <= threshold <= 1.0 + 1e-9):
        raise InputError(_("A threshold is a score between 0 and 1 (got {threshold}).").format(threshold=threshold))
    if not changed_by.strip():
        raise InputError(_("Say who is changing the threshold."))
    change = ThresholdChange(model_version_id=version.id, old_threshold=version.threshold,
                             new_threshold=float(threshold), method=method[:100], reason=reason,
                             changed_by=changed_by.strip())
    version.threshold = float(threshold)
    session.add(change)
    session.flush()
    return change


def threshold_history(session: Session, model_version_id: int) -> list[ThresholdChange]:
    return list(session.scalars(select(ThresholdChange).where(
        ThresholdChange.model_version_id == model_version_id).order_by(ThresholdChange.id.desc())))
