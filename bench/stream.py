"""Scoring a big batch streams: peak memory of the scoring process, progress throughout.

Builds a store with one N-case batch (default 100,000) in this process, then scores it in a
child process with the CLI's code path (rsad.ops.scoring.score_batch, chunks of 2,000 read and
tokenized ahead in a producer thread) and reports the child's peak RSS and its progress
updates. ``--score K`` stops the child after about K cases (scoring is resumable by chunk),
for machines where scoring all N takes too long; the peak RSS then covers those chunks.

    python bench/stream.py --n 100000 --score 4000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(score: int) -> None:

    from rsad.ops import scoring
    from rsad.service import batches
    store = batches.open_store()
    updates, started = [], time.monotonic()

    class Enough(Exception):
        pass

    def progress(done: int, total: int, message: str) -> None:
        updates.append(done)
        if done and len(updates) % 20 == 0:
            print(f"  {done:,}/{total:,} after {time.monotonic() - started:.0f} s", flush=True)
        if score and done >= score:
            raise Enough

    try:
        scoring.score_batch(store, "big", progress=progress)
    except Enough:
        pass
    print(f"progress updates: {len(updates)}; last {updates[-1]:,}; {time.monotonic() - started:.1f} s")


def main() -> None:
    from rsad.data import uploads
    from rsad.model import versions
    from rsad.service import batches
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--score", type=int, default=0, help="stop after about this many cases (0: all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.score)
        return

    tmp = Path(tempfile.mkdtemp(prefix="rsad-stream-"))
    os.environ.update({"RSAD_DB_URL": f"sqlite:///{tmp / 'rsad.sqlite3'}", "RSAD_MODELS_DIR": str(tmp / "models"),
                       "RSAD_BOOTSTRAP": "0", "RSAD_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"})
    import numpy as np
    import pandas as pd
    from _fresh import fresh_version

    from rsad.data.ingest import load_batch

    rng = np.random.default_rng(0)
    words = np.array("order view cart review rating burst night device item seller link channel".split())
    texts = [" ".join(rng.choice(words, size=int(k))) + f" #{i}" for i, k in enumerate(rng.integers(10, 120, args.n))]
    df = pd.DataFrame({"case_id": [f"s{i:06d}" for i in range(args.n)], "behavior_description": texts})
    store = batches.open_store()
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="big.csv"), name="big")
    with store.session() as s:
        versions.add_model_version(s, name="v1", folder=str(fresh_version(tmp / "models")), base_model="minilm",
                            train_config={"max_length": 128}, data_hash="-", metrics={}, threshold=0.5)
        s.commit()
    print(f"{args.n:,}-case batch of 10-120 words; scoring {'all' if not args.score else f'~{args.score:,}'} "
          f"in a child process; load average {os.getloadavg()[0]:.2f}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--child", "--score", str(args.score)]
    subprocess.run(cmd, env=env, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    print(f"scoring process peak RSS: {peak:.2f} GiB (target < 2 GiB); load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
