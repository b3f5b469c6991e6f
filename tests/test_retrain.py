"""Retraining jobs in a detached process, compare, promote, roll back and rescore, on real models."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text, update

from conftest import tiny_table
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import TrainingJob, utcnow
from rsad.errors import InputError, StateError
from rsad.evaluation.bootstrap import verdict_line
from rsad.model import versions
from rsad.model.card import TRAINING_SET_FILE, read_card
from rsad.ops import lifecycle, scoring
from rsad.review import verdicts
from rsad.review.trainset import assemble
from rsad.service import batches
from rsad.service import review as triage
from rsad.service.review import QueueFilter
from rsad.training import jobs as retrain

TINY = retrain.RetrainParams(epochs=1, max_length=32)


def admin(name: str) -> User:
    """Whoever starts, promotes or rolls back here acts as an admin (tests/test_policies.py: others may not)."""
    return User(name, "admin")


def _env(root: Path) -> dict[str, str]:
    return {"RSAD_DB_URL": f"sqlite:///{root / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(root / "models"),
            "RSAD_BOOTSTRAP": "0", "RSAD_DEVICE": "cpu"}


def _ingest(store, frame, name: str) -> None:
    uploads.save_batch(store, load_batch(frame.to_csv(index=False).encode(), file_name=f"{name}.csv"), name=name)


def _labeled(n: int, prefix: str):
    df = tiny_table(n)
    df["case_id"] = [f"{prefix}{i:03d}" for i in range(n)]
    return df


def _register_tiny(store, folder: Path, name: str = "v1") -> None:
    card = read_card(folder)
    with store.session() as s:
        versions.add_model_version(s, name=name, folder=str(folder), base_model=card.base_model,
                            train_config=card.train_config, data_hash=card.data_hash,
                            metrics={**card.metrics, "n_train": len(card.train_ids), "n_val": len(card.val_ids)},
                            threshold=card.threshold, created_by="test")


def _wait(store, job_id: int, until, timeout: float = 600) -> list[dict]:
    """Poll the job row (as the app does) until ``until(job)``; every snapshot read."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        job = retrain.get(store, job_id)
        seen.append(job)
        if until(job) or job["status"] == "failed":
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {job['status']} after {timeout} s: {job['log']}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    """Active tiny v1, a labeled seed batch, a reviewed queue, and v2 from a real background job."""
    root = tmp_path_factory.mktemp("retrain")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in _env(root).items():
            mp.setenv(k, v)
        store = batches.open_store()
        _register_tiny(store, tiny_model_dir)
        _ingest(store, _labeled(48, "s"), "seed")
        queue = _labeled(24, "q").drop(columns=["is_anomaly"])
        _ingest(store, queue, "queue")
        scoring.score_batch(store, "queue")
        with store.session() as s:
            ids = dict(s.execute(text("SELECT external_id, id FROM cases")).all())
            for i in range(16):
                verdicts.add_verdict(s, ids[f"q{i:03d}"], "anomaly" if i % 2 else "normal", analyst="ana")
            verdicts.add_verdict(s, ids["q001"], "normal", analyst="bo")  # a conflict: tie, bo's is the latest
        expected = assemble(store)
        job = retrain.start(store, TINY, user=admin("ana"))
        seen = _wait(store, job["id"], lambda j: j["status"] == "done")
        yield {"store": store, "job": job, "seen": seen, "expected": expected, "root": root}
        store.dispose()


def test_background_job_registers_a_candidate_with_its_training_set(trained):
    store, seen, expected = trained["store"], trained["seen"], trained["expected"]
    final = seen[-1]
    assert final["status"] == "done", final["log"]
    assert trained["job"]["status"] in ("queued", "running") and trained["job"]["pid"]
    # Progress came back through the store while it ran: steps, an ETA, a heartbeat.
    running = [j for j in seen if j["status"] == "running"]
    assert running and {j["total"] for j in running if j["total"]} == {final["total"]}
    assert [j["done"] for j in seen] == sorted(j["done"] for j in seen) and final["done"] == final["total"] > 0
    assert any(j["eta_s"] is not None for j in running) and final["heartbeat_at"] is not None
    assert final["version_name"] == "v2" and final["finished_at"] >= final["started_at"]
    assert "Training set: 64 cases" in final["log"] and "conflict q001@queue" in final["log"]
    v2 = versions.get_version(store, "v2")
    assert v2.status == "candidate" and v2.created_by == "ana"
    assert v2.metrics["n_verdict"] == 16 and v2.metrics["n_conflicts"] == 1
    card = read_card(v2.folder)
    assert card.training_set["hash"] == expected.hash == v2.data_hash
    assert card.train_config["max_length"] == 32 and card.train_config["epochs"] == 1
    rows = (Path(v2.folder) / TRAINING_SET_FILE).read_text().splitlines()
    assert len(rows) == 1 + 64 and sorted(card.train_ids + card.val_ids) == sorted(expected.rows["id"])
    assert lifecycle.history(store)[0] | {"when": None} == {
        "when": None, "action": "register", "version": "v2", "previous_active": None, "by": "ana",
        "reason": "trained on 64 cases (candidate)"}
    # Compared with v1, active when the job started, on held-out labeled cases: logged and kept.
    vs = v2.metrics["vs_active"]
    assert vs["against"] == "v1" and vs["verdict"] in ("better", "worse", "indistinguishable")
    assert vs["n"] >= 10 and 0 < vs["anomalies"] < vs["n"] and vs["resamples"] == 2000
    assert vs["pr_auc"]["low"] <= vs["pr_auc"]["delta"] <= vs["pr_auc"]["high"]
    assert verdict_line(vs, "v2", "v1") in final["log"]


def test_compare_candidate_with_active(trained):
    from rsad.ops.compare import compare

    out = compare(trained["store"], "v2")
    ev, batch = out["evaluation"], out["latest_batch"]
    assert out["evaluation_error"] is None and out["active"].name == "v1"
    assert ev["n"] >= 10 and 0 < ev["anomalies"] < ev["n"]
    table = ev["table"].set_index("metric")
    for k in ("roc_auc", "pr_auc", "f1"):
        assert table.loc[k, "candidate"] == ev["candidate"]["metrics"][k]
        assert table.loc[k, "delta"] == pytest.approx(table.loc[k, "candidate"] - table.loc[k, "active"])
    assert ev["candidate"]["curves"]["roc"]["fpr"][0] == 0.0 and ev["active"]["curves"]["pr"]["recall"][-1] == 0.0
    boot, table = ev["bootstrap"], ev["table"].set_index("metric")
    assert (boot.n, boot.anomalies) == (ev["n"], ev["anomalies"])
    for k in ("pr_auc", "roc_auc", "f1"):
        m = boot.metrics[k]
        assert m.delta == pytest.approx(table.loc[k, "delta"]) and m.low <= m.delta <= m.high
    # The job compared the same versions on the same cases with the same seed: the same numbers.
    assert versions.get_version(trained["store"], "v2").metrics["vs_active"] == boot.record("v1")
    diffs = ev["disagreements"]["difference"].abs().tolist()
    assert diffs == sorted(diffs, reverse=True)
    assert batch["batch"] == "queue" and batch["rows"] == 24
    with trained["store"].session() as s:
        bid = q.get_batch(s, "queue").id
        c = np.asarray(q.batch_scores(s, bid, versions.get_version(trained["store"], "v2").id))
    assert batch["flagged_candidate"] == int((c >= out["candidate"].threshold).sum())
    assert batch["newly_flagged"] - batch["no_longer_flagged"] == batch["flagged_candidate"] - batch["flagged_active"]
    with pytest.raises(InputError, match="pick another"):
        compare(trained["store"], "v1")


def test_cli_compare_and_models(trained):
    env = {**os.environ, **_env(trained["root"]), "HF_HUB_OFFLINE": "1"}

    def rsad(*args):
        return subprocess.run([sys.executable, "-m", "rsad.cli.main", *args], env=env, capture_output=True,
                              text=True, timeout=300)

    out = rsad("compare", "v2")
    assert out.returncode == 0, out.stderr
    assert "Evaluation set:" in out.stdout and "roc_auc" in out.stdout and "Latest batch 'queue'" in out.stdout
    vs = versions.get_version(trained["store"], "v2").metrics["vs_active"]
    assert verdict_line(vs, "v2", "v1") in out.stdout
    assert re.search(r"^  PR-AUC [+-]\d\.\d{3} \(95% CI [+-]\d\.\d{3} to [+-]\d\.\d{3}\): "
                     r"(better|worse|indistinguishable)$", out.stdout, re.M), out.stdout
    assert "Paired bootstrap: 2,000 resamples of the same cases, seed 0." in out.stdout
    out = rsad("models")
    assert "v2       candidate" in out.stdout and "register v2" in out.stdout


class _StopAfterFirstChunk:
    """The real classifier, interrupted after one chunk (as a closed tab or Ctrl-C would)."""

    def __init__(self, clf):
        self.clf, self.calls = clf, 0

    def encode(self, texts):
        return self.clf.encode(texts)

    def score_encoded(self, ids, **kw):
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return self.clf.score_encoded(ids, **kw)


def test_promote_rescore_and_rollback(trained):
    store = trained["store"]
    with store.session() as s:  # reviewed seed cases, most of them never scored by v2
        seeds = s.execute(text("SELECT id, given_label FROM cases WHERE external_id BETWEEN 's000' AND 's019'"))
        for cid, label in seeds.all():
            verdicts.add_verdict(s, cid, "anomaly" if label else "normal", analyst="cy")
    with pytest.raises(InputError, match="Give a reason"):
        lifecycle.promote(store, "v2", user=admin("ana"), reason=" ")
    info = lifecycle.promote(store, "v2", user=admin("ana"), reason="better PR-AUC on held-out cases")
    assert info.version.status == "active" and info.previous == "v1"
    assert {v.name: v.status for v in versions.list_versions(store)} == {"v1": "retired", "v2": "active"}
    pending = scoring.rescore_status(store)
    assert pending["model"] == "v2" and pending["reviewed"] > 0 and pending["unreviewed"] > 5
    # Interrupted after one chunk: what it scored is kept, and it was unreviewed cases.
    clf = _StopAfterFirstChunk(versions.load_classifier(store, versions.get_version(store, "v2")))
    with pytest.raises(KeyboardInterrupt):
        scoring.rescore(store, user=admin("ana"), classifier=clf, chunk=5)
    after = scoring.rescore_status(store)
    assert after["unreviewed"] == pending["unreviewed"] - 5 and after["reviewed"] == pending["reviewed"]
    seen = []
    out = scoring.rescore(store, user=admin("ana"), chunk=20, progress=lambda d, t, m: seen.append((d, t)))
    assert out["scored"] == after["unreviewed"] + after["reviewed"] and seen[-1][0] == seen[-1][1]
    assert scoring.rescore_status(store) == {"model": "v2", "unreviewed": 0, "reviewed": 0}
    page = triage.queue(store, QueueFilter(status="all"), limit=200)
    assert page.model == "v2" and page.total == 48 + 24

    with pytest.raises(StateError, match="already the active"):
        lifecycle.promote(store, "v2", user=admin("ana"), reason="again")
    with pytest.raises(StateError, match="rollback"):
        lifecycle.promote(store, "v1", user=admin("ana"), reason="back")
    _register_tiny(store, Path(versions.get_version(store, "v1").folder), "v3")  # a candidate
    with pytest.raises(StateError, match="never active"):
        lifecycle.rollback(store, "v3", user=admin("bo"), reason="x")
    info = lifecycle.rollback(store, "v1", user=admin("bo"), reason="v2 flags too many on the morning batch")
    assert info.previous == "v2" and versions.active_version(store).name == "v1"
    assert scoring.rescore(store, user=admin("ana"))["model"] == "v1"
    assert scoring.rescore_status(store)["unreviewed"] == 0
    events = lifecycle.history(store)
    assert [(e["action"], e["version"], e["previous_active"], e["by"]) for e in events[:2]] == [
        ("rollback", "v1", "v2", "bo"), ("promote", "v2", "v1", "ana")]
    assert events[0]["reason"] == "v2 flags too many on the morning batch"


def test_one_job_at_a_time_and_silent_jobs_fail(store):
    _ingest(store, _labeled(16, "s"), "seed")
    job = retrain.start(store, TINY, user=admin("ana"), spawn=False)
    assert job["status"] == "queued"
    with pytest.raises(StateError, match="one training at a time"):
        retrain.start(store, TINY, user=admin("bo"), spawn=False)
    with pytest.raises(StateError, match="no active version"):
        retrain.start(store, retrain.RetrainParams(start_from="active"), user=admin("bo"), spawn=False)
    with pytest.raises(InputError, match="Max length"):
        retrain.start(store, retrain.RetrainParams(max_length=4), user=admin("bo"), spawn=False)
    with pytest.raises(InputError, match="truncation 'tail'"):
        retrain.start(store, retrain.RetrainParams(truncation="tail"), user=admin("bo"), spawn=False)
    models = store.settings.models_dir
    mine, other = models / f".v1-job{job['id']}-abc", models / ".v1-job999-xyz"
    mine.mkdir(parents=True)
    other.mkdir()
    # Running, alive (this process' pid), but silent for ten minutes: marked failed on read.
    with store.session() as s:
        s.execute(update(TrainingJob).where(TrainingJob.id == job["id"]).values(
            status="running", pid=os.getpid(), heartbeat_at=utcnow() - timedelta(minutes=10),
            log="2026-01-01 00:00:00 epoch 1/1: 3 steps in all\n"))
    failed = retrain.latest(store)
    assert failed["status"] == "failed" and "No heartbeat" in failed["error"]
    assert failed["log"].startswith("2026-01-01 00:00:00 epoch 1/1") and "No heartbeat" in failed["log"]
    assert not mine.exists() and other.exists()
    # A queued job whose runner never came up fails too, and then a new one may start.
    again = retrain.start(store, TINY, user=admin("bo"), spawn=False)
    with store.session() as s:
        s.execute(update(TrainingJob).where(TrainingJob.id == again["id"]).values(
            created_at=utcnow() - timedelta(hours=1)))
    assert retrain.get(store, again["id"])["error"].startswith("The training process never started")
    assert retrain.start(store, TINY, user=admin("bo"), spawn=False)["status"] == "queued"


def test_killed_job_leaves_no_version_and_is_marked_failed(store, env):
    _ingest(store, _labeled(96, "s"), "seed")
    job = retrain.start(store, retrain.RetrainParams(epochs=3, max_length=32, batch_size=8), user=admin("ana"))
    seen = _wait(store, job["id"], lambda j: j["status"] == "running" and j["done"] >= 1)
    assert seen[-1]["status"] == "running", seen[-1]["log"]
    os.kill(job["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while retrain._alive(job["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    # As after a server restart: a fresh Store reads the row and finds the process gone.
    fresh = batches.open_store()
    dead = retrain.get(fresh, job["id"])
    assert dead["status"] == "failed" and f"pid {job['pid']}) is gone" in dead["error"]
    assert "Training set: 96 cases" in dead["log"] and "epoch 1/3" in dead["log"]
    assert not [p.name for p in (env / "models").iterdir() if p.name.startswith(("v", ".v"))]
    assert versions.list_versions(fresh) == []
    assert retrain.start(fresh, TINY, user=admin("ana"), spawn=False)["status"] == "queued"
    fresh.dispose()


def _running_job(store, pid: int, **params) -> int:
    """A job row as a live runner leaves it: running, this host, the given pid."""
    job = retrain.start(store, TINY, user=admin("ana"), spawn=False)
    with store.session() as s:
        row = s.get(TrainingJob, job["id"])
        row.status, row.pid, row.heartbeat_at = "running", pid, utcnow()
        row.params = {**row.params, **params}
    return job["id"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stopped_job_whose_process_is_gone_is_stopped_a_crashed_one_failed(store):
    _ingest(store, _labeled(16, "s"), "seed")
    stopped_id = _running_job(store, _dead_pid(), stopped_by="root")
    job = retrain.get(store, stopped_id)
    assert job["status"] == "stopped" and job["stopped_by"] == "root" and job["error"] == ""
    assert job["finished_at"] is not None and "Stopped by root" in job["log"]
    assert "stopped" not in retrain.LIVE
    # The stop freed the one-job slot; a process that died with nobody asking is a failure.
    crashed_id = _running_job(store, _dead_pid())
    crashed = retrain.get(store, crashed_id)
    assert crashed["status"] == "failed" and "is gone" in crashed["error"] and crashed["stopped_by"] is None


def test_runner_interrupted_after_a_stop_request_records_stopped_not_failed(store, monkeypatch):
    from rsad.training import runner as jobrunner

    def interrupted(_store):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobrunner, "assemble", interrupted)
    _ingest(store, _labeled(16, "s"), "seed")
    asked = retrain.start(store, TINY, user=admin("ana"), spawn=False)
    with store.session() as s:  # what retrain.stop records before it signals the process
        row = s.get(TrainingJob, asked["id"])
        row.params = {**row.params, retrain.STOPPED_BY: "mia"}
    with pytest.raises(KeyboardInterrupt):
        jobrunner.run(store, asked["id"])
    job = retrain.get(store, asked["id"])
    assert (job["status"], job["stopped_by"], job["error"]) == ("stopped", "mia", "")
    assert job["message"] == "stopped by mia; no version registered" and "Failed" not in job["log"]
    # The same interrupt with no stop request (a stray signal, Ctrl-C) is a failure.
    unasked = retrain.start(store, TINY, user=admin("ana"), spawn=False)
    with pytest.raises(KeyboardInterrupt):
        jobrunner.run(store, unasked["id"])
    job = retrain.get(store, unasked["id"])
    assert job["status"] == "failed" and job["error"].startswith("Interrupted before it finished")


def test_cli_jobs_lists_a_stopped_job_as_stopped(store, env):
    _ingest(store, _labeled(16, "s"), "seed")
    _running_job(store, _dead_pid(), stopped_by="root")
    out = subprocess.run([sys.executable, "-m", "rsad.cli.main", "jobs"], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert " stopped " in line and "stopped by root; no version registered" in line and "failed" not in line


def test_a_job_may_start_from_the_active_version(store):
    # The Models page's "Start from: the active version" and `rsad train --from-store --init-from active`.
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={},
                                       data_hash="h", metrics={}, threshold=0.5)
        assert v.status == "active"
    assert retrain.init_from(store, retrain.RetrainParams(start_from="active")) == "v1"
    assert retrain.init_from(store, retrain.RetrainParams(start_from="v1")) == "v1"
    assert retrain.init_from(store, retrain.RetrainParams(start_from="base")) is None


def test_the_cli_prints_a_registered_version(store, capsys):
    from rsad.cli.models import print_version

    with store.session() as s:
        versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                   metrics={"train_seconds": 12.0, "n_val": 20, "f1": 0.9, "precision": 0.8,
                                            "recall": 1.0, "roc_auc": 0.95, "pr_auc": 0.93}, threshold=0.5)
    print_version(versions.get_version(store, "v1"))
    out = capsys.readouterr().out
    assert "Saved v1 (active) in /m/v1 after 12 s." in out and "F1 0.900" in out


def test_a_comparison_that_cannot_be_made_is_kept_with_its_reason(store_with_model, tiny_model_dir):
    from rsad.training.versus import compare_with_active

    store = store_with_model
    first = versions.get_version(store, "v1")
    line = compare_with_active(store, first, None)  # a project's first version: nothing to beat
    assert line == "Not compared with an active version: there was no active version when the job started."
    assert "vs_active" not in versions.get_version(store, "v1").metrics
    _register_tiny(store, tiny_model_dir, "v2")  # no labeled case at all: no evaluation set
    v2 = versions.get_version(store, "v2")
    line = compare_with_active(store, v2, first)
    assert line.startswith("Not compared with v1: Only 0 labeled cases are available")
    record = versions.get_version(store, "v2").metrics["vs_active"]
    assert record["against"] == "v1" and record["skipped"].startswith("Only 0 labeled cases")
