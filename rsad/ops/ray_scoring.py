"""Scoring on Ray Data (``rsad score BATCH --engine ray``): the same scores as rsad.ops.scoring,
spread over an actor pool of model replicas, on this machine or a cluster.

The driver (this process) reads the batch's unscored cases from the store in windows, hands
each window to Ray Data as a few blocks, ``map_batches`` runs them through :class:`ChunkScorer`
actors (each loads the version once and calls :func:`rsad.ops.scoring.score_texts`, the local
path's own step), and the driver writes the scores back chunk by chunk with the store's
``put_scores``: a stopped or crashed run keeps what it wrote, and a rerun scores only what is
missing. Only the driver touches the store, so workers need the model folder, not the database.
Ray is imported lazily: it is an optional extra (``pip install 'rsad[ray]'``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from rsad.config import Settings
from rsad.data import store as q
from rsad.data.db import Store
from rsad.errors import InputError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.ray_env import ray_session
from rsad.model.versions import VersionInfo, version_info
from rsad.ops import scoring
from rsad.ops.scoring import score_texts, write_chunk
from rsad.progress import ProgressFn, no_progress

WINDOW = 50_000  # cases per Ray Data run: bounded driver memory; each run loads the actors once
# An actor scores the local path's own chunks, whole: int8 scoring quantizes activations per
# forward batch, so a case's score depends on the cases batched with it (a few 1e-3 apart when
# they differ); the same chunks give the same length-sorted batches, hence the same scores.
FILE_BLOCK = 2_000  # rows per actor call for --input files (no local path to match)


class ChunkScorer:
    """A Ray Data actor: one model replica, loaded once, scoring blocks of (case_id, text)."""

    def __init__(self, settings: Settings, version: VersionInfo, batch_size: int) -> None:
        self.clf = versions.load_with_settings(settings, version)
        self.batch_size = batch_size

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in block["text"]]
        scores, vectors = score_texts(self.clf, texts, batch_size=self.batch_size)
        out = {"case_id": block["case_id"], "score": scores}
        if vectors is not None:  # kept beside the scores for similar cases, as the local path does
            out["vector"] = np.asarray(vectors, dtype=np.float32)
        return out


def _map(ray: ModuleType, ds: Any, settings: Settings, version: VersionInfo, workers: int, gpus: float, *,
         block: int | None = FILE_BLOCK) -> Any:
    """``ds`` scored by a pool of ``workers`` actors (each with ``gpus`` GPUs, else one CPU),
    ``block`` rows per call (None: each block whole)."""
    return ds.map_batches(ChunkScorer, batch_format="numpy", batch_size=block,
                          compute=ray.data.ActorPoolStrategy(size=workers),
                          fn_constructor_kwargs={"settings": settings, "version": version,
                                                 "batch_size": settings.score_batch_size},
                          **({"num_gpus": gpus} if gpus else {"num_cpus": 1}))


def _windows(store: Store, batch_id: int, version_id: int, size: int) -> Iterator[list[pd.DataFrame]]:
    """The batch's unscored cases as the local path reads them (chunks of ``scoring.SCORE_CHUNK``
    in id order, each one block), ``size`` cases' worth of chunks at a time."""
    chunk = min(size, scoring.SCORE_CHUNK)  # read at call time: tests and tools shrink the chunk
    with store.session() as reader:
        blocks: list[pd.DataFrame] = []
        for rows in q.unscored_cases(reader, batch_id, version_id, chunk=chunk):
            blocks.append(pd.DataFrame(rows, columns=["case_id", "text"]))
            if sum(map(len, blocks)) >= size:
                yield blocks
                blocks = []
        if blocks:
            yield blocks


def _resolve(store: Store, batch: str | int | None, model: str | None) -> tuple[Any, VersionInfo]:
    with store.session() as s:
        b = q.get_batch(s, batch, project_id=store.project_id) if batch is not None else None
        version = version_info(versions.get_model_version(s, model, project_id=store.project_id))
        if b is not None:
            b = (b.id, b.name, b.row_count, q.count_unscored(s, b.id, version.id))
    return b, version


def score_batch_ray(store: Store, batch: str | int, *, model: str | None = None, address: str | None = None,
                    workers: int = 1, gpus: float = 0.0, num_cpus: int | None = None, window: int = WINDOW,
                    progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every not-yet-scored case of a batch on Ray with ``workers`` model replicas; the
    scores equal :func:`rsad.ops.scoring.score_batch`'s. Returns what it returns, less the drift check."""
    if workers < 1:
        raise InputError(_("Ray scoring needs at least one worker."))
    (batch_id, batch_name, total, todo), version = _resolve(store, batch, model)
    message = _("scoring on Ray ({n} workers)").format(n=workers)
    done = total - todo
    progress(done, total, message)
    if todo:
        with ray_session(address, num_cpus=num_cpus) as ray:
            for blocks in _windows(store, batch_id, version.id, window):
                # one object per block: from_pandas would hand the pool a single input, one actor's work
                refs = [ray.put(block) for block in blocks]
                scored = _map(ray, ray.data.from_pandas_refs(refs), store.settings, version, workers, gpus,
                              block=None)
                for out in scored.iter_batches(batch_size=None, batch_format="numpy"):
                    with store.session() as s:
                        write_chunk(s, version.id, out["case_id"].tolist(), out["score"].tolist(), out.get("vector"))
                    done += len(out["case_id"])
                    progress(done, total, message)
    with store.session() as s:
        scores = np.asarray(q.batch_scores(s, batch_id, version.id))
    return {"batch": batch_name, "batch_id": batch_id, "model": version.name, "threshold": version.threshold,
            "rows": total, "scored_now": todo, "flagged": int((scores >= version.threshold).sum()),
            "scores": scores, "check": None, "engine": "ray", "workers": workers}


def score_file_ray(store: Store, source: Path, out: Path, *, model: str | None = None, address: str | None = None,
                   workers: int = 1, gpus: float = 0.0, num_cpus: int | None = None, id_column: str = "case_id",
                   text_column: str = "behavior_description", progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score a Parquet or CSV file (or a folder of them) too big to ingest, into Parquet files in
    ``out`` (case_id, score): Ray reads and writes in parallel and the store is not touched, so
    the driver is no bottleneck. A rerun writes the same scores again (a fresh ``out``)."""
    suffix = (next(iter(sorted(source.glob("*.*"))), source) if source.is_dir() else source).suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(_("Ray scoring reads Parquet or CSV files: {path} is neither.").format(path=source))
    _b, version = _resolve(store, None, model)
    progress(0, 1, _("scoring {path} on Ray").format(path=source.name))
    with ray_session(address, num_cpus=num_cpus) as ray:
        read = ray.data.read_parquet if suffix == ".parquet" else ray.data.read_csv
        ds = read(str(source))
        missing = {id_column, text_column} - set(ds.schema().names)
        if missing:
            raise InputError(_("{path} has no column {columns}: name them with --id-col and "
                               "--text-col.").format(path=source, columns=", ".join(sorted(missing))))
        ds = ds.select_columns([id_column, text_column]).rename_columns({id_column: "case_id", text_column: "text"})
        # the vectors stay out of the file: kept for similar cases, they belong to the store's cases
        _map(ray, ds, store.settings, version, workers, gpus).select_columns(["case_id", "score"]).write_parquet(
            str(out))
        rows = ray.data.read_parquet(str(out)).count()
    progress(1, 1, _("scored"))
    return {"file": str(source), "out": str(out), "model": version.name, "rows": rows, "engine": "ray",
            "workers": workers}
