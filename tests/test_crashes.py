"""kill -9 in the middle of writing: real `rsad` processes stopped at named points.

RSAD_TEST_PAUSE_AT makes a process print ``RSAD_PAUSED_AT <point>`` and sleep at that point
(rsad.config.pause_point); the test then sends SIGKILL, checks what the store holds, and runs
the command again. Every test runs on SQLite and, with RSAD_TEST_PG_URL, on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select, text

from conftest import ROOT, tiny_table
from rsad.data import uploads
from rsad.data.orm import Batch, Case, ModelEvent, ModelVersion, Score
from rsad.model import versions

pytestmark = pytest.mark.usefixtures("backend")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "HF_HUB_OFFLINE": "1"}


def kill_at(point: str, args: list[str], timeout: float = 300) -> str:
    """Run ``python args`` until it pauses at ``point``, then SIGKILL it; return its stderr so far."""
    proc = subprocess.Popen([sys.executable, *args], env={**_env(), "RSAD_TEST_PAUSE_AT": point},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    seen, paused = [], False
    try:
        for line in proc.stderr:
            seen.append(line)
            if f"RSAD_PAUSED_AT {point.partition('#')[0]}" in line:
                paused = True
                break
    finally:
        watchdog.cancel()
    if not paused:
        proc.kill()
        proc.wait(30)
        pytest.fail(f"the process ended before reaching {point}:\n{''.join(seen)}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return "".join(seen)


def run(args: list[str]) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, *args], env=_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out


def intact(store) -> None:
    """The database file itself survived the kill (SQLite's own check)."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_kill_during_ingest_leaves_no_partial_batch(store, tmp_path):
    uploads.ingest_file(store, tiny_table(4).to_csv(index=False).encode(), file_name="seed.csv", name="seed")
    big = tmp_path / "night.csv"
    tiny_table(600).to_csv(big, index=False)
    kill_at("ingest:cases-inserted", ["-m", "rsad.cli.main", "ingest", str(big), "--name", "night"])
    intact(store)
    with store.session() as s:
        assert list(s.scalars(select(Batch.name))) == ["seed"]
        assert s.scalar(select(func.count(Case.id))) == 4  # none of the 600 inserted cases is left
    assert "600 cases" in run(["-m", "rsad.cli.main", "ingest", str(big), "--name", "night"]).stdout
    with store.session() as s:
        assert s.scalar(select(func.count(Case.id))) == 604


def _two_versions(store, tmp_path) -> None:
    with store.session() as s:
        for name in ("v1", "v2"):
            versions.add_model_version(s, name=name, folder=str(tmp_path / name), base_model="b", train_config={},
                                data_hash="h", metrics={}, threshold=0.5)


def _active(store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(ModelVersion.name).where(ModelVersion.status == "active")))


def test_kill_during_promotion_keeps_exactly_one_active_version(store, tmp_path):
    _two_versions(store, tmp_path)
    promote = ["-m", "rsad.cli.main", "promote", "v2", "--reason", "crash test", "--no-rescore"]
    kill_at("promote:old-retired", promote)
    intact(store)
    assert _active(store) == ["v1"]  # the retirement of v1 was rolled back with the rest
    with store.session() as s:
        assert s.scalar(select(func.count(ModelEvent.id)).where(ModelEvent.action == "promote")) == 0
    run(promote)
    assert _active(store) == ["v2"]


# Rescore in chunks of 4 (set before rsad.ops.lifecycle is imported, whose default it is) so that a
# 12-case batch needs three commits; the kill comes while the second chunk is written.
RESCORE = ["-c", "import sys, rsad.ops.scoring, rsad.cli.main; rsad.ops.scoring.SCORE_CHUNK = 4; "
                  "sys.exit(rsad.cli.main.main(['rescore']))"]


def _scores(store) -> tuple[int, int]:
    with store.session() as s:
        return (s.scalar(select(func.count(Score.id))),
                s.scalar(select(func.count(func.distinct(Score.case_id)))))


def test_kill_during_rescoring_resumes_without_duplicates(store_with_model):
    store = store_with_model
    uploads.ingest_file(store, tiny_table(12).to_csv(index=False).encode(), file_name="night.csv", name="night")
    kill_at("scores:inserted#2", RESCORE)
    intact(store)
    assert _scores(store) == (4, 4)  # the first chunk stayed, the second was rolled back
    out = run(RESCORE)
    assert "Rescored 8 cases" in out.stdout  # the rerun finished only what was missing
    assert _scores(store) == (12, 12)  # every case once
