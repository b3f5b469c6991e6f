"""Four analysts at once: four real processes each record 500 verdicts through rsad's API,
one transaction per verdict as the Review page does, on SQLite and on PostgreSQL.

All 2,000 verdicts must be there, none twice, and no process may see an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from conftest import ROOT, tiny_table
from rsad.data import uploads
from rsad.data.orm import Case, Verdict
from rsad.review import verdicts
from rsad.service import batches

PROCESSES, VERDICTS_EACH = 4, 500

# Each worker waits for the start file, then records its verdicts over the shared cases
# (so the analysts collide on the same rows, not only on the same file), and exits with the
# number of errors it met.
WORKER = """
import os, sys, time, traceback
from rsad.service import batches, review
from rsad.data.orm import Case
from sqlalchemy import select
k, n, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
store = batches.open_store()
with store.session() as s:
    cases = list(s.scalars(select(Case.id).order_by(Case.id)))
while not os.path.exists(go):
    time.sleep(0.01)
errors = 0
for i in range(n):
    try:
        review.record_verdicts(store, [cases[(i * 7 + k) % len(cases)]], ("anomaly", "normal", "unsure")[i % 3],
                               analyst=f"analyst{k}", reason_code="spam", note=f"w{k}-{i}")
    except Exception:
        errors += 1
        traceback.print_exc()
print(f"worker {k}: {n - errors} written, {errors} errors", flush=True)
sys.exit(min(errors, 100))
"""


@pytest.mark.usefixtures("backend")
def test_four_analysts_write_500_verdicts_each_at_once(store, backend, tmp_path):
    csv = tiny_table(40).to_csv(index=False).encode()
    uploads.ingest_file(store, csv, file_name="shared.csv", name="shared")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(k), str(VERDICTS_EACH), str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for k in range(PROCESSES)]
    time.sleep(3)  # let every worker import rsad and open the store, so that they really start together
    go.touch()
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, "\n".join(outputs)
    with store.session() as s:
        total = s.scalar(select(func.count(Verdict.id)))
        notes = list(s.scalars(select(Verdict.note)))
        per_analyst = {a: n for a, n in s.execute(select(Verdict.analyst, func.count()).group_by(Verdict.analyst))}
        cases = s.scalar(select(func.count(func.distinct(Verdict.case_id))))
        n_cases = s.scalar(select(func.count(Case.id)))
    assert total == PROCESSES * VERDICTS_EACH
    assert len(set(notes)) == len(notes) == total  # every verdict once: none lost, none duplicated
    assert set(notes) == {f"w{k}-{i}" for k in range(PROCESSES) for i in range(VERDICTS_EACH)}
    assert per_analyst == {f"analyst{k}": VERDICTS_EACH for k in range(PROCESSES)}
    assert cases == n_cases  # the analysts really wrote to the same cases
    print(f"{backend}: {total} verdicts from {PROCESSES} processes; " + "; ".join(o.strip() for o in outputs))


def test_a_lock_held_past_the_timeout_is_an_error_a_user_can_act_on(env, monkeypatch):
    import sqlite3

    from rsad.errors import StateError

    monkeypatch.setenv("RSAD_SQLITE_BUSY_TIMEOUT_S", "1")
    store = batches.open_store()
    uploads.ingest_file(store, tiny_table(4).to_csv(index=False).encode(), file_name="b.csv", name="b")
    with store.session() as s:
        case_id = s.scalar(select(Case.id))
    other = sqlite3.connect(store.engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock, and keeps it
    try:
        with pytest.raises(StateError, match="stayed busy for more than 1 s.*nothing was saved, try again"):
            verdicts.record_verdicts(store, [case_id], "anomaly", analyst="ana")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert verdicts.record_verdicts(store, [case_id], "anomaly", analyst="ana") == 1
    store.dispose()
