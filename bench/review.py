"""Review queue at scale: ingest an N-case batch, then time the Review page server-side.

Each measurement runs in a child process on its own throwaway store: it ingests N synthetic
cases in one transaction, gives them scores under a registered version (embedded MiniLM
version folder from bench/_fresh.py, never used for scoring here), and runs the Review page in Streamlit's AppTest:
first render, verdict -> next case, plain rerun. Attributions of the first cases are cached
first, so the page time is the queue's (bench/explain.py times attributions).

With ``--baseline DIR`` (a checkout of older code, e.g. ``git worktree add /tmp/base
d0c9a37``) the children alternate between that code and this tree, so both are measured
under the same load, and the ratios are printed.

    python bench/review.py --n 100000 --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_store(n: int, cached: int) -> tuple[float, float]:
    """A throwaway store (RSAD_* variables set here) with one scored n-case batch; the first
    ``cached`` cases of the queue get cached attributions. Returns (read, ingest) seconds."""
    from rsad.data import uploads
    from rsad.model import attributions, versions
    from rsad.service import batches
    tmp = Path(tempfile.mkdtemp(prefix="rsad-bench-"))
    os.environ.update({"RSAD_DB_URL": f"sqlite:///{tmp / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(tmp / "models"),
                       "RSAD_BOOTSTRAP": "0", "RSAD_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
                       "RSAD_USERS_FILE": str(tmp / "users.json")})
    import numpy as np
    import pandas as pd
    from _fresh import fresh_version
    from sqlalchemy import text

    from rsad.data import store as q
    from rsad.data.ingest import load_batch
    from rsad.model.explain import Explanation, WordAttribution
    from rsad.service import review as triage
    from rsad.service.review import QueueFilter

    rng = np.random.default_rng(0)
    words = np.array("order view cart review rating burst night device item seller link channel".split())
    texts = [" ".join(rng.choice(words, size=30)) + f" #{i}" for i in range(n)]
    df = pd.DataFrame({"case_id": [f"b{i:06d}" for i in range(n)], "behavior_description": texts,
                       "country": rng.choice(["CN", "US", "DE", "BR"], size=n)})
    data = df.to_csv(index=False).encode()
    store = batches.open_store()
    t0 = time.perf_counter()
    prepared = load_batch(data, file_name="big.csv")
    t_read = time.perf_counter() - t0
    uploads.save_batch(store, prepared, name="big")
    t_ingest = time.perf_counter() - t0
    del prepared, data, df, texts
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder=str(fresh_version(tmp / "models")), base_model="minilm",
                                train_config={"max_length": 128}, data_hash="-", metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, rng.random(len(ids)))
        s.commit()
        # Cached attributions for the cases the page will open: the page time is the queue's.
        first = [r["id"] for r in triage.queue(store, QueueFilter(), limit=cached).rows]
        for cid in first:
            words_ = [WordAttribution(0, 5, "order", 0.1)]
            expl = Explanation(words=words_, delta=0.0, n_steps=50, method="lig", score=0.9, covered_chars=5,
                               truncated=False, seconds=0.0, n_tokens=3)
            attributions.put_attribution(s, cid, v.id, "lig:n50:len128", expl.to_dict())
        s.commit()
    store.dispose()
    return t_read, t_ingest


def child(n: int, repeats: int) -> dict:
    """Runs inside the code tree under test (PYTHONPATH): build a store, time ingest and page."""
    from rsad.service import batches
    t_read, t_ingest = build_store(n, repeats + 6)  # + the cases the page explains ahead
    import psutil
    from streamlit.testing.v1 import AppTest

    proc = psutil.Process()
    from rsad.service import review as triage

    store = batches.open_store()
    held = 0
    if hasattr(triage, "claim_case"):  # trees with case claims: three other analysts hold a top case
        from rsad.review.work_queue import QueueFilter

        top = [r["id"] for r in triage.queue(store, QueueFilter(), limit=3).rows]
        for i, cid in enumerate(top):
            triage.claim_case(store, cid, f"other{i}")
        held = len(top)
        page = triage.queue(store, QueueFilter(viewer="bench"))
        assert page.total == n - held and len(page.held) == held, page.total
    try:
        from rsad.auth import users as auth
    except ImportError:  # a tree from before sign-in
        auth = None
    if auth is not None:  # before the first run: with no user at all the app makes an admin
        auth.users_file(store.settings).add("bench", "analyst", "bench-password-1")
    at = AppTest.from_file(str(Path.cwd() / "app.py"), default_timeout=300)
    at.session_state["analyst"] = "bench"  # trees from before sign-in read the analyst here
    at.run()
    if any(w.key == "login_name" for w in at.text_input):
        at.text_input(key="login_name").input("bench")
        at.text_input(key="login_password").input("bench-password-1")
        at.button(key="login_submit").click().run()
    store.dispose()
    at.switch_page("views/review.py")
    rss_before = proc.memory_info().rss
    t0 = time.perf_counter()
    at.run()
    t_first = time.perf_counter() - t0
    assert not at.exception, at.exception
    # The cases other analysts have open are skipped (and not counted).
    assert f"{n - held:,} cases match" in at.caption[0].value, at.caption[0].value
    t_next = []
    for _ in range(repeats):
        before = at.subheader[0].value
        at.button(key="verdict_anomaly").click()
        t0 = time.perf_counter()
        at.run()
        t_next.append(time.perf_counter() - t0)
        assert not at.exception and not at.error and at.subheader[0].value != before
    t_again = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        at.run()
        t_again.append(time.perf_counter() - t0)
    return {"n": n, "read": t_read, "ingest": t_ingest, "first": t_first, "next": statistics.median(t_next),
            "rerun": statistics.median(t_again), "rss_mb": proc.memory_info().rss / 2**20,
            "rss_growth_mb": (proc.memory_info().rss - rss_before) / 2**20}


def run_child(code: Path, n: int, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--n", str(n),
                          "--repeats", str(repeats)], cwd=code, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"child in {code} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of baseline and this tree")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.n, args.repeats)))
        return

    trees = {"this tree": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    results: dict[str, list[dict]] = {k: [] for k in trees}
    print(f"{args.n:,}-case batch; {args.rounds} round(s) per tree; load average {os.getloadavg()[0]:.2f}")
    for r in range(args.rounds):
        for name, code in (reversed(trees.items()) if r % 2 else trees.items()):
            res = run_child(code, args.n, args.repeats)
            results[name].append(res)
            print(f"  round {r + 1} {name:9s}: " + ", ".join(
                f"{k} {v:.2f}" for k, v in res.items() if k != "n"), flush=True)
    rows = [("read + validate (s)", "read"), ("ingest total, one transaction (s)", "ingest"),
            ("Review first render (s)", "first"), ("verdict -> next case (s)", "next"),
            ("plain rerun (s)", "rerun"), ("process RSS after the page runs (MiB)", "rss_mb"),
            ("RSS growth over the page runs (MiB)", "rss_growth_mb")]
    print(f"\nmedians over rounds ({args.n:,} cases, AppTest server-side); load average {os.getloadavg()[0]:.2f}")
    print(f"{'':40s} " + " ".join(f"{k:>10s}" for k in trees) + ("      ratio" if args.baseline else ""))
    for label, key in rows:
        med = {k: statistics.median(x[key] for x in results[k]) for k in trees}
        ratio = f"  {med['baseline'] / med['this tree']:8.2f}x" if args.baseline and med["this tree"] > 0 else ""
        print(f"{label:40s} " + " ".join(f"{med[k]:10.2f}" for k in trees) + ratio)


if __name__ == "__main__":
    main()
