"""Training on a Store: fine-tune on a table, a file or the store's labels, then register the version."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from rsad.data.db import Store
from rsad.data.ingest import ColumnMap, load_batch
from rsad.model import versions
from rsad.model.card import TrainConfig
from rsad.model.registry import next_version_name, save_version
from rsad.model.versions import VersionInfo, get_version, version_info
from rsad.progress import ProgressFn, no_progress


def start_truncation(store: Store, init_from: str | None) -> str:
    """How a new version cuts long texts unless told: as the version it continues from (so a
    head+tail model stays one), else rsad's training default."""

    if not init_from:
        return TrainConfig.truncation
    return get_version(store, init_from).train_config.get("truncation", "head")


def train_table(store: Store, table: pd.DataFrame, *, config: Any = None, created_by: str = "cli",
                progress: ProgressFn = no_progress, training_set: Any = None,
                tmp_tag: str = "") -> VersionInfo:
    """Fine-tune (or, with the starter's recipe, fit a logistic head) on (id, text, label), save the
    version folder atomically, then register it.

    ``training_set`` (a :class:`rsad.review.trainset.TrainingSet`) is recorded with the version: its
    summary in the card, its rows as ``training_set.csv``. ``tmp_tag`` marks the temporary
    folder so a dead job's leftovers can be found.
    """
    from rsad.training.fine_tune import fine_tune
    from rsad.training.starter import RECIPE, fit_starter

    config = config or TrainConfig()
    if not config.base_model:
        config = replace(config, base_model=store.base_model_path)
    if config.init_from:
        config = replace(config, base_model=get_version(store, config.init_from).folder)
    fit = fit_starter if config.recipe == RECIPE else fine_tune  # the starter's head, or the fine-tune
    result = fit(table, config, device=store.settings.device, progress=progress)
    with store.session() as s:
        existing = [v.name for v in versions.list_model_versions(s, project_id=store.project_id)]
    name = next_version_name(existing, store.models_dir)
    extra: dict[str, Any] = {}
    if training_set is not None:
        summary = training_set.summary()
        extra = {"training_set": summary, "rows": training_set.batch_schema()}
    folder, card = save_version(result, store.models_dir, name, tmp_tag=tmp_tag, **extra)
    sources = card.training_set.get("by_source", {})
    with store.session() as s:
        v = versions.add_model_version(
            s, project_id=store.project_id, name=name, folder=str(folder), base_model=config.base_model,
            train_config=card.train_config, data_hash=card.data_hash,
            metrics={**card.metrics, "train_seconds": card.train_seconds,
                     "n_train": len(card.train_ids), "n_val": len(card.val_ids),
                     **({"n_seed": sum(sources.get("seed", {}).values()),
                         "n_verdict": sum(sources.get("verdict", {}).values()),
                         "n_conflicts": card.training_set.get("conflicts", 0)} if sources else {})},
            threshold=card.threshold, created_by=created_by)
        versions.add_model_event(s, v, "register", actor=created_by,
                          reason=f"trained on {len(card.train_ids) + len(card.val_ids):,} cases ({v.status})")
        return version_info(v)


def train_file(store: Store, path: str | Path, *, columns: ColumnMap = ColumnMap(),
               split: tuple[str, str] | None = None, config: Any = None, created_by: str = "cli",
               progress: ProgressFn = no_progress) -> VersionInfo:
    prepared = load_batch(path, columns=columns, label_required=True, split=split)
    return train_table(store, prepared.labeled_table(), config=config, created_by=created_by,
                       progress=progress)
