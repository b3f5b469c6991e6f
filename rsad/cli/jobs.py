"""`rsad jobs ...`: the training jobs (listed, run in this process, stopped); split from
:mod:`rsad.cli.models`, which registers them."""

from __future__ import annotations

import argparse

from rsad.cli.common import acting_user, open_store, sigterm_stops
from rsad.errors import RsadError
from rsad.i18n import _


def not_done(job: dict) -> str:
    """Why a job registered nothing: a stop someone asked for is said as such, not as a failure."""
    if job["status"] == "stopped":
        return _("Training job {id} was stopped by {who}: no version registered.").format(
            id=job["id"], who=job["stopped_by"])
    return _("Training job {id} failed: {error}").format(id=job["id"], error=job["error"])


def cmd_jobs(args: argparse.Namespace) -> None:
    """List recent training jobs with their state, progress and result."""
    from rsad.progress import format_seconds
    from rsad.service.jobs import recent

    jobs = recent(open_store(), args.limit)
    if not jobs:
        print(_("No training jobs yet: `rsad train --from-store` or Retrain on the Models page."))
    for j in jobs:
        state = j["status"]
        if j["status"] == "running" and j["total"]:
            eta = _(", about {eta} left").format(eta=format_seconds(j["eta_s"])) if j["eta_s"] is not None else ""
            state += f" {100 * j['fraction']:.0f}%{eta}"
        result = j["version_name"] or j["error"] or j["message"]
        print(f"{j['id']:4} {j['created_at']:%Y-%m-%d %H:%M} {j['created_by']:12} {state:28} {result}")


def cmd_jobs_run(args: argparse.Namespace) -> None:
    """Run a queued training job in this process (the app starts this for you, detached)."""
    from rsad.service.jobs import run

    with sigterm_stops():  # `rsad jobs stop` / the Stop button: end cleanly as stopped
        job = run(open_store(), args.job_id)
    if job["status"] != "done":
        raise RsadError(not_done(job))
    print(_("Training job {id} done: {version}.").format(id=job["id"], version=job["version_name"]))


def cmd_jobs_stop(args: argparse.Namespace) -> None:
    """Stop a running training job (it is marked stopped and leaves no version behind)."""
    from rsad.service.jobs import stop

    job = stop(open_store(), args.job_id, user=acting_user(args))
    print(_("Asked training job {id} (pid {pid}) to stop.").format(id=job["id"], pid=job["pid"]))
