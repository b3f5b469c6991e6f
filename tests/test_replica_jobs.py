"""Training jobs across replicas on different machines (docs/deploy.md): a job runs on one machine
and is stopped from another's page, which cannot signal its process; the runner reads the request
at its heartbeat and stops itself. Starting a job and building the demo are serialized through the
store (PostgreSQL advisory locks), not only through a file lock that one machine sees."""

from __future__ import annotations

import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import func, select, update

from rsad.auth.users import User
from rsad.data import locks
from rsad.data.db import Store
from rsad.data.orm import TrainingJob
from rsad.errors import StateError
from rsad.progress import sigterm_stops, stop_handler_installed
from rsad.service import jobs
from rsad.training import runner

ROOT = User("root", "admin")


def _running_elsewhere(store: Store) -> int:
    job = jobs.start(store, jobs.RetrainParams(), user=ROOT, spawn=False)
    with store.session() as s:
        row = s.get(TrainingJob, job["id"])
        row.params = {**row.params, "host": "other-machine"}
        s.execute(update(TrainingJob).where(TrainingJob.id == job["id"])
                  .values(status="running", pid=4242, heartbeat_at=func.now()))
    return job["id"]


@pytest.mark.usefixtures("backend")
def test_a_job_on_another_machine_is_stopped_from_this_one_at_its_next_heartbeat(store, monkeypatch):
    job_id = _running_elsewhere(store)
    signalled: list[int] = []
    monkeypatch.setattr("rsad.training.jobs.os.kill", lambda pid, sig: signalled.append(pid))
    job = jobs.stop(store, job_id, user=ROOT)  # refused before: "runs on other-machine: stop it there"
    assert job["status"] == "running" and job["stopped_by"] == "root"
    assert not signalled  # pid 4242 is another machine's: nothing here is signalled
    assert "stop requested by root" in job["log"]

    # The runner, on the other machine, sees the request at its heartbeat and stops itself.
    monkeypatch.setattr("rsad.training.runner.socket.gethostname", lambda: "other-machine")
    monkeypatch.setattr("rsad.training.runner.HEARTBEAT_S", 0.05)
    interrupted = threading.Event()
    monkeypatch.setattr("rsad.training.runner.interrupt_self", interrupted.set)
    beat = runner._Heartbeat(store, job_id)
    beat.start()
    try:
        assert interrupted.wait(30), "the heartbeat never acted on the stop request"
    finally:
        beat.halt.set()
        beat.join(10)


@pytest.mark.usefixtures("backend")
def test_the_runner_does_not_signal_itself_for_a_stop_asked_on_its_own_machine(store, monkeypatch):
    job_id = _running_elsewhere(store)
    monkeypatch.setattr("rsad.training.jobs.os.kill", lambda pid, sig: None)
    monkeypatch.setattr("rsad.training.jobs.socket.gethostname", lambda: "other-machine")
    jobs.stop(store, job_id, user=ROOT)  # asked on the job's machine: the SIGTERM went straight to it
    monkeypatch.setattr("rsad.training.runner.socket.gethostname", lambda: "other-machine")
    assert runner._stop_requested_elsewhere(store, job_id) is False


def test_interrupt_self_needs_the_job_runners_handler(monkeypatch):
    import signal

    sent: list[int] = []
    monkeypatch.setattr("rsad.training.runner.os.kill", lambda pid, sig: sent.append(sig))
    runner.interrupt_self()  # a test's process (or the server's) has no handler: never killed
    assert sent == []
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # another library's handler (Ray's driver has one)
    try:
        runner.interrupt_self()
        assert sent == []
        with sigterm_stops():  # the job runner's (`rsad jobs run`, `rsad score --engine ray`)
            runner.interrupt_self()
        assert sent == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is not None and not stop_handler_installed()  # restored after
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_two_replicas_starting_a_job_at_once_start_one(env, pg_url, monkeypatch):
    monkeypatch.setenv("RSAD_DB_URL", pg_url)
    # Two machines: each has its own file lock, so the file lock decides nothing here.
    monkeypatch.setattr("rsad.training.jobs._start_lock", lambda store: nullcontext())
    stores = [Store(), Store()]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def start(store: Store) -> None:
        barrier.wait()
        try:
            jobs.start(store, jobs.RetrainParams(), user=ROOT, spawn=False)
            outcomes.append("started")
        except StateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with stores[0].session() as s:
        assert s.scalar(select(func.count(TrainingJob.id))) == 1
    assert sorted(outcomes) == ["refused", "started"]
    for s in stores:
        s.dispose()


def test_the_demo_build_lock_holds_across_connections(env, pg_url, monkeypatch):
    monkeypatch.setenv("RSAD_DB_URL", pg_url)
    one, two = Store(), Store()
    try:
        with locks.try_hold(one, locks.DEMO_BUILD) as first:
            with locks.try_hold(two, locks.DEMO_BUILD) as second:
                assert (first, second) == (True, False)
        with locks.try_hold(two, locks.DEMO_BUILD) as again:
            assert again  # released when the first block ended
    finally:
        one.dispose()
        two.dispose()
