"""Beyond one machine: scoring on Ray (``rsad score --engine ray``), recorded as a job so the
app's job panel shows it and its Stop button (or ``rsad jobs stop``) ends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data.db import Store
from rsad.i18n import _
from rsad.model.ray_env import ray_address
from rsad.ops.ray_scoring import score_batch_ray, score_file_ray
from rsad.progress import ProgressFn, no_progress
from rsad.training.job_row import job_row

__all__ = ["ray_address", "score_batch_on_ray", "score_file_on_ray"]


def _echo(job: Any, progress: ProgressFn) -> ProgressFn:
    def both(done: int, total: int, message: str) -> None:
        job.progress(done, total, message)
        progress(done, total, message)
    return both


def score_batch_on_ray(store: Store, batch: str | int, *, user: User, progress: ProgressFn = no_progress,
                       **options: Any) -> dict[str, Any]:
    """:func:`rsad.ops.ray_scoring.score_batch_ray` (same options) as a job in the job panel."""
    actor = policies.authorize(user, policies.Action.UPLOAD).name
    params = {"engine": "ray", "batch": str(batch), "workers": options.get("workers", 1),
              "address": options.get("address") or "local"}
    with job_row(store, actor=actor, kind="score", params=params,
                 message=_("scoring batch {batch} on Ray").format(batch=batch)) as job:
        info = score_batch_ray(store, batch, progress=_echo(job, progress), **options)
        job.result = _("Scored batch {batch!r} on Ray with {model} ({workers} workers): {rows:,} cases, "
                       "{scored:,} now, {flagged:,} flagged").format(
            batch=info["batch"], model=info["model"], workers=info["workers"], rows=info["rows"],
            scored=info["scored_now"], flagged=info["flagged"])
    return info


def score_file_on_ray(store: Store, source: Path, out: Path, *, user: User, progress: ProgressFn = no_progress,
                      **options: Any) -> dict[str, Any]:
    """:func:`rsad.ops.ray_scoring.score_file_ray` (same options) as a job in the job panel."""
    actor = policies.authorize(user, policies.Action.UPLOAD).name
    params = {"engine": "ray", "input": str(source), "out": str(out), "workers": options.get("workers", 1)}
    with job_row(store, actor=actor, kind="score", params=params,
                 message=_("scoring {path} on Ray").format(path=source.name)) as job:
        info = score_file_ray(store, source, out, progress=_echo(job, progress), **options)
        job.result = _("Scored {rows:,} rows of {path} on Ray with {model} into {out}").format(
            rows=info["rows"], path=source.name, model=info["model"], out=out)
    return info
