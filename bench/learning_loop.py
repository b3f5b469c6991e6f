"""Does the desk learn from its analysts? The demo's loop, end to end, answered from the synthetic truth.

A starter model is trained on the demo's labeled seed batch (all of it, or ``--starter-labels``
of it for a cold start) and scores the demo batch. The desk then proposes cases in its order
(``rsad next``: uncertainty x diversity), an "analyst" answers ``--verdicts`` of them from the
synthetic truth through the same call the Review page uses, and a retraining job runs in the
store as an admin would start it. Starter and candidate are then scored on the same held-out
cases, the rest of the demo batch (its truth is known to the generator), and the paired
bootstrap says whether the candidate is better.

    python bench/learning_loop.py                      # the demo's starter (2,500 labels)
    python bench/learning_loop.py --starter-labels 150 # a cold start (what tests/test_learning_loop.py runs)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.auth.users import User  # noqa: E402
from rsad.config import Settings  # noqa: E402
from rsad.data import uploads  # noqa: E402
from rsad.data.describe import describe_events  # noqa: E402
from rsad.data.ingest import load_batch  # noqa: E402
from rsad.data.synth import LABELED_RATE, LABELED_USERS, UNLABELED_RATE, UNLABELED_USERS, make_events  # noqa: E402
from rsad.evaluation.metrics import binary_metrics  # noqa: E402
from rsad.model import versions  # noqa: E402
from rsad.model.card import TrainConfig  # noqa: E402
from rsad.ops import scoring  # noqa: E402
from rsad.service import (
    batches,  # noqa: E402
    review,  # noqa: E402
)
from rsad.service import jobs as retrain  # noqa: E402
from rsad.service.jobs import first_model_epochs  # noqa: E402
from rsad.training import train as training  # noqa: E402

SEED = 7  # the demo's


def demo_tables(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo's (labeled seed, batch) tables, the batch with its hidden truth kept."""
    tables = []
    for n, rate, prefix in ((LABELED_USERS, LABELED_RATE, "u"), (UNLABELED_USERS, UNLABELED_RATE, "n")):
        events, users = make_events(n, anomaly_rate=rate, seed=seed, id_prefix=prefix)
        tables.append(describe_events(events).merge(users, on="user_id", how="left", validate="1:1"))
    return tables[0], tables[1]


@dataclass
class LoopResult:
    starter: dict[str, float]
    candidate: dict[str, float]
    verdicts: int
    anomalies_answered: int
    held_out: int
    held_out_anomalies: int
    comparison: object  # rsad.evaluation.bootstrap.PairedBootstrap: candidate - starter
    seconds: dict[str, float]


def _ingest(store, frame: pd.DataFrame, name: str) -> None:  # noqa: ANN001
    uploads.save_batch(store, load_batch(frame.to_csv(index=False).encode(), file_name=f"{name}.csv"), name=name)


def _scores(store, version, table: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    clf = versions.load_classifier(store, version)
    return clf.score(table["behavior_description"].tolist())


def run_loop(root: Path, *, starter_labels: int | None = None, verdicts: int = 200, page: int = 50,
             strategy: str = "active", max_length: int = 128, seed: int = 0,
             start_from: str = "base") -> LoopResult:
    """The loop in a fresh store under ``root`` (see the module's doc)."""
    from rsad.evaluation.bootstrap import paired_bootstrap
    from rsad.service import next_cases

    seconds: dict[str, float] = {}
    seed_table, batch = demo_tables()
    if starter_labels:
        seed_table = seed_table.sample(starter_labels, random_state=seed)
    settings = Settings(db_url=f"sqlite:///{root}/rsad.sqlite3", models_dir=root / "models", device="cpu",
                        bootstrap=False, score_precision="fp32", max_length=max_length)
    store = batches.open_store(settings)
    admin = User("admin", "admin")
    try:
        t0 = time.monotonic()
        _ingest(store, seed_table.drop(columns=["persona", "vertical"]), "demo-seed")
        truth = dict(zip(batch["case_id"].astype(str), batch["is_anomaly"].astype(int)))
        _ingest(store, batch.drop(columns=["is_anomaly", "persona", "vertical"]), "demo-batch")
        epochs = first_model_epochs(len(seed_table)) if starter_labels else 1  # the demo's starter: one epoch
        config = TrainConfig(epochs=epochs, learning_rate=5e-5, min_steps=0, max_length=max_length, seed=seed)
        starter = training.train_table(store, retrain_table(store), config=config, created_by="bench")
        seconds["starter"] = time.monotonic() - t0
        scoring.score_batch(store, "demo-batch", model=starter.name)

        t0 = time.monotonic()
        answered: list[str] = []
        while len(answered) < verdicts:
            # A page at a time, as an analyst works through it; the next page is asked for afterwards.
            rows = next_cases.next_cases(store, "demo-batch", n=min(page, verdicts - len(answered)),
                                         strategy=strategy, seed=seed + len(answered))
            for r in rows:
                label = "anomaly" if truth[str(r.external_id)] else "normal"
                review.record_verdicts(store, [r.id], label, analyst="sim")
                answered.append(str(r.external_id))
        seconds["choosing"] = time.monotonic() - t0

        t0 = time.monotonic()
        params = retrain.RetrainParams(start_from=start_from, epochs=first_model_epochs(len(seed_table) + verdicts),
                                       max_length=max_length, seed=seed)
        job = retrain.start(store, params, user=admin, spawn=False)
        done = retrain.run(store, job["id"])
        seconds["retraining"] = time.monotonic() - t0
        candidate = versions.get_version(store, done["version_name"])

        held = batch[~batch["case_id"].astype(str).isin(answered)]
        y = held["is_anomaly"].to_numpy()
        s_start, s_cand = _scores(store, starter, held), _scores(store, candidate, held)
        return LoopResult(
            starter=binary_metrics(y, s_start, starter.threshold),
            candidate=binary_metrics(y, s_cand, candidate.threshold),
            verdicts=len(answered), anomalies_answered=sum(truth[a] for a in answered),
            held_out=len(held), held_out_anomalies=int(y.sum()),
            comparison=paired_bootstrap(y, s_cand, s_start, candidate.threshold, starter.threshold),
            seconds=seconds)
    finally:
        store.dispose()


def retrain_table(store) -> pd.DataFrame:  # noqa: ANN001
    from rsad.review.trainset import assemble

    return assemble(store).table()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--starter-labels", type=int, help="train the starter on this many seed labels (default: all)")
    p.add_argument("--verdicts", type=int, default=200)
    p.add_argument("--strategy", default="active", choices=["active", "uncertain", "random"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-from", default="base", help="the retraining's start: base (the Retrain form's default) "
                   "or active (continue from the starter)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="rsad-loop-") as tmp:
        r = run_loop(Path(tmp), starter_labels=args.starter_labels, verdicts=args.verdicts,
                     strategy=args.strategy, seed=args.seed, start_from=args.start_from)
    print(f"{r.verdicts} verdicts ({r.anomalies_answered} anomalies) in the {args.strategy} order; held out: "
          f"{r.held_out} batch cases ({r.held_out_anomalies} anomalies)")
    for k in ("pr_auc", "roc_auc", "f1", "precision", "recall"):
        print(f"  {k:9s} starter {r.starter[k]:.3f}  candidate {r.candidate[k]:.3f}  "
              f"delta {r.candidate[k] - r.starter[k]:+.3f}")
    for k, d in r.comparison.metrics.items():
        print(f"  bootstrap {k}: delta {d.delta:+.3f} (95% CI {d.low:+.3f} to {d.high:+.3f}): {d.verdict}")
    print("  seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in r.seconds.items()))


if __name__ == "__main__":
    main()
