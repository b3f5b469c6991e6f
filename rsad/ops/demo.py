"""The embedded default: synthetic platform data, a starter model and a scored batch.

``bootstrap`` is what `rsad demo` and a fresh `streamlit run app.py` run. Each step checks
what already exists, so a second run (or a run after a crash) only does what is missing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from rsad.auth import users as auth
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.db import Store
from rsad.data.ingest import load_batch
from rsad.data.synth import make_demo_tables
from rsad.errors import StateError
from rsad.model import versions
from rsad.model.card import TrainConfig
from rsad.model.versions import active_model
from rsad.ops import scoring
from rsad.progress import Phases, ProgressFn, no_progress
from rsad.review.trainset import assemble
from rsad.training import train

SEED_BATCH = "demo-seed"  # ~2,500 labeled records the starter model learns from
DEMO_BATCH = "demo-batch"  # ~1,000 unlabeled records to triage, 5-10 % anomalies
DEMO_SEED = 7


def demo_train_config() -> TrainConfig:
    """The starter model's recipe: one epoch (the default learning rate), to fit in a few CPU minutes.

    Measured on the demo data (2 cores): 1 epoch at lr 5e-5 took 304 s for validation ROC-AUC
    0.902 / PR-AUC 0.864; 2 epochs at the then-default 2e-5 took over twice as long for
    ROC-AUC 0.904 / PR-AUC 0.860.
    """

    # min_steps 0: the measured one-epoch recipe, not the small-data floor of rsad train (0021)
    return TrainConfig(epochs=1, learning_rate=5e-5, min_steps=0)


@contextmanager
def _exclusive(store: Store) -> Iterator[None]:
    """One bootstrap at a time per models folder, across processes (app and CLI)."""
    store.settings.models_dir.mkdir(parents=True, exist_ok=True)
    path = store.settings.models_dir / ".bootstrap.lock"
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError("The demo is already being built by another process; wait for it to finish.") from None
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _batch_exists(store: Store, name: str) -> bool:
    with store.session() as s:
        return any(b["name"] == name for b in q.list_batches(s, project_id=store.project_id))


def _ingest_frame(store: Store, frame: Any, name: str) -> None:
    data = frame.to_csv(index=False).encode()
    prepared = load_batch(data, file_name=f"{name}.csv")
    uploads.save_batch(store, prepared, name=name, uploader="demo")


def bootstrap(store: Store, *, progress: ProgressFn = no_progress, train_config: Any = None,
              seed: int = DEMO_SEED, sizes: tuple[int, int] | None = None) -> dict[str, Any]:
    """Make sure the store has the demo batches, an active model and a scored demo batch.

    ``sizes`` (labeled, unlabeled) shrinks the data for tests; the default is the full demo.
    """

    log: list[str] = []
    phases = Phases({"data": 4, "train": 80, "score": 16}, progress)
    with _exclusive(store):
        step = phases.phase("data", "Generating demo data")
        step(0, 1, "")
        if not (_batch_exists(store, SEED_BATCH) and _batch_exists(store, DEMO_BATCH)):
            labeled, unlabeled = make_demo_tables(seed=seed)
            if sizes is not None:
                labeled = labeled.sample(n=min(sizes[0], len(labeled)), random_state=seed)
                unlabeled = unlabeled.sample(n=min(sizes[1], len(unlabeled)), random_state=seed)
            for frame, name in ((labeled, SEED_BATCH), (unlabeled, DEMO_BATCH)):
                if not _batch_exists(store, name):
                    _ingest_frame(store, frame, name)
                    log.append(f"Stored batch {name!r}: {len(frame):,} records.")
        step(1, 1, "")

        active = versions.active_version(store)
        if active is None:
            config = train_config or demo_train_config()
            training_set = assemble(store)
            active = train.train_table(store, training_set.table(), config=replace(config), created_by="demo",
                                     progress=phases.phase("train", "Training the starter model"),
                                     training_set=training_set)
            m = active.metrics
            log.append(f"Trained starter model {active.name} on {m['n_train']:,} records in "
                       f"{m['train_seconds']:.0f} s: validation F1 {m['f1']:.3f}, ROC-AUC {m['roc_auc']:.3f}.")
        else:
            log.append(f"Active model {active.name} already exists; not retraining.")

        info = scoring.score_batch(store, DEMO_BATCH, progress=phases.phase("score", "Scoring the demo batch"))
        log.append(f"Batch {DEMO_BATCH!r}: {info['rows']:,} cases scored with {info['model']}, "
                   f"{info['flagged']:,} flagged at threshold {info['threshold']:.3f}.")
        password = auth.ensure_first_admin(store.settings)
    log.extend(sign_in_help(password))
    progress(Phases.SCALE, Phases.SCALE, "Demo ready")
    return {"log": log, "model": active.name, "flagged": info["flagged"], "rows": info["rows"],
            "admin_password": password}


def sign_in_help(password: str | None) -> list[str]:
    """How to sign in; with the first admin's password when it was just created (shown this once)."""
    start = "Start the desk with `streamlit run serve.py` and open http://localhost:8501"
    if password is None:
        return [f"{start}; sign in with your user (`rsad users list`; add one with "
                "`rsad users add NAME --role analyst`)."]
    return [f"Created the admin user {auth.FIRST_ADMIN!r} with password {password}",
            "  (shown only now: keep it, or set another with `rsad users passwd admin`).",
            f"{start} and sign in as {auth.FIRST_ADMIN!r}; add analysts with `rsad users add NAME --role analyst`."]


def needs_bootstrap(store: Store) -> bool:
    """A fresh store (no batches, no model) on which the demo bootstrap should run."""
    if not store.settings.bootstrap:
        return False
    with store.session() as s:
        return (active_model(s, project_id=store.project_id) is None
                and not q.list_batch_ids(s, limit=1, project_id=store.project_id))
