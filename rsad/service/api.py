"""The operations the pages and the CLI share: each opens its own transactions on a Store.

Functions here return plain dicts and DataFrames so callers need neither SQLAlchemy nor torch.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsad.data import store as q
from rsad.auth.users import User
from rsad.config import Settings, get_settings
from rsad.data.csvsafe import to_safe_csv
from rsad.data.db import Store
from rsad.errors import InputError, ModelError
from rsad.data.ingest import ColumnMap, PreparedBatch, load_batch
from rsad.ops.background import prefetch
from rsad.progress import ProgressFn, no_progress

SCORE_CHUNK = 2_000  # cases read, scored and committed together: bounded memory, resumable


def open_store(settings: Settings | None = None) -> Store:
    """Open (and migrate) the store named by the settings."""
    return Store(settings or get_settings())


def version_info(v: Any) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "status": v.status, "threshold": v.threshold,
            "folder": v.folder, "base_model": v.base_model, "metrics": dict(v.metrics or {}),
            "train_config": dict(v.train_config or {}), "data_hash": v.data_hash,
            "created_by": v.created_by, "created_at": v.created_at, "temperature": v.temperature}


def active_version(store: Store) -> dict[str, Any] | None:
    with store.session() as s:
        v = q.active_model(s)
        return version_info(v) if v else None


def get_version(store: Store, name: str | None = None) -> dict[str, Any]:
    with store.session() as s:
        return version_info(q.get_model_version(s, name))


def list_versions(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        return [version_info(v) for v in q.list_model_versions(s)]


def overview(store: Store) -> dict[str, Any]:
    """Active model, store totals and per-batch counts at the active threshold."""
    with store.session() as s:
        active = q.active_model(s)
        return {
            "active": version_info(active) if active else None,
            "totals": q.totals(s),
            "batches": q.list_batches(s, active.id if active else None,
                                      active.threshold if active else None),
        }


def delete_batch(store: Store, ref: str | int, *, user: User, confirm: str | None = None) -> dict[str, Any]:
    """Delete a batch with everything recorded on it (verdicts too); admins only.

    ``confirm``, when given (the page asks the admin to type it), must repeat the batch's name."""
    from rsad.auth import audit
    from rsad.auth import policies

    actor = policies.authorize(user, policies.Action.DELETE_BATCH).name

    with store.session() as s:
        name = q.get_batch(s, ref).name
        if confirm is not None and confirm.strip() != name:
            raise InputError(f"Type the batch name {name!r} exactly to confirm deleting it.")
        info = q.delete_batch(s, ref)
        audit.add_event(s, "delete_batch", name, actor=actor, ok=True,
                        detail=f"{info['cases']} cases, {info['verdicts']} verdicts")
    logging.getLogger("rsad.service.api").warning("%r deleted batch %r (%d cases, %d verdicts)", actor, name,
                                          info["cases"], info["verdicts"])
    return info


# --- ingest and scoring --------------------------------------------------------------------

def save_batch(store: Store, prepared: PreparedBatch, *, name: str | None = None,
               uploader: str = "cli") -> dict[str, Any]:
    """Write a validated batch in one transaction."""
    name = name or Path(prepared.file_name).stem
    with store.session() as s:
        batch = q.add_batch(s, prepared, name=name, uploader=uploader)
        return {"id": batch.id, "name": batch.name, "rows": len(prepared),
                "labeled": prepared.n_labeled, "generated_ids": prepared.generated_ids}


def ingest_file(store: Store, source: str | Path | bytes, *, name: str | None = None,
                uploader: str = "cli", file_name: str | None = None,
                columns: ColumnMap = ColumnMap(), events: bool = False) -> dict[str, Any]:
    """Read, validate and store one batch file; nothing is written if any check fails."""
    prepared = load_batch(source, file_name=file_name, columns=columns, events=events,
                          max_bytes=store.settings.max_upload_bytes)
    return save_batch(store, prepared, name=name, uploader=uploader)


def load_classifier(store: Store, version: dict[str, Any]):  # noqa: ANN201 - torch lazily
    """Load a registered version for scoring with the store's device and length settings."""
    from rsad.model.classifier import Classifier
    from rsad.model.card import CARD_FILE

    # Only registered version folders are loaded: the folder comes from the store, never from input.
    if not (Path(version["folder"]) / CARD_FILE).is_file():
        raise ModelError(f"Version {version['name']}'s folder {version['folder']} is missing or is not an rsad "
                         f"model version (no {CARD_FILE}): restore it, or promote another version.")
    max_length = int(version["train_config"].get("max_length", store.settings.max_length))
    return Classifier.load(version["folder"], device=store.settings.device,
                           max_length=max_length, name=version["name"],
                           precision=store.settings.score_precision,
                           # versions saved before truncation was a setting read the head
                           truncation=version["train_config"].get("truncation", "head"))


def score_batch(store: Store, batch: str | int, *, model: str | None = None, classifier: Any = None,
                progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every not-yet-scored case of a batch with a version (the active one by default).

    Works in chunks, each committed on its own: an interrupted run keeps what it finished
    and a rerun picks up where it stopped.
    """
    with store.session() as s:
        b = q.get_batch(s, batch)
        version = version_info(q.get_model_version(s, model))
        total = b.row_count
        todo = q.count_unscored(s, b.id, version["id"])
        batch_id, batch_name = b.id, b.name
    clf = classifier or load_classifier(store, version)
    done = total - todo
    progress(done, total, "scoring")

    def chunks():  # runs in a producer thread with its own session: read + tokenize ahead
        with store.session() as reader:
            for chunk in q.unscored_cases(reader, batch_id, version["id"], chunk=SCORE_CHUNK):
                yield [c for c, _ in chunk], clf.encode([t for _, t in chunk])

    with store.session() as s:
        for case_ids, encoded in prefetch(chunks):
            base = done
            scores = clf.score_encoded(encoded, batch_size=store.settings.score_batch_size,
                                       progress=lambda d, _t, m: progress(base + d, total, m))
            q.put_scores(s, version["id"], case_ids, scores)
            s.commit()
            done += len(case_ids)
    with store.session() as s:
        scores = np.asarray(q.batch_scores(s, batch_id, version["id"]))
    flagged = int((scores >= version["threshold"]).sum())
    return {"batch": batch_name, "batch_id": batch_id, "model": version["name"],
            "threshold": version["threshold"], "rows": total, "scored_now": todo,
            "flagged": flagged, "scores": scores}


# --- training, evaluation, registry --------------------------------------------------------

def start_truncation(store: Store, init_from: str | None) -> str:
    """How a new version cuts long texts unless told: as the version it continues from (so a
    head+tail model stays one), else rsad's training default."""
    from rsad.model.card import TrainConfig

    if not init_from:
        return TrainConfig.truncation
    return get_version(store, init_from)["train_config"].get("truncation", "head")


def train_table(store: Store, table: pd.DataFrame, *, config: Any = None, created_by: str = "cli",
                progress: ProgressFn = no_progress, training_set: Any = None,
                tmp_tag: str = "") -> dict[str, Any]:
    """Fine-tune on (id, text, label), save the version folder atomically, then register it.

    ``training_set`` (a :class:`rsad.review.trainset.TrainingSet`) is recorded with the version: its
    summary in the card, its rows as ``training_set.csv``. ``tmp_tag`` marks the temporary
    folder so a dead job's leftovers can be found.
    """
    from rsad.model.registry import next_version_name, save_version
    from rsad.model.card import TrainConfig
    from rsad.training.fine_tune import fine_tune

    config = config or TrainConfig()
    if not config.base_model:
        config = replace(config, base_model=store.settings.base_model_path)
    if config.init_from:
        config = replace(config, base_model=get_version(store, config.init_from)["folder"])
    result = fine_tune(table, config, device=store.settings.device, progress=progress)
    with store.session() as s:
        existing = [v.name for v in q.list_model_versions(s)]
    name = next_version_name(existing, store.settings.models_dir)
    extra: dict[str, Any] = {}
    if training_set is not None:
        summary = training_set.summary()
        extra = {"training_set": summary, "rows": training_set.batch_schema()}
    folder, card = save_version(result, store.settings.models_dir, name, tmp_tag=tmp_tag, **extra)
    sources = card.training_set.get("by_source", {})
    with store.session() as s:
        v = q.add_model_version(
            s, name=name, folder=str(folder), base_model=config.base_model,
            train_config=card.train_config, data_hash=card.data_hash,
            metrics={**card.metrics, "train_seconds": card.train_seconds,
                     "n_train": len(card.train_ids), "n_val": len(card.val_ids),
                     **({"n_seed": sum(sources.get("seed", {}).values()),
                         "n_verdict": sum(sources.get("verdict", {}).values()),
                         "n_conflicts": card.training_set.get("conflicts", 0)} if sources else {})},
            threshold=card.threshold, created_by=created_by)
        q.add_model_event(s, v, "register", actor=created_by,
                          reason=f"trained on {len(table):,} cases ({v.status})")
        return version_info(v)


def train_file(store: Store, path: str | Path, *, columns: ColumnMap = ColumnMap(),
               split: tuple[str, str] | None = None, config: Any = None, created_by: str = "cli",
               progress: ProgressFn = no_progress) -> dict[str, Any]:
    prepared = load_batch(path, columns=columns, label_required=True, split=split)
    return train_table(store, prepared.labeled_table(), config=config, created_by=created_by,
                       progress=progress)


def store_training_table(store: Store) -> pd.DataFrame:
    """Current labels from the store as (id, text, label); see :mod:`rsad.review.trainset` for the rule."""
    from rsad.review.trainset import assemble

    return assemble(store).table()


def evaluate_file(store: Store, path: str | Path, *, model: str | None = None,
                  columns: ColumnMap = ColumnMap(), split: tuple[str, str] | None = None,
                  threshold: float | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score a labeled file with a version and compare with its labels."""
    from rsad.evaluation.metrics import binary_metrics, classification_report

    prepared = load_batch(path, columns=columns, label_required=True, split=split)
    table = prepared.labeled_table()
    version = get_version(store, model)
    clf = load_classifier(store, version)
    scores = clf.score(table["text"].tolist(), batch_size=store.settings.score_batch_size,
                       progress=progress)
    thr = version["threshold"] if threshold is None else threshold
    y = table["label"].to_numpy()
    return {"model": version["name"], "metrics": binary_metrics(y, scores, thr),
            "report": classification_report(y, scores, thr), "scores": scores, "labels": y}


def promote(store: Store, name: str, *, user: User, reason: str) -> dict[str, Any]:
    """Make a candidate active (recorded; admins only); see :mod:`rsad.ops.lifecycle` for rescoring."""
    from rsad.ops.lifecycle import promote as promote_version

    return promote_version(store, name, user=user, reason=reason)


def export_labels(store: Store, out: str | Path) -> dict[str, Any]:
    """Write the current labels in the batch schema (CSV or Parquet by extension).

    CSV cells that a spreadsheet would run as formulas are guarded (see :mod:`rsad.data.csvsafe`).
    """
    out = Path(out)
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise InputError(f"Export to .csv or .parquet, not {out.suffix or 'a file without extension'}.")
    with store.session() as s:
        rows = q.current_labels(s)
    df = labels_frame(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    if out.suffix.lower() == ".csv":
        tmp.write_bytes(to_safe_csv(df))  # texts starting with = + - @ must not run in a spreadsheet
    else:
        df.to_parquet(tmp, index=False)
    tmp.replace(out)
    return {"path": str(out), "rows": len(df),
            "anomalies": int(df["is_anomaly"].sum()) if len(df) else 0}


def labels_bytes(store: Store, fmt: str, *, user: User | None) -> bytes:
    """The current labels as a file's bytes ("csv" or "parquet"), for ``user`` only.

    The Labels page builds its download with this on click, in Streamlit's download thread
    (which has no page to ask who is signed in), so the check happens here, on the user as the
    user file has them at that moment: a user removed or demoted since the page rendered gets
    nothing.
    """
    import io

    from rsad.auth import policies

    policies.authorize(policies.refreshed(store.settings, user), policies.Action.EXPORT_LABELS)
    if fmt not in {"csv", "parquet"}:
        raise InputError(f"Export as csv or parquet, not {fmt!r}.")
    with store.session() as s:
        df = labels_frame(q.current_labels(s))
    if fmt == "csv":
        return to_safe_csv(df)  # texts starting with = + - @ must not run in a spreadsheet
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def labels_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Label rows flattened to the batch schema: text, label, id, then provenance and metadata."""
    if not rows:
        return pd.DataFrame(columns=["case_id", "behavior_description", "is_anomaly", "label_source", "batch"])
    base = pd.DataFrame([{k: v for k, v in r.items() if k not in {"meta", "case_pk"}} for r in rows])
    # Ids are unique per batch only; qualify the clashing ones so the file trains as is.
    clash = base["case_id"].duplicated(keep=False)
    base.loc[clash, "case_id"] = base.loc[clash, "batch"] + ":" + base.loc[clash, "case_id"]
    meta = pd.DataFrame([r["meta"] or {} for r in rows]).add_prefix("meta_")
    return pd.concat([base, meta], axis=1)


def device_label(settings: Settings | None = None) -> str:
    """The device scoring and training use, in words (e.g. 'cuda (NVIDIA H100)')."""
    from rsad.model.classifier import pick_device

    dev = pick_device((settings or get_settings()).device)
    if dev.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return dev.type


def needs_bootstrap(store: Store) -> bool:
    """A fresh store (no batches, no model) on which the demo bootstrap should run."""
    if not store.settings.bootstrap:
        return False
    with store.session() as s:
        return q.active_model(s) is None and not q.list_batch_ids(s, limit=1)


def preview_table(data: bytes, file_name: str, *, events: bool = False, settings: Settings | None = None) -> pd.DataFrame:
    """The file as read (event logs: as described), for the Upload page's preview and mapping."""
    from rsad.data.ingest import describe_table, read_table

    df = read_table(data, file_name, max_bytes=(settings or get_settings()).max_upload_bytes)
    return describe_table(df, file_name) if events else df


def same_file_batch(store: Store, data: bytes) -> str | None:
    """The name of an earlier batch uploaded from exactly these bytes, if any."""
    import hashlib

    with store.session() as s:
        batch = q.find_batch_by_sha(s, hashlib.sha256(data).hexdigest())
        return batch.name if batch else None


def trained_on(metrics: dict[str, Any]) -> tuple[str, str]:
    """('2,000 cases', '+500 validation'): what a version fitted its weights on, and the held-out
    cases that chose its threshold and gave its metrics. The Overview and `rsad models` both say
    it this way, so neither reads as a different count from the other."""
    return f"{metrics.get('n_train', 0):,} cases", f"+{metrics.get('n_val', 0):,} validation"
