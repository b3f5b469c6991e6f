"""Rings on the demo, end to end: the demo bootstrap (data, the real starter model, scoring) in a
fresh store, then the demo batch's rings as the Rings page and `rsad rings` compute them.

Prints how many planted accounts the starter flagged, the rings largest first (planted or not),
and the seconds each step took. The starter fine-tunes for minutes on a CPU.

    nice -n 10 python bench/rings_demo.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.config import Settings  # noqa: E402
from rsad.ops.demo import DEMO_BATCH, bootstrap  # noqa: E402
from rsad.service import batches, rings  # noqa: E402
from rsad.service import review as triage  # noqa: E402
from rsad.service.review import QueueFilter  # noqa: E402

PLANTED = "n9"  # the planted accounts' ids (rsad.data.synth_rings)


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        settings = Settings(db_url=f"sqlite:///{root}/rsad.sqlite3", models_dir=Path(root) / "models",
                            device="cpu", bootstrap=False)
        store = batches.open_store(settings)
        t0 = time.monotonic()
        info = bootstrap(store)
        t1 = time.monotonic()
        found = rings.compute_rings(store, DEMO_BATCH)
        t2 = time.monotonic()
        page = triage.queue(store, QueueFilter(status="all"), limit=5000)  # the Review queue, by score
        flagged = [r for r in page.rows if r["score"] >= page.threshold]
        planted = [r for r in flagged if str(r["external_id"]).startswith(PLANTED)]
        print(f"bootstrap {t1 - t0:.0f} s ({info['model']}, {info['flagged']} flagged of {info['rows']}); "
              f"rings {t2 - t1:.2f} s")
        print(f"planted accounts flagged: {len(planted)} of 47; flagged in the queue: {len(flagged)}")
        for r in found[:10]:
            view = rings.ring_view(store, r["id"])
            n = sum(str(m["external_id"]).startswith(PLANTED) for m in view.members)
            print(f"ring {r['id']}\tsize {r['size']}\tplanted {n}\tmean {r['mean_score']:.3f}\t{r['key']}")
        store.dispose()


if __name__ == "__main__":
    main()
