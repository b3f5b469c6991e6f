"""The training-job runner: what ``rsad jobs run ID`` does in its detached process.

It claims a queued job, then assembles the training set, fine-tunes and registers a
candidate and compares it with the version active when the job started
(:mod:`rsad.training.versus`), writing progress (steps, ETA), a heartbeat every few seconds and a
log into the job's row. Any failure marks the job failed with its log and removes the half-saved version
folder; a stop someone asked for (:func:`rsad.training.jobs.stop`, a SIGTERM) marks it stopped and
cleans up the same way; a kill -9 is caught later by :func:`rsad.training.jobs.reap`.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from rsad.data.db import Store
from rsad.data.orm import Project, TrainingJob, utcnow
from rsad.errors import NotFoundError, RsadError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.card import TrainConfig
from rsad.model.ray_env import ray_address
from rsad.model.registry import clean_partial
from rsad.model.versions import VersionInfo
from rsad.progress import ProgressFn, Rate, no_progress, stop_handler_installed
from rsad.review.trainset import assemble
from rsad.training import train
from rsad.training.jobs import (
    HEARTBEAT_S,
    STOP_FROM,
    STOPPED_BY,
    WRITE_EVERY_S,
    RetrainParams,
    get,
    init_from,
    log_line,
    set_fields,
    stopped_fields,
    tmp_tag,
)
from rsad.training.ray_train import train_on_ray
from rsad.training.versus import compare_with_active, promote_if_better


class _Reporter:
    """Turns training progress into job-row updates (throttled), with an ETA and a log."""

    def __init__(self, store: Store, job_id: int, echo: ProgressFn) -> None:
        self.store, self.job_id, self.echo = store, job_id, echo
        self.rate = Rate()
        self.last_write = 0.0
        self.epoch = ""

    def log(self, line: str) -> None:
        # Appended in SQL: a stop request or the reaper may add lines of their own meanwhile.
        set_fields(self.store, self.job_id, log=TrainingJob.log + log_line(line))

    def stage(self, message: str) -> None:
        self.log(message)
        set_fields(self.store, self.job_id, message=message)

    def train(self, done: int, total: int, message: str) -> None:
        if message == "done":  # fine-tuning's last word, untranslated: what follows is ours to say
            message = _("saving and registering the version")
        epoch = message.split(",")[0]
        # Only the per-epoch messages have a comma (every language keeps it): "epoch 2/3, loss ..."
        if "," in message and epoch != self.epoch:
            self.epoch = epoch
            self.log(_("{epoch}: {n:,} steps in all").format(epoch=epoch, n=total))
        eta = self.rate.eta_seconds(done, total) if done < total else 0.0
        self.echo(done, total, message)
        now = time.monotonic()
        if now - self.last_write >= WRITE_EVERY_S or done >= total:
            self.last_write = now
            set_fields(self.store, self.job_id, done=done, total=total, message=message, eta_s=eta)


class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, job_id: int) -> None:
        super().__init__(name=f"heartbeat-job-{job_id}", daemon=True)
        self.store, self.job_id, self.halt = store, job_id, threading.Event()

    def run(self) -> None:
        asked = False
        while not self.halt.wait(HEARTBEAT_S):
            try:
                set_fields(self.store, self.job_id, heartbeat_at=utcnow())
                if not asked and _stop_requested_elsewhere(self.store, self.job_id):
                    asked = True
                    interrupt_self()
            except Exception:  # a locked store for a moment: the next beat retries
                pass


def _stop_requested_elsewhere(store: Store, job_id: int) -> bool:
    """A stop was asked on another machine (another replica), which could not signal this process."""
    with store.session() as s:
        params = (s.get(TrainingJob, job_id).params or {})
    return bool(params.get(STOPPED_BY)) and params.get(STOP_FROM) != socket.gethostname()


def interrupt_self() -> None:
    """SIGTERM to this process, as ``rsad jobs stop`` on this machine sends: ``rsad jobs run``'s handler
    turns it into the stop. Only where that handler is installed (never a test's or the server's process)."""
    if stop_handler_installed():
        os.kill(os.getpid(), signal.SIGTERM)


def _stop_requested_by(store: Store, job_id: int) -> str | None:
    """Who asked this job to stop, if anyone did: an interrupt nobody asked for is a failure."""
    with store.session() as s:
        job = s.get(TrainingJob, job_id)
        return (job.params or {}).get(STOPPED_BY) if job is not None else None


def _failure(exc: BaseException, report: _Reporter) -> str:
    """The one-line error a failed job shows; an unexpected exception also logs its traceback."""
    if isinstance(exc, RsadError):
        return str(exc)
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return _("Interrupted before it finished (no stop was requested: a signal or Ctrl-C).")
    report.log(traceback.format_exc().rstrip())
    return f"{type(exc).__name__}: {exc}"


def _claim(store: Store, job_id: int) -> tuple[Store, RetrainParams, str]:
    """Mark a queued job running in this process: the job's project's store, its params, who started it."""
    now = utcnow()
    with store.session() as s:
        claimed = s.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.status == "queued")
                            .values(status="running", pid=os.getpid(), started_at=now, heartbeat_at=now,
                                    message=_("starting"))).rowcount
        job = s.get(TrainingJob, job_id)
        if job is None:
            raise NotFoundError(_("No training job {job_id}: see `rsad jobs`.").format(job_id=job_id))
        if not claimed:
            raise StateError(_("Training job {job_id} is {status}, not queued: nothing to run.").format(
                                 job_id=job_id, status=job.status))
        params = RetrainParams(**{k: v for k, v in job.params.items() if k in RetrainParams.__dataclass_fields__})
        return store.in_project(s.get(Project, job.project_id).name), params, job.created_by


AfterRegister = Callable[[Store, VersionInfo, str, ProgressFn], str]  # (store, version, batch, progress)
AfterPromote = Callable[[Store, VersionInfo, ProgressFn], str]  # (store, version now active, progress)


def _config(store: Store, params: Any) -> TrainConfig:
    start_version = init_from(store, params)
    return TrainConfig(base_model=params.base_model, init_from=start_version, epochs=params.epochs,
                       max_length=params.max_length, batch_size=params.batch_size,
                       learning_rate=params.learning_rate, seed=params.seed,
                       # the epochs the form (or the first model's rule) chose, as measured
                       # (0017): no small-data floor of more epochs (0021)
                       min_steps=0,
                       truncation=params.truncation or train.start_truncation(store, start_version))


def _after_register(store: Store, report: _Reporter, info: VersionInfo, params: Any, against: VersionInfo | None,
                    after: AfterRegister | None, *, actor: str = "", after_promote: AfterPromote | None = None) -> None:
    """Compare the new version with the one active at the start, then the caller's ``after`` step;
    neither fails the job, the version is registered. A job asked to (``promote_if_better``) then
    promotes the version when the comparison found it better, and runs ``after_promote``."""
    if against is not None and against.name != info.name:
        report.stage(_("comparing {name} with {active} on held-out labeled cases").format(
            name=info.name, active=against.name))
    # No step counts: the progress bar stays at the training's end, the message says what runs.
    report.log(compare_with_active(store, info, against))
    if after is not None and params.score_batch:
        report.stage(_("scoring batch {batch} with {name}").format(batch=params.score_batch, name=info.name))
        try:
            report.log(after(store, info, params.score_batch, report.train))
        except RsadError as exc:  # the version stands; the batch can be scored again
            report.log(_("Could not score batch {batch}: {exc} (score it on Upload or with "
                         "`rsad score`).").format(batch=params.score_batch, exc=exc))
    if getattr(params, "promote_if_better", False) and info.status == "candidate":
        # after the scoring: a promoted version's queue is ready the moment it becomes active
        line = promote_if_better(store, info, actor=actor)
        report.log(line)
        if after_promote is not None and versions.active_version(store).name == info.name:
            report.stage(_("explaining the first cases of the queue with {name}").format(name=info.name))
            try:
                report.log(after_promote(store, info, report.train))
            except RsadError as exc:  # the version is active; the page explains cases on demand
                report.log(_("Could not explain ahead: {exc}").format(exc=exc))


def run(store: Store, job_id: int, *, progress: ProgressFn = no_progress,
        after: AfterRegister | None = None, after_promote: AfterPromote | None = None) -> dict[str, Any]:
    """Run a queued job in this process, in the job's project: assemble the set, fine-tune,
    register a version. ``after`` (from a layer above, e.g. scoring a batch with a first model)
    runs once the version is registered, before the job is done; it returns a line for the log."""
    store, params, actor = _claim(store, job_id)
    beat = _Heartbeat(store, job_id)
    beat.start()
    report = _Reporter(store, job_id, progress)
    try:
        against = versions.active_version(store)  # what the new version has to beat, even if promoted meanwhile
        report.log(_("Job {job_id} started by {actor}: pid {pid} on {host}, device {device}; {params}").format(
            job_id=job_id, actor=actor, pid=os.getpid(), host=socket.gethostname(),
            device=versions.device_label(store.settings), params=params))
        report.stage(_("assembling the training set"))
        ts = assemble(store)
        report.log(_("Training set: {description}; hash {hash}").format(description=ts.describe(), hash=ts.hash[:16]))
        for c in ts.conflicts.head(50).to_dict("records"):
            report.log(f"  conflict {c['case_id']}@{c['batch']}: {c['votes']} -> {c['label']} ({c['rule']})")
        config = _config(store, params)
        start_version = config.init_from
        report.stage(_("loading version {name}").format(name=start_version) if start_version
                     else _("loading the base model"))
        if address := ray_address():  # the fine-tuning on Ray; this process stays the job
            report.log(_("Training on Ray at {address}").format(address=address))
            info = train_on_ray(store, address, job_id, ts, config, actor, tmp_tag(job_id), _Reporter)
        else:
            info = train.train_table(store, ts.table(), config=config, created_by=actor, progress=report.train,
                                     training_set=ts, tmp_tag=tmp_tag(job_id))
        m = info.metrics
        report.log(_("Registered {name} ({status}) in {seconds:.0f} s of training: "
                     "validation F1 {f1:.3f}, ROC-AUC {roc_auc:.3f}, PR-AUC {pr_auc:.3f} "
                     "at threshold {threshold:.3f}").format(
                       name=info.name, status=info.status, seconds=m["train_seconds"], f1=m["f1"],
                       roc_auc=m["roc_auc"], pr_auc=m["pr_auc"], threshold=info.threshold))
        _after_register(store, report, info, params, against, after, actor=actor, after_promote=after_promote)
        set_fields(store, job_id, status="done", version_name=info.name, finished_at=utcnow(), eta_s=0.0,
                   message=_("registered {name} as {status}").format(
                       name=info.name, status=versions.get_version(store, info.name).status))
    except BaseException as exc:
        # The interrupt a stop raises can surface wrapped in another exception (e.g. from a library's
        # worker), so a recorded stop request decides, not the exception's type.
        stopped_by = _stop_requested_by(store, job_id)
        if stopped_by:
            report.log(_("Stopped by {actor} ({kind}): no version registered.").format(
                actor=stopped_by, kind=type(exc).__name__))
            set_fields(store, job_id, **stopped_fields(stopped_by))
        else:
            error = _failure(exc, report)
            report.log(_("Failed: {error}").format(error=error))
            set_fields(store, job_id, status="failed", error=error, finished_at=utcnow(), eta_s=None)
        clean_partial(store.models_dir, tmp_tag(job_id))
        if not isinstance(exc, Exception):
            raise
    finally:
        beat.halt.set()
    return get(store, job_id)
