"""Foreign batches and drift for the pages and the CLI: the checks made when batches were scored
(rsad.ops.drift_check), per batch and across a project's batches, and the warning they give."""

from __future__ import annotations

from typing import Any

from rsad.data.db import Store
from rsad.evaluation import drift, drift_log
from rsad.evaluation.vocab import unreadable
from rsad.i18n import N_, _
from rsad.model import versions
from rsad.ops.vocab_check import scoring_warning

__all__ = ["ADVICE", "batch_check", "batch_checks", "describe", "drift_shown", "score_warnings", "unreadable_warning",
           "warning_text"]

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
    PSI 1.92, KS 0.61; unknown tokens 0.4%'. Without the unknown-token clause when the
    unknown-token warning (:func:`unreadable_warning`) is shown beside it: it says that already."""
    if unreadable(check.get("unknown_token_share")):
        check = {**check, "unknown_token_share": None}
    return drift.summary(check)


def unreadable_warning(store: Store, check: dict[str, Any] | None) -> str | None:
    """The warning for a scored batch (a stored check, with ``batch_id`` and ``model``) whose tokens
    the model mostly does not know, naming the share and what to do; None when it reads it."""
    return scoring_warning(store, check["batch_id"], check["model"], check) if check else None


def drift_shown(check: dict[str, Any] | None) -> bool:
    """Whether the foreign-batch warning has something to say beyond the unknown-token warning:
    the check found the batch foreign for a reason other than unknown tokens (or for that alone,
    when the share is not high enough for the unknown-token warning)."""
    if not check or not check["foreign"]:
        return False
    return not unreadable(check.get("unknown_token_share")) or len(check.get("reasons") or []) > 1


def warning_text(batch: str, model: str, check: dict[str, Any]) -> str:
    """The warning for a foreign batch (the CLI prints it after 'Warning: ')."""
    return _("batch {batch!r} looks foreign to model {model}: {numbers}. {advice}").format(
        batch=batch, model=model, numbers=describe(check), advice=_(ADVICE))


def score_warnings(store: Store, info: dict[str, Any]) -> list[str]:
    """The warnings for a batch just scored (:func:`rsad.service.batches.score_batch`'s result):
    the unknown-token one, then the foreign-batch one when it adds something."""
    check = info.get("check")
    if not check:
        return []
    out = [scoring_warning(store, info["batch_id"], info["model"], check)]
    if drift_shown(check):
        out.append(warning_text(info["batch"], info["model"], check))
    return [w for w in out if w]
