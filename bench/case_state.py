"""Case lifecycle at scale: the SQL the lifecycle adds, on one N-case scored batch in SQLite.

Times (median of --repeats) Overview's open-case ages, the Review queue's first page with and
without the state / "assigned to me" filters, opening a case (claim + start) and a move, with
--states case rows written first (a share escalated, in review, closed, assigned to "ana").

    python bench/case_state.py --n 100000 --states 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _store(n: int, states: int) -> tuple[object, list[int]]:
    tmp = Path(tempfile.mkdtemp(prefix="rsad-bench-cases-"))
    os.environ.update({"RSAD_DB_URL": f"sqlite:///{tmp / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(tmp / "models"),
                       "RSAD_BOOTSTRAP": "0", "RSAD_USERS_FILE": str(tmp / "users.json")})
    import numpy as np
    import pandas as pd
    from sqlalchemy import text

    from rsad.auth.users import UserFile
    from rsad.data import store as q
    from rsad.data import uploads
    from rsad.data.ingest import load_batch
    from rsad.model import versions
    from rsad.review import case_state
    from rsad.service.batches import open_store

    UserFile(tmp / "users.json").add("ana", "analyst", "ana-password-1")
    store = open_store()
    df = pd.DataFrame({"case_id": [f"c{i}" for i in range(n)],
                       "behavior_description": [f"record {i} of a synthetic batch" for i in range(n)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="b.csv"), name="b")
    rng = np.random.default_rng(0)
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/none", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, rng.random(n).tolist())
    for i, cid in enumerate(rng.choice(ids, states, replace=False).tolist()):
        with store.session() as s:
            seen = case_state.current(s, cid)
            case_state.move(s, cid, ["start", "escalate", "close", "assign"][i % 4], actor="ana", seen=seen,
                            note="bench", reason="duplicate", assign_to="ana")
    return store, ids


def _time(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--states", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    store, ids = _store(args.n, args.states)
    print(f"store: {args.n:,} cases, {args.states:,} state rows in {time.perf_counter() - t0:.1f} s")
    from rsad.auth.users import User
    from rsad.service import cases
    from rsad.service import review as triage
    from rsad.service.review import QueueFilter

    checks = {
        "overview: age_summary": lambda: cases.age_summary(store),
        "queue page, no lifecycle filter": lambda: triage.queue(store, QueueFilter(viewer="bo")),
        "queue page, state=escalated": lambda: triage.queue(store, QueueFilter(viewer="bo", case_state="escalated")),
        "queue page, state=open": lambda: triage.queue(store, QueueFilter(viewer="bo", case_state="open")),
        "queue page, assigned to ana": lambda: triage.queue(store, QueueFilter(viewer="ana", assignee="ana")),
        "open a case (claim + start)": lambda: triage.claim_case(store, ids[0], "ana"),
        "status with history": lambda: cases.status(store, ids[0]),
    }
    for name, fn in checks.items():
        print(f"{name:34} {_time(fn, args.repeats) * 1000:8.1f} ms")
    admin = User("root", "admin")
    t0 = time.perf_counter()
    cases.change(store, ids[1], "escalate", user=admin, note="bench")
    print(f"{'a move (escalate)':34} {(time.perf_counter() - t0) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
