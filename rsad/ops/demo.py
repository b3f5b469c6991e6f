"""The embedded default: synthetic platform data, a starter model and a scored batch.

``bootstrap`` is what `rsad demo` and a fresh `streamlit run app.py` run. Each step checks
what already exists, so a second run (or a run after a crash) only does what is missing.
The Chinese demo (``lang="zh"``, :mod:`rsad.data.synth_zh`) builds into its own project,
``demo-zh`` unless another is named (:func:`demo_project_name`), so that it never mixes its
batches and model with an English demo's; it fine-tunes that project's base model.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from rsad.auth import users as auth
from rsad.auth.users import User
from rsad.config import embedded_base_model
from rsad.data import locks, uploads
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.ingest import load_batch
from rsad.data.project_settings import RingSettings, project_ring_settings, set_ring_settings
from rsad.data.projects import add_project, project_names
from rsad.data.synth import make_demo_tables
from rsad.data.synth_zh import make_zh_demo_tables
from rsad.errors import InputError, ModelError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.card import STARTER_RECIPE, TrainConfig
from rsad.model.versions import VersionInfo, active_model
from rsad.ops import precompute, scoring, vocab_check
from rsad.progress import Phases, ProgressFn, no_progress
from rsad.review.trainset import assemble
from rsad.training import jobs, train

SEED_BATCH = "demo-seed"  # ~2,500 labeled records the starter model learns from
DEMO_BATCH = "demo-batch"  # ~1,000 unlabeled records to triage, 5-10 % anomalies
DEMO_SEED = 7
DEMO_ENTITIES = ("user_id", "device_id", "ip", "shop_id")  # the demo's entity columns (rings)
DEMO_RING_WINDOW_HOURS = 6.0  # the planted rings act within an hour; ordinary users spread over 30 days
ZH_PROJECT = "demo-zh"  # the Chinese demo's project when none is named
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}
DEMO_TABLES: dict[str, Callable[[int], tuple[Any, Any]]] = {"en": make_demo_tables, "zh": make_zh_demo_tables}


def starter_config() -> TrainConfig:
    """The starter model's recipe: the frozen base encoder with a logistic head (seconds, no
    fine-tune; rsad.training.starter, docs/decisions/0028-first-minute.md)."""
    return TrainConfig(recipe=STARTER_RECIPE)


def demo_train_config() -> TrainConfig:
    """The fine-tuned candidate's recipe (trained after the starter, in the background): one epoch
    (the default learning rate), to fit in a few CPU minutes.

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
            raise StateError(_("The demo is already being built by another process; wait for it to finish.")) from None
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            with locks.try_hold(store, locks.DEMO_BUILD) as taken:  # a replica on another machine
                if not taken:
                    raise StateError(_("The demo is already being built by another process; wait for it to "
                                       "finish."))
                yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _batch_exists(store: Store, name: str) -> bool:
    with store.session() as s:
        return any(b["name"] == name for b in q.list_batches(s, project_id=store.project_id))


def _ingest_frame(store: Store, frame: Any, name: str) -> int:
    data = frame.to_csv(index=False).encode()
    prepared = load_batch(data, file_name=f"{name}.csv")
    return int(uploads.save_batch(store, prepared, name=name, uploader="demo")["id"])


def _demo_data(store: Store, lang: str, seed: int, sizes: tuple[int, int] | None, log: list[str]) -> None:
    """The demo's two batches in ``lang``, those missing only."""
    if _batch_exists(store, SEED_BATCH) and _batch_exists(store, DEMO_BATCH):
        return
    labeled, unlabeled = DEMO_TABLES[lang](seed)
    if sizes is not None:
        labeled = labeled.sample(n=min(sizes[0], len(labeled)), random_state=seed)
        unlabeled = unlabeled.sample(n=min(sizes[1], len(unlabeled)), random_state=seed)
    warned = False
    for frame, name in ((labeled, SEED_BATCH), (unlabeled, DEMO_BATCH)):
        if not _batch_exists(store, name):
            batch_id = _ingest_frame(store, frame, name)
            log.append(_("Stored batch {name!r}: {n:,} records.").format(name=name, n=len(frame)))
            # Said once, as on an upload: both batches are read by the same (base) model.
            warning = None if warned else vocab_check.ingest_warning(vocab_check.measure_batch(store, batch_id))
            if warning:
                log.append(warning)
                warned = True


def _demo_ring_settings(store: Store, lang: str) -> None:
    """The English demo's records name their user, device, IP and shop (rsad.data.synth_rings):
    the Rings page groups flagged cases by them, unless an admin already chose other settings."""
    with store.session() as s:
        if lang != "en" or project_ring_settings(s, store.project_id).entity_columns:
            return
    set_ring_settings(store, store.project_name, RingSettings(
        entity_columns=DEMO_ENTITIES, time_column="first_seen", window_hours=DEMO_RING_WINDOW_HOURS))


def base_model_lines(store: Store, lang: str) -> list[str]:
    """Which base model the starter model fine-tunes; for Chinese on the embedded MiniLM (whose
    vocabulary holds few Chinese characters), how to name a Chinese BERT instead."""
    path = store.base_model_path
    lines = [_("Base model of project {project}: {path}").format(project=store.project_name, path=path)]
    if lang == "zh" and Path(path).resolve() == Path(embedded_base_model()).resolve():
        lines.append(_("The embedded MiniLM reads almost no Chinese: for a model that reads these texts, build "
                       "the demo on a Chinese BERT in another project, e.g. `rsad demo --lang zh --project "
                       "demo-zh-bert --base-model FOLDER` (FOLDER: a Hugging Face model folder such as "
                       "bert-base-chinese)."))
    return lines


def demo_project_name(store: Store, lang: str, project: str | None) -> str:
    """The project the demo builds into: ``project`` if named, else 'demo-zh' for Chinese and
    the store's own project for English."""
    if lang not in DEMO_TABLES:
        raise InputError(_("No demo in language {lang!r}: use one of {choices}.").format(
            lang=lang, choices=", ".join(DEMO_TABLES)))
    return project or (ZH_PROJECT if lang == "zh" else store.project_name)


def ensure_demo_project(store: Store, name: str, *, base_model: str = "", created_by: str,
                        lang: str = "en") -> Store:
    """``store`` working in project ``name``, created on ``base_model`` if missing. An existing
    project keeps its base model: naming another one is refused (its versions fine-tune theirs)."""
    if name not in project_names(store):
        # Stored text, so not translated (it is shown to every user in their own language).
        add_project(store, name, created_by=created_by, base_model=base_model,
                    description=f"Demo data in {LANGUAGE_NAMES[lang]} (rsad demo --lang {lang})")
        return store.in_project(name)
    view = store.in_project(name)
    if base_model and Path(base_model).resolve() != Path(view.base_model_path).resolve():
        raise InputError(_("Project {project} already fine-tunes {current}, not {wanted}: name a new project "
                           "for the demo with --project NAME.").format(project=name, current=view.base_model_path,
                                                                        wanted=base_model))
    return view


def _train_starter(store: Store, train_config: Any, progress: ProgressFn) -> VersionInfo:
    """The demo's first version: ``train_config``, else the starter's recipe; a base model whose head
    cannot hold the starter's logistic regression is fine-tuned instead (demo_train_config)."""
    training_set = assemble(store)
    config = train_config or starter_config()
    try:
        return train.train_table(store, training_set.table(), config=replace(config), created_by="demo",
                                 progress=progress, training_set=training_set)
    except ModelError:
        if config.recipe != STARTER_RECIPE:
            raise
    return train.train_table(store, training_set.table(), config=demo_train_config(), created_by="demo",
                             progress=progress, training_set=training_set)


def bootstrap(store: Store, *, progress: ProgressFn = no_progress, train_config: Any = None,
              seed: int = DEMO_SEED, sizes: tuple[int, int] | None = None, lang: str = "en") -> dict[str, Any]:
    """Make sure the store has the demo batches, an active model and a scored demo batch.

    ``sizes`` (labeled, unlabeled) shrinks the data for tests; the default is the full demo.
    ``lang``: the language of the demo's texts ("en", or "zh": :mod:`rsad.data.synth_zh`).
    """
    demo_project_name(store, lang, store.project_name)  # an unknown language: refused before any work

    log: list[str] = []
    # shares of the wall time with the starter (so the overall fraction gives an ETA)
    phases = Phases({"data": 25, "train": 40, "score": 35}, progress)
    with _exclusive(store):
        step = phases.phase("data", _("Generating demo data"))
        step(0, 1, "")
        _demo_data(store, lang, seed, sizes, log)
        _demo_ring_settings(store, lang)
        step(1, 1, "")

        active = versions.active_version(store)
        log.extend(base_model_lines(store, lang))
        if active is None:
            active = _train_starter(store, train_config, phases.phase("train", _("Training the starter model")))
            m = active.metrics
            log.append(_("Trained starter model {name} ({recipe}) on {n:,} records in "
                         "{seconds:.0f} s: validation F1 {f1:.3f}, ROC-AUC {roc_auc:.3f}.").format(
                           name=active.name, recipe=active.train_config.get("recipe", "fine-tune"),
                           n=m["n_train"], seconds=m["train_seconds"], f1=m["f1"], roc_auc=m["roc_auc"]))
        else:
            log.append(_("Active model {name} already exists; not retraining.").format(name=active.name))

        info = scoring.score_batch(store, DEMO_BATCH, progress=phases.phase("score", _("Scoring the demo batch")))
        log.append(_("Batch {batch!r}: {rows:,} cases scored with {model}, "
                     "{flagged:,} flagged at threshold {threshold:.3f}.").format(
                       batch=DEMO_BATCH, rows=info["rows"], model=info["model"], flagged=info["flagged"],
                       threshold=info["threshold"]))
        password = auth.ensure_first_admin(store.settings)
    log.extend(sign_in_help(password))
    if store.project_name != "default":
        log.append(_("The demo is in project {project}: pick it in the sidebar's project switch, or add "
                     "--project {project} to rsad commands.").format(project=store.project_name))
    progress(Phases.SCALE, Phases.SCALE, _("Demo ready"))
    return {"log": log, "model": active.name, "flagged": info["flagged"], "rows": info["rows"],
            "admin_password": password}


# The demo's own background work acts as this admin: nobody has signed in when it starts.
DEMO_ACTOR = User(name="demo", role="admin", method="cli")


def needs_candidate(store: Store) -> bool:
    """The active version is the demo's starter, nothing else was trained, and no training job ran
    in the project: the fine-tuned candidate is still to come (and is started once only)."""
    if not store.settings.demo_candidate:
        return False
    active = versions.active_version(store)
    if active is None or active.train_config.get("recipe") != STARTER_RECIPE:
        return False
    return len(versions.list_versions(store)) == 1 and not jobs.recent(store, limit=1)


def follow_up(store: Store, *, progress: ProgressFn = no_progress, explain: int | None = None,
              spawn: bool = True) -> dict[str, Any]:
    """What comes after :func:`bootstrap`, while the desk is already usable: the attributions of the
    first ``explain`` cases of the Review queue (its order; ``settings.explain_first`` by default),
    then the full fine-tune as a background training job whose candidate is promoted only when
    better than the starter on the same held-out cases (:func:`rsad.training.versus.promote_if_better`)."""
    n = store.settings.explain_first if explain is None else explain
    active = versions.active_version(store)
    if active is None:
        raise StateError(_("The demo has no active model yet: run the bootstrap first (`rsad demo`)."))
    explained = precompute.explain_first(store, lambda: versions.load_classifier(store, active), n,
                                         progress=progress)
    job = None
    if needs_candidate(store):
        config = demo_train_config()
        job = jobs.start(store, jobs.RetrainParams(start_from="base", epochs=config.epochs,
                                                   learning_rate=config.learning_rate, score_batch=DEMO_BATCH,
                                                   promote_if_better=True), user=DEMO_ACTOR, spawn=spawn)
    return {"explained": explained, "job": job}


def follow_up_lines(result: dict[str, Any]) -> list[str]:
    """What :func:`follow_up` did, for a terminal."""
    info = result["explained"]
    lines = [_("Explained the first {n} cases of the Review queue ({computed} computed now).").format(
        n=info["cases"], computed=info["computed"])] if info["cases"] else []
    if result["job"] is not None:
        lines.append(_("Fine-tuning a candidate in the background (training job {id}): it replaces the starter "
                       "only if it is better on the same held-out cases; watch it with `rsad jobs` or on the "
                       "Models page.").format(id=result["job"]["id"]))
    return lines


def sign_in_help(password: str | None) -> list[str]:
    """How to sign in; with the first admin's password when it was just created (shown this once)."""
    start = _("Start the desk with `rsad serve` (or `streamlit run serve.py`) and open http://localhost:8501")
    if password is None:
        return [_("{start}; sign in with your user (`rsad users list`; add one with "
                  "`rsad users add NAME --role analyst`).").format(start=start)]
    return [_("Created the admin user {name!r} with password {password}").format(name=auth.FIRST_ADMIN,
                                                                                 password=password),
            _("  (shown only now: keep it, or set another with `rsad users passwd admin`)."),
            _("{start} and sign in as {name!r}; add analysts with `rsad users add NAME --role analyst`.").format(
                start=start, name=auth.FIRST_ADMIN)]


def needs_bootstrap(store: Store) -> bool:
    """A fresh store (no batches, no model) on which the demo bootstrap should run."""
    if not store.settings.bootstrap:
        return False
    with store.session() as s:
        return (active_model(s, project_id=store.project_id) is None
                and not q.list_batch_ids(s, limit=1, project_id=store.project_id))
