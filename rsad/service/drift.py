"""Foreign batches and drift for the pages and the CLI: the checks made when batches were scored
(rsad.ops.drift_check), per batch and across a project's batches, and the warning they give."""

from __future__ import annotations

from typing import Any

from rsad.data.db import Store
from rsad.evaluation import drift, drift_log
from rsad.i18n import N_, _
from rsad.model import versions

__all__ = ["ADVICE", "batch_check", "batch_checks", "describe", "warning_text"]

# Marked, not translated here: callers translate it where it is shown (``_(ADVICE)``).
ADVICE = N_("Its scores may mean little: train a model for this data (a project of its own) or check the file.")


def batch_checks(store: Store, model: str | None = None) -> list[dict[str, Any]]:
    """The checks a version (default: the active one; none: []) made of this project's batches,
    oldest upload first: batch_id, batch, uploaded_at, model, rows, flagged_share,
    reference_flagged_share, psi, ks, unknown_token_share, foreign, reasons, checked_at."""
    with store.session() as s:
        if model is None:
            version = versions.active_model(s, project_id=store.project_id)
            if version is None:
                return []
        else:
            version = versions.get_model_version(s, model, project_id=store.project_id)
        return drift_log.project_checks(s, store.project_id, version.id)


def batch_check(store: Store, batch_id: int, model: str | None = None) -> dict[str, Any] | None:
    """The check a version (default: the active one) made of a batch of this project, or None."""
    with store.session() as s:
        version = (versions.active_model(s, project_id=store.project_id) if model is None
                   else versions.get_model_version(s, model, project_id=store.project_id))
        if version is None:
            return None
        found = drift_log.batch_check(s, batch_id, version.id)
    return found


def describe(check: dict[str, Any]) -> str:
    """A check's numbers in one line, e.g. 'flagged 68% of 400 vs 12% on validation; score shift
    PSI 1.92, KS 0.61; unknown tokens 0.4%'."""
    return drift.summary(check)


def warning_text(batch: str, model: str, check: dict[str, Any]) -> str:
    """The warning for a foreign batch (the CLI prints it after 'Warning: ')."""
    return _("batch {batch} looks foreign to model {model}: {numbers}.").format(
        batch=repr(batch), model=model, numbers=describe(check)) + " " + _(ADVICE)

