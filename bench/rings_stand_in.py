"""Rings on the full demo batch scored by a stand-in for the starter (its lexical part: TF-IDF word
1-2-grams and a logistic regression trained on 80 % of the seed, threshold F1-best on the rest),
in a fresh SQLite store, through the service the Rings page calls. Seconds, not the starter's minutes.

    nice -n 10 python bench/rings_stand_in.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sqlalchemy import text  # noqa: E402

from rsad.auth.users import User  # noqa: E402
from rsad.config import Settings  # noqa: E402
from rsad.data import store as q  # noqa: E402
from rsad.data import uploads  # noqa: E402
from rsad.data.ingest import load_batch  # noqa: E402
from rsad.data.synth import make_demo_tables  # noqa: E402
from rsad.model import versions  # noqa: E402
from rsad.ops.demo import _demo_ring_settings  # noqa: E402
from rsad.service import batches, rings  # noqa: E402


def main() -> None:
    seed, batch = make_demo_tables(seed=7)
    train, val = train_test_split(seed, test_size=0.2, random_state=7, stratify=seed["is_anomaly"])
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=4, max_iter=2000).fit(words.fit_transform(train["behavior_description"]),
                                                        train["is_anomaly"])
    p, r, t = precision_recall_curve(val["is_anomaly"], model.predict_proba(
        words.transform(val["behavior_description"]))[:, 1])
    threshold = float(t[np.argmax(2 * p * r / (p + r + 1e-9))])
    scores = dict(zip(batch["case_id"], model.predict_proba(words.transform(batch["behavior_description"]))[:, 1]))
    with tempfile.TemporaryDirectory() as root:
        store = batches.open_store(Settings(db_url=f"sqlite:///{root}/r.sqlite3", models_dir=Path(root) / "m",
                                            device="cpu", bootstrap=False))
        uploads.save_batch(store, load_batch(batch.to_csv(index=False).encode(), file_name="demo-batch.csv"),
                           name="demo-batch")
        with store.session() as s:
            v = versions.add_model_version(s, name="v1", folder="/m", base_model="b", train_config={},
                                           data_hash="h", metrics={}, threshold=threshold)
            rows = s.execute(text("SELECT id, external_id FROM cases")).all()
            q.put_scores(s, v.id, [i for i, _ in rows], [float(scores[e]) for _, e in rows])
        _demo_ring_settings(store, "en")
        t0 = time.perf_counter()
        found = rings.compute_rings(store, "demo-batch")
        t1 = time.perf_counter()
        again = rings.compute_rings(store, "demo-batch")
        t2 = time.perf_counter()
        flagged = [k for k, v in scores.items() if v >= threshold]
        print(f"threshold {threshold:.3f}: {len(flagged)} flagged, planted flagged "
              f"{sum(k.startswith('n9') for k in flagged)} of 47")
        print(f"compute_rings {t1 - t0:.2f} s, again {t2 - t1:.2f} s (same ids: "
              f"{[a['id'] for a in again] == [f['id'] for f in found]})")
        for ring in found:
            members = rings.ring_view(store, ring["id"]).members
            planted = sum(str(m["external_id"]).startswith("n9") for m in members)
            print(f"ring {ring['id']}\tsize {ring['size']}\tplanted {planted}\tmean {ring['mean_score']:.3f}\t"
                  f"{ring['key']}")
        print(rings.record_ring_verdict(store, found[0]["id"], "anomaly", user=User("ana", "analyst"), note="one shop"))
        store.dispose()


if __name__ == "__main__":
    main()
