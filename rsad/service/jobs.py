"""Retraining jobs for the pages and the CLI: start one (a detached process), watch, stop, and
``run`` (what that process does); ``start_first_model`` trains a project's first version from
a labeled batch and scores that batch with it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rsad.auth.users import User
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.projects import MIN_PER_CLASS
from rsad.errors import InputError, StateError
from rsad.i18n import _
from rsad.model.versions import VersionInfo, active_version, load_classifier
from rsad.ops.precompute import explain_first
from rsad.ops.scoring import score_batch
from rsad.progress import ProgressFn, no_progress
from rsad.review.trainset import assemble
from rsad.training import runner
from rsad.training.jobs import LIVE, RetrainParams, get, latest, recent, start, stop

__all__ = [
    "LIVE",
    "RetrainParams",
    "get",
    "latest",
    "recent",
    "run",
    "start",
    "start_first_model",
    "stop",
]


def _score_after(store: Store, version: VersionInfo, batch: str, progress: ProgressFn) -> str:
    info = score_batch(store, batch, model=version.name, progress=progress)
    return _("Scored batch {batch!r} with {model}: {rows:,} cases, {flagged:,} flagged at {threshold:.3f}").format(
        batch=info["batch"], model=info["model"], rows=info["rows"], flagged=info["flagged"],
        threshold=info["threshold"])


def _explain_after_promote(store: Store, version: VersionInfo, progress: ProgressFn) -> str:
    info = explain_first(store, lambda: load_classifier(store, version), progress=progress)
    return _("Explained the first {n} cases of the Review queue with {model} ({computed} computed).").format(
        n=info["cases"], model=version.name, computed=info["computed"])


def run(store: Store, job_id: int, *, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Run a queued job in this process (``rsad jobs run ID``); a job with a batch to score
    scores it with the new version before it is done, and a job that promotes its version
    explains the first cases of the Review queue with it."""
    return runner.run(store, job_id, progress=progress, after=_score_after, after_promote=_explain_after_promote)


def start_first_model(store: Store, batch: str | int, *, user: User, params: RetrainParams | None = None,
                      spawn: bool = True) -> dict[str, Any]:
    """Train the project's first model from its labels (the batch's and any others) in the
    background, then score ``batch`` with it. Refused when the project already has a model or lacks
    labels of either class. ``params.epochs`` 0 (or no params): epochs by the number of labels."""
    if active_version(store) is not None:
        raise StateError(_("Project {project_name!r} already has an active model: retrain it on the Models page "
                           "instead.").format(project_name=store.project_name))
    with store.session() as s:  # an unknown batch is refused now, not after the training
        batch = q.get_batch(s, batch, project_id=store.project_id).name
    table = assemble(store).table()  # a project without labels is refused before a job is recorded
    counts = table["label"].value_counts()
    if counts.get(1, 0) < MIN_PER_CLASS or counts.get(0, 0) < MIN_PER_CLASS:
        raise InputError(_("The first model needs labels of both classes, at least {MIN_PER_CLASS} of each: "
                           "project {project_name!r} has {anomalies} anomaly and {normal} normal. Label more cases "
                           "(the Label-to-start page), or upload labeled ones.").format(
                             MIN_PER_CLASS=MIN_PER_CLASS, project_name=store.project_name, anomalies=counts.get(1, 0),
                             normal=counts.get(0, 0)))
    params = params or RetrainParams()
    if not params.epochs:  # 0: the first model's recipe, by the number of labels
        params = replace(params, epochs=first_model_epochs(len(table)))
    return start(store, replace(params, start_from="base", score_batch=batch), user=user, spawn=spawn)


def first_model_epochs(labels: int) -> int:
    """Epochs for a project's first model: a few hundred labels need several passes (early stopping
    ends them when validation stops improving), a big labeled set one (the Retrain form's recipe).
    Measured in docs/benchmarks.md ("First model of a project")."""
    return 4 if labels <= 2_000 else 2 if labels <= 5_000 else 1
