"""Review queue at scale: ingest a 100,000-case batch, then time the Review page server-side.

Builds a throwaway store, ingests N synthetic cases in one transaction, gives them scores
under a real (embedded MiniLM, fresh head) registered version, and runs the Review page in
Streamlit's AppTest: first render, and verdict -> next case. Attributions are precomputed
for the first cases so the page time is the queue's, and timed separately once.

    python bench/review.py --n 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rsad-bench-"))
    os.environ.update({"RSAD_DB_URL": f"sqlite:///{tmp / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(tmp / "models"),
                       "RSAD_BOOTSTRAP": "0", "RSAD_DEVICE": "cpu", "RSAD_USERS_FILE": str(tmp / "users.json")})
    import numpy as np
    import pandas as pd
    from sqlalchemy import text
    from streamlit.testing.v1 import AppTest

    from rsad import api, auth, triage
    from rsad import store as q
    from rsad.queue import QueueFilter
    from rsad.config import embedded_base_model
    from rsad.ingest import load_batch

    rng = np.random.default_rng(0)
    words = np.array("order view cart review rating burst night device item seller link channel".split())
    texts = [" ".join(rng.choice(words, size=30)) + f" #{i}" for i in range(args.n)]
    df = pd.DataFrame({"case_id": [f"b{i:06d}" for i in range(args.n)], "behavior_description": texts,
                       "country": rng.choice(["CN", "US", "DE", "BR"], size=args.n)})
    data = df.to_csv(index=False).encode()
    store = api.open_store()
    t0 = time.perf_counter()
    prepared = load_batch(data, file_name="big.csv")
    t_read = time.perf_counter() - t0
    api.save_batch(store, prepared, name="big")
    t_ingest = time.perf_counter() - t0
    with store.session() as s:
        v = q.add_model_version(s, name="v1", folder=embedded_base_model(), base_model="minilm",
                                train_config={"max_length": 128}, data_hash="-", metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, rng.random(len(ids)))
    print(f"{args.n:,} cases: read+validate {t_read:.2f} s, ingest total {t_ingest:.2f} s (one transaction)")

    from rsad.model import Classifier

    clf = Classifier.load(embedded_base_model(), device="cpu", name="v1")
    first = [r["id"] for r in triage.queue(store, triage.default_filter(), limit=args.repeats + 2)["rows"]]
    t_attr = []
    for cid in first:
        t0 = time.perf_counter()
        triage.explanation(store, cid, clf)
        t_attr.append(time.perf_counter() - t0)
    print(f"attributions (50 steps, ~35 tokens): median {statistics.median(t_attr):.2f} s over {len(t_attr)} cases")

    # Claims: three analysts each have a top case open; the viewer's queue skips them.
    top = [r["id"] for r in triage.queue(store, triage.default_filter(), limit=3)["rows"]]
    for i, cid in enumerate(top):
        triage.claim_case(store, cid, f"other{i}")
    t_plain, t_skip = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        triage.queue(store, QueueFilter(viewer=None))
        t_plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        page = triage.queue(store, QueueFilter(viewer="bench"))
        t_skip.append(time.perf_counter() - t0)
    assert page["total"] == args.n - 3 and len(page["held"]) == 3
    m_plain, m_skip = statistics.median(t_plain), statistics.median(t_skip)
    print(f"queue page: {m_plain:.3f} s for everyone's view, {m_skip:.3f} s for an analyst's view skipping 3 "
          f"cases others have open (median of {args.repeats}): ratio {m_skip / m_plain:.2f}")

    password = "bench-password-1"
    auth.users_file(store.settings).add("bench", "analyst", password)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.text_input(key="login_name").input("bench")
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click().run()
    at.switch_page("views/review.py")
    t0 = time.perf_counter()
    at.run()
    t_first = time.perf_counter() - t0
    assert not at.exception, at.exception
    assert f"{args.n - 3:,} cases match" in at.caption[0].value  # the 3 claimed cases are skipped
    t_next = []
    for _ in range(args.repeats):
        at.button(key="verdict_anomaly").click()
        t0 = time.perf_counter()
        at.run()
        t_next.append(time.perf_counter() - t0)
        assert not at.exception and not at.error
    t_again = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        at.run()
        t_again.append(time.perf_counter() - t0)
    print(f"Review page, {args.n:,}-case batch (AppTest, server-side):")
    print(f"  first render           {t_first:.2f} s (includes loading the cached model once)")
    print(f"  verdict -> next case   median {statistics.median(t_next):.2f} s over {args.repeats}")
    print(f"  plain rerun            median {statistics.median(t_again):.2f} s over {args.repeats}")
    print(f"store: {tmp}")


if __name__ == "__main__":
    main()
