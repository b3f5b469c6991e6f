"""The demo bootstrap of a server process, started when the server starts, not at a first page open.

One :class:`BackgroundJob` per process and store (``serve.py`` starts it at import, which Streamlit
does once when the server starts; ``app.py`` finds the same job on every page run). It builds the
demo (:func:`rsad.ops.demo.bootstrap`), printing progress lines with an ETA to the server's
terminal as well as to the page, then runs :func:`rsad.ops.demo.follow_up` in a second thread: the
first cases of Review explained, the fine-tuned candidate started as a training job.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from rsad.auth import users as auth
from rsad.config import Settings
from rsad.data.db import Store
from rsad.i18n import _
from rsad.ops.background import BackgroundJob
from rsad.ops.demo import bootstrap, follow_up, follow_up_lines, needs_bootstrap
from rsad.progress import Lines, ProgressFn

_JOBS: dict[str, BackgroundJob] = {}
_FOLLOW_UPS: dict[str, BackgroundJob] = {}
_LOCK = threading.Lock()
PREFIX = "rsad demo"


def _say(line: str) -> None:
    print(f"{PREFIX}: {line}", file=sys.stderr, flush=True)


def announce_first_admin(settings: Settings) -> str | None:
    """A desk with no users gets its admin; the password is printed once, to the server's terminal."""
    password = auth.ensure_first_admin(settings)
    if password:
        print("\n" + _("RSAD Review Desk: created the admin user {name!r} with password {password}\n"
                       "  (shown only now; set another with `rsad users passwd {name}`).").format(
                  name=auth.FIRST_ADMIN, password=password) + "\n", file=sys.stderr, flush=True)
    return password


def _build(store: Store, progress: ProgressFn) -> dict[str, Any]:
    lines = Lines(PREFIX)

    def both(done: int, total: int, message: str) -> None:
        progress(done, total, message)
        lines(done, total, message)

    result = bootstrap(store, progress=both)
    for line in result["log"]:
        _say(line)
    follow = BackgroundJob(_("demo follow-up"), lambda p: follow_up(store, progress=p))
    with _LOCK:
        _FOLLOW_UPS[store.location] = follow
    threading.Thread(target=_report_follow_up, args=(follow,), name="demo follow-up report", daemon=True).start()
    return result


def _report_follow_up(job: BackgroundJob) -> None:
    state = job.start().join()
    if state.status == "done":
        for line in follow_up_lines(state.result):
            _say(line)
    else:
        _say(_("Explaining ahead or starting the fine-tune failed: {error}").format(error=state.error))


def demo_job(store: Store) -> BackgroundJob:
    """This process's demo bootstrap for ``store`` (created idle; :func:`start_demo` starts it)."""
    with _LOCK:
        job = _JOBS.get(store.location)
        if job is None:
            job = _JOBS[store.location] = BackgroundJob(_("demo bootstrap"), lambda p: _build(store, p))
        return job


def follow_up_job(store: Store) -> BackgroundJob | None:
    """The follow-up of this process's bootstrap (explanations, the candidate), once it started."""
    with _LOCK:
        return _FOLLOW_UPS.get(store.location)


def start_demo(store: Store) -> BackgroundJob:
    """Start the demo bootstrap when the store is fresh (and demos are on); idempotent per process,
    and across processes the bootstrap's own lock lets one build at a time."""
    job = demo_job(store)
    if needs_bootstrap(store):
        job.start()
    return job
