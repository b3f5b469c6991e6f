"""Retraining jobs: fine-tuning in a detached process whose state lives in the store.

:func:`start` records a queued job and spawns ``python -m rsad.cli jobs run ID`` in a new
session, so the job outlives the page, the browser tab and the server that started it.
The runner (:func:`rsad.training.runner.run`) writes progress, ETA, a heartbeat and a log into its row. Every
read of the jobs first marks those whose process is gone or silent as failed (keeping
their log) and removes their half-saved version folders. One job at a time. A job someone
stopped (:func:`stop`) ends 'stopped', not failed: the request is kept in its params as
``stopped_by``, so the runner, or the reaper when the process died of the signal, can tell.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from rsad.auth import policies
from rsad.auth.users import User
from rsad.config import PROJECT_ROOT, TRUNCATIONS
from rsad.data import locks
from rsad.data.db import Store
from rsad.data.orm import Project, TrainingJob, utcnow
from rsad.errors import InputError, NotFoundError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.registry import clean_partial
from rsad.progress import format_seconds

HEARTBEAT_S = 5.0  # the runner's heartbeat period (rsad.training.runner)
STALE_S = 120.0  # no heartbeat for this long: the runner hung or its machine went away
START_TIMEOUT_S = 300.0  # queued this long without a heartbeat: the runner never came up
WRITE_EVERY_S = 1.0  # progress rows written at most this often
LIVE = ("queued", "running")
STOPPED_BY = "stopped_by"  # params key: who asked the job to stop (set by stop())
STOP_FROM = "stop_from"  # params key: the machine the stop was asked on (another replica's, maybe)


@dataclass
class RetrainParams:
    """What the Retrain form asks. The defaults are the demo's measured starter recipe."""

    start_from: str = "base"  # base model, "active" (continue from the active version) or a version name
    base_model: str = ""  # with start_from "base": an HF folder or hub id; empty = the settings' base model
    epochs: int = 1
    max_length: int = 128
    batch_size: int = 16
    learning_rate: float = 5e-5
    seed: int = 42
    truncation: str = ""  # texts over max_length: one of TRUNCATIONS; empty = as the version it starts from
    score_batch: str = ""  # a batch to score with the new version once it is registered (a first model)
    promote_if_better: bool = False  # only when better on held-out cases (rsad.training.versus)

    def check(self) -> None:
        if not self.start_from.strip():
            raise InputError(_("Start from 'base' (the base model), 'active' or a version name."))
        if not 1 <= self.epochs <= 20:
            raise InputError(_("Epochs must be between 1 and 20."))
        if not 16 <= self.max_length <= 512:
            raise InputError(_("Max length must be between 16 and 512 tokens (BERT models read at most 512)."))
        if not 1 <= self.batch_size <= 256 or not 0 < self.learning_rate < 1:
            raise InputError(_("Batch size must be 1-256 and the learning rate between 0 and 1."))
        if self.truncation and self.truncation not in TRUNCATIONS:
            raise InputError(_("Unknown truncation {truncation!r}: use one of {TRUNCATIONS}.").format(
                                 truncation=self.truncation, TRUNCATIONS=', '.join(TRUNCATIONS)))


def _aware(ts: datetime | None) -> datetime | None:  # SQLite returns naive datetimes; rsad writes UTC
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def _info(job: TrainingJob) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "done": job.done, "total": job.total,
            "fraction": min(1.0, job.done / job.total) if job.total else 0.0, "message": job.message,
            "eta_s": job.eta_s, "log": job.log, "error": job.error, "version_name": job.version_name,
            "pid": job.pid, "params": dict(job.params or {}), "created_by": job.created_by,
            "created_at": _aware(job.created_at), "started_at": _aware(job.started_at),
            "finished_at": _aware(job.finished_at), "heartbeat_at": _aware(job.heartbeat_at),
            "stopped_by": (job.params or {}).get(STOPPED_BY)}


def stopped_fields(actor: str) -> dict[str, Any]:
    """The row of a job that ended because ``actor`` stopped it: no error, it did what was asked."""
    return {"status": "stopped", "error": "", "finished_at": utcnow(), "eta_s": None,
            "message": _("stopped by {actor}; no version registered").format(actor=actor)}


def set_fields(store: Store, job_id: int, **values: Any) -> None:
    with store.session() as s:
        s.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(**values))


def log_line(text: str) -> str:
    """One timestamped line of a job's log (UTC)."""
    return f"{utcnow():%Y-%m-%d %H:%M:%S} {text}\n"


def job_dir(store: Store) -> Path:
    path = store.settings.models_dir / ".jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tmp_tag(job_id: int) -> str:
    return f"job{job_id}"


# --- liveness ----------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child nobody has waited for yet is a zombie: dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _dead_reason(job: TrainingJob, now: datetime) -> str | None:
    beat = _aware(job.heartbeat_at)
    if job.pid and (job.params or {}).get("host") == socket.gethostname() and not _alive(job.pid):
        return _("The training process (pid {pid}) is gone: it was killed or crashed before finishing.").format(
            pid=job.pid)
    if beat is not None and (now - beat).total_seconds() > STALE_S:
        return _("No heartbeat from the training process for {duration}: "
                 "it hung or its machine went away.").format(duration=format_seconds((now - beat).total_seconds()))
    if beat is None and (now - _aware(job.created_at)).total_seconds() > START_TIMEOUT_S:
        return _("The training process never started; see the log below.")
    return None


def _output_tail(store: Store, job_id: int, chars: int = 2_000) -> str:
    path = store.settings.models_dir / ".jobs" / f"job-{job_id}.log"
    if not path.exists():
        return ""
    text = path.read_bytes()[-chars:].decode("utf-8", "replace").strip()
    return "\n" + _("process output (last {n:,} bytes):").format(n=chars) + f"\n{text}" if text else ""


def reap(store: Store) -> list[int]:
    """Mark live-looking jobs whose process is gone or silent as failed, or as stopped when
    someone asked them to stop (the signal can end a runner before it records that itself);
    clean their leftovers."""

    now = utcnow()
    with store.session() as s:
        suspects = [(j.id, _dead_reason(j, now), (j.params or {}).get(STOPPED_BY), project)
                    for j, project in s.execute(select(TrainingJob, Project.name)
                                                .join(Project, Project.id == TrainingJob.project_id)
                                                .where(TrainingJob.status.in_(LIVE))).all()]
    ended = []
    for job_id, reason, stopped_by, project in suspects:
        if reason is None:
            continue
        if stopped_by:
            values = {**stopped_fields(stopped_by), "finished_at": now}
            note = log_line(_("Stopped by {actor}: the training process ended; no version registered.").format(
                actor=stopped_by))
        else:
            values = {"status": "failed", "error": reason, "finished_at": now, "eta_s": None}
            note = log_line(reason + _output_tail(store, job_id))
        # One conditional UPDATE: a runner that finished meanwhile keeps its own status.
        with store.session() as s:
            hit = s.execute(update(TrainingJob).where(TrainingJob.id == job_id, TrainingJob.status.in_(LIVE))
                            .values(**values, log=TrainingJob.log + note)).rowcount
        if hit:
            clean_partial(store.in_project(project).models_dir, tmp_tag(job_id))
            ended.append(job_id)
    return ended


# --- reading -------------------------------------------------------------------------------

def get(store: Store, job_id: int) -> dict[str, Any]:
    reap(store)
    with store.session() as s:
        job = s.get(TrainingJob, job_id)
        if job is None:
            raise NotFoundError(_("No training job {job_id}: see `rsad jobs`.").format(job_id=job_id))
        return _info(job)


def latest(store: Store) -> dict[str, Any] | None:
    """The newest job (after reaping dead ones), or None before the first."""
    return next(iter(recent(store, 1)), None)


def recent(store: Store, limit: int = 10) -> list[dict[str, Any]]:
    reap(store)
    with store.session() as s:
        return [_info(j) for j in s.scalars(select(TrainingJob).where(TrainingJob.project_id == store.project_id)
                                            .order_by(TrainingJob.id.desc()).limit(limit))]


# --- starting ------------------------------------------------------------------------------

@contextmanager
def _start_lock(store: Store) -> Iterator[None]:
    """Serialises check-then-insert across processes: two clicks must not start two jobs."""
    with open(job_dir(store) / ".start.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _spawn(store: Store, job_id: int) -> int:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    with open(job_dir(store) / f"job-{job_id}.log", "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rsad.cli", "jobs", "run", str(job_id)],
                                cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    # Reap the child when it exits so it does not linger as a zombie of this (server) process.
    threading.Thread(target=proc.wait, name=f"wait-job-{job_id}", daemon=True).start()
    return proc.pid


def init_from(store: Store, params: RetrainParams) -> str | None:
    if params.start_from == "base":
        return None
    if params.start_from == "active":
        active = versions.active_version(store)
        if active is None:
            raise StateError(_("There is no active version to continue from: start from the base model."))
        return active.name
    return versions.get_version(store, params.start_from).name


def start(store: Store, params: RetrainParams, *, user: User, spawn: bool = True) -> dict[str, Any]:
    """Queue a retraining job and (with ``spawn``) start its detached runner process (admins only)."""
    created_by = policies.authorize(user, policies.Action.START_RETRAINING).name
    params.check()
    if not created_by.strip():
        raise InputError(_("Say who you are (analyst name) before you start a retraining job."))
    init_from(store, params)  # fails now, not in the runner, when there is nothing to start from
    with _start_lock(store):
        reap(store)
        with store.session() as s:
            locks.hold_in_transaction(s, locks.TRAINING_START)  # replicas on other machines, too
            busy = s.scalar(select(TrainingJob).where(TrainingJob.status.in_(LIVE)).order_by(TrainingJob.id))
            if busy is not None:
                where = (busy.params or {}).get("project", "default")
                raise StateError(_("Training job {id} ({status}, project {where!r}, started by {created_by}) is "
                                   "still going: one training at a time on this machine. Wait for it to finish, "
                                   "or stop it (`rsad --project {where} jobs stop {id}`).").format(
                                     id=busy.id, status=busy.status, where=where, created_by=busy.created_by))
            job = TrainingJob(status="queued", project_id=store.project_id,
                              params={**asdict(params), "host": socket.gethostname(), "project": store.project_name},
                              created_by=created_by.strip(), message=_("waiting for the training process"))
            s.add(job)
            s.flush()
            job_id = job.id
    if spawn:
        try:
            set_fields(store, job_id, pid=_spawn(store, job_id))
        except OSError as exc:
            set_fields(store, job_id, status="failed", finished_at=utcnow(),
                       error=_("Could not start the training process: {exc}").format(exc=exc))
    return get(store, job_id)


def stop(store: Store, job_id: int, *, user: User) -> dict[str, Any]:
    """Ask a running job's process to stop (SIGTERM); it marks itself stopped and cleans up.

    From any replica: a runner on another machine reads the request at its next heartbeat and
    signals itself. Who asked is recorded first, so that whoever ends the row (the runner, or the
    reaper if the signal killed the process) records 'stopped by ...' rather than a failure.
    """
    actor = policies.authorize(user, policies.Action.STOP_TRAINING).name
    job = get(store, job_id)
    if job["status"] not in LIVE:
        raise StateError(_("Training job {job_id} is {status}: nothing to stop.").format(
                             job_id=job_id, status=job['status']))
    with store.session() as s:
        row = s.get(TrainingJob, job_id)
        row.params = {**(row.params or {}), STOPPED_BY: actor, STOP_FROM: socket.gethostname()}
    set_fields(store, job_id, log=TrainingJob.log + log_line(_("stop requested by {actor}").format(actor=actor)))
    if job["pid"] and job["params"].get("host") == socket.gethostname():  # elsewhere: the heartbeat
        with contextlib.suppress(ProcessLookupError):
            os.kill(job["pid"], signal.SIGTERM)
    return get(store, job_id)
