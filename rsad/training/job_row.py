"""A job row for work that runs in the calling process (a Ray scoring run, ``rsad score --engine
ray``), so that it shows in the app's job panel beside the training jobs, with their stop and
failure handling: the row carries this process's pid and host (``rsad jobs stop`` and the Stop
button send it SIGTERM), a heartbeat (the reaper marks it failed if the process dies), progress,
and its end: done, stopped (someone asked; what was written is kept) or failed (the error)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rsad.data.db import Store
from rsad.data.orm import TrainingJob, utcnow
from rsad.errors import RsadError
from rsad.i18n import _
from rsad.progress import Rate
from rsad.training.jobs import WRITE_EVERY_S, log_line, set_fields
from rsad.training.runner import _Heartbeat, _stop_requested_by


class JobRow:
    """The row's writer: :meth:`progress` is a ProgressFn (throttled); ``result`` the done message."""

    def __init__(self, store: Store, job_id: int) -> None:
        self.store, self.id = store, job_id
        self.rate, self.last_write, self.result = Rate(), 0.0, ""

    def log(self, line: str) -> None:
        set_fields(self.store, self.id, log=TrainingJob.log + log_line(line))

    def progress(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self.last_write >= WRITE_EVERY_S or done >= total:
            self.last_write = now
            set_fields(self.store, self.id, done=done, total=total, message=message,
                       eta_s=self.rate.eta_seconds(done, total) if done < total else 0.0)


def _ended(store: Store, job: JobRow, exc: BaseException) -> None:
    stopped_by = _stop_requested_by(store, job.id)
    if stopped_by:
        job.log(_("Stopped by {actor}: what was written so far is kept; a rerun continues from there.").format(
            actor=stopped_by))
        set_fields(store, job.id, status="stopped", error="", finished_at=utcnow(), eta_s=None,
                   message=_("stopped by {actor}; what was written is kept").format(actor=stopped_by))
        return
    if isinstance(exc, RsadError):
        error = str(exc)
    elif isinstance(exc, (KeyboardInterrupt, SystemExit)):
        error = _("Interrupted before it finished (no stop was requested: a signal or Ctrl-C).")
    else:
        error = f"{type(exc).__name__}: {exc}"
    job.log(_("Failed: {error}").format(error=error))
    set_fields(store, job.id, status="failed", error=error, finished_at=utcnow(), eta_s=None)


@contextmanager
def job_row(store: Store, *, actor: str, kind: str, params: dict[str, Any], message: str) -> Iterator[JobRow]:
    """Record a running job of ``kind`` (e.g. "score") for the ``with`` block and end it as the
    block ends; an exception is recorded (stopped or failed) and raised on."""
    now = utcnow()
    with store.session() as s:
        row = TrainingJob(status="running", project_id=store.project_id, pid=os.getpid(), created_by=actor,
                          params={**params, "kind": kind, "host": socket.gethostname(),
                                  "project": store.project_name},
                          started_at=now, heartbeat_at=now, message=message)
        s.add(row)
        s.flush()
        job = JobRow(store, row.id)
    job.log(_("Job {job_id} started by {actor}: pid {pid} on {host}; {params}").format(
        job_id=job.id, actor=actor, pid=os.getpid(), host=socket.gethostname(), params=params))
    beat = _Heartbeat(store, job.id)
    beat.start()
    try:
        yield job
    except BaseException as exc:
        _ended(store, job, exc)
        raise
    else:
        job.log(job.result or message)
        set_fields(store, job.id, status="done", finished_at=utcnow(), eta_s=0.0, message=job.result or message)
    finally:
        beat.halt.set()
