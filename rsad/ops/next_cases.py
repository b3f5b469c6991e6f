"""The "best next to label" list of a batch: which of its open cases an analyst should label
next so that the next retraining learns the most (the orders are :mod:`rsad.review.selection`'s).

Open cases are the batch's cases the active version scored, with no verdict and no label from
the upload. The pool comes from SQL, nearest to the threshold first, walking the score index
outward on both sides: a 100,000-case batch returns only ``POOL_FACTOR × n`` rows for
``active`` (``n`` for ``uncertain``); ``random`` reads the open ids and samples them seeded.
``active`` embeds the pool with the active version's own encoder (the features its scores come
from), keeps away from the batch's latest verdicts, and picks uncertain *and* diverse cases.

Embedding is the slow part, so the active list is kept in-process per (store, project, batch,
version, n, seed). A kept list is read back through the store: cases labeled meanwhile leave
it, scores are read afresh, and once fewer than half of it is left it is computed anew.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.orm import Case, Score, Verdict
from rsad.errors import InputError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo
from rsad.ops.coverage import embed_texts
from rsad.progress import ProgressFn, no_progress
from rsad.review.selection import POOL_FACTOR, STRATEGIES, choose, uncertainty

NEXT_N = 50  # cases per list: one page of the Review queue
MAX_N = 1_000  # the active order embeds POOL_FACTOR × n texts
PREVIEW_CHARS = 160
CACHE_SIZE = 64
_CACHE: dict[tuple, list[int]] = {}  # key -> case ids of the active order, best first
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class NextCase:
    """One case of the "best next to label" list."""

    id: int
    external_id: str
    score: float  # under the active version
    distance: float  # score minus the threshold: below it (negative) or above
    uncertainty: float  # 1 at the threshold, 0 at the far end (rsad.review.selection.uncertainty)
    preview: str  # the text's first PREVIEW_CHARS characters


def _open(batch_id: int, version_id: int, *columns: Any) -> Select:
    """The batch's open cases: scored by the version, no verdict, no label from the upload."""
    return (select(*columns).select_from(Case).join(Score, Score.case_id == Case.id)
            .where(Case.batch_id == batch_id, Score.model_version_id == version_id, Case.given_label.is_(None),
                   Case.id.not_in(select(Verdict.case_id))))


def _row_columns() -> tuple[Any, ...]:
    return Case.id, Case.external_id, Score.score, func.substr(Case.text, 1, PREVIEW_CHARS)


def nearest(session: Session, batch_id: int, version_id: int, threshold: float, k: int) -> list[Any]:
    """The ``k`` open cases nearest the threshold, nearest first: (id, external id, score, preview).

    Each side is read from the score index outward, so only ``2k`` rows are visited."""
    base = _open(batch_id, version_id, *_row_columns())
    above = session.execute(base.where(Score.score >= threshold).order_by(Score.score, Case.id).limit(k)).all()
    below = session.execute(base.where(Score.score < threshold).order_by(Score.score.desc(), Case.id)
                            .limit(k)).all()
    return sorted(above + below, key=lambda r: (abs(r[2] - threshold), r[0]))[:k]


def _rows_of(session: Session, ids: list[int], version_id: int) -> dict[int, Any]:
    """The rows of those of ``ids`` that are still open, by id."""
    if not ids:
        return {}
    query = (select(*_row_columns()).join(Score, Score.case_id == Case.id)
             .where(Case.id.in_(ids), Score.model_version_id == version_id, Case.given_label.is_(None),
                    Case.id.not_in(select(Verdict.case_id).where(Verdict.case_id.in_(ids)))))
    return {r[0]: r for r in session.execute(query)}


def _texts(session: Session, ids: list[int]) -> list[str]:
    found = dict(session.execute(select(Case.id, Case.text).where(Case.id.in_(ids))).all())
    return [found[i] for i in ids]


def _recently_labeled(session: Session, batch_id: int, limit: int) -> list[int]:
    """The batch's most recently reviewed cases: the active order keeps away from their kind."""
    newest = func.max(Verdict.id)
    return list(session.scalars(select(Verdict.case_id).join(Case, Case.id == Verdict.case_id)
                                .where(Case.batch_id == batch_id).group_by(Verdict.case_id)
                                .order_by(newest.desc()).limit(limit)))


def _checked(session: Session, store: Store, batch: str | int, n: int, strategy: str) -> tuple[int, VersionInfo]:
    """The batch's id and the active version, or the error that says what to do."""
    if strategy not in STRATEGIES:
        raise InputError(_("Unknown strategy {strategy!r}: use one of {strategies}.").format(
            strategy=strategy, strategies=", ".join(STRATEGIES)))
    if not 1 <= n <= MAX_N:
        raise InputError(_("Ask for 1 to {most:,} cases (asked for {n:,}).").format(most=MAX_N, n=n))
    b = q.get_batch(session, batch, project_id=store.project_id)
    active = versions.require_active(session, project_id=store.project_id)
    scored = session.scalar(select(Score.id).join(Case, Case.id == Score.case_id)
                            .where(Case.batch_id == b.id, Score.model_version_id == active.id).limit(1))
    if scored is None:
        raise StateError(_("Batch {batch!r} is not scored by the active model {model}: score it first "
                           "(`rsad score {batch}`, or Rescore on the Models page).").format(batch=b.name,
                                                                                         model=active.name))
    return b.id, versions.version_info(active)


def _records(rows: list[Any], threshold: float) -> list[NextCase]:
    u = uncertainty(np.array([r[2] for r in rows], dtype=np.float64), threshold) if rows else []
    return [NextCase(id=int(r[0]), external_id=str(r[1]), score=float(r[2]), distance=float(r[2]) - threshold,
                     uncertainty=float(x), preview=r[3] or "") for r, x in zip(rows, u)]


def _active_order(store: Store, batch_id: int, active: VersionInfo, n: int, progress: ProgressFn) -> list[int]:
    """Case ids in the desk's order: embed the uncertain pool (and recent verdicts), then choose."""
    with store.session() as s:
        pool = nearest(s, batch_id, active.id, active.threshold, POOL_FACTOR * n)
        texts = _texts(s, [r[0] for r in pool])
        labeled = _texts(s, _recently_labeled(s, batch_id, n))
    if not pool:
        return []
    max_length = int(active.train_config.get("max_length", store.settings.max_length))
    vectors = embed_texts(texts + labeled, active.folder, max_length=max_length, device=store.settings.device,
                          progress=progress)
    scores = np.array([r[2] for r in pool], dtype=np.float64)
    picked = choose(scores, active.threshold, n, "active", vectors=vectors[: len(pool)],
                    taken=vectors[len(pool):] if labeled else None)
    return [int(pool[i][0]) for i in picked]


def _cached_active(store: Store, batch_id: int, active: VersionInfo, n: int, seed: int,
                   progress: ProgressFn) -> list[NextCase]:
    """The kept active list, read back through the store; computed anew when none is kept or
    fewer than half of it is still open."""
    key = (store.location, store.project_id, batch_id, active.id, "active", n, seed)
    with _CACHE_LOCK:
        ids = _CACHE.get(key)
    if ids is not None:
        with store.session() as s:
            rows = _rows_of(s, ids, active.id)
        if 2 * len(rows) >= len(ids):
            return _records([rows[i] for i in ids if i in rows], active.threshold)
    ids = _active_order(store, batch_id, active, n, progress)
    with _CACHE_LOCK:
        if key not in _CACHE and len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = ids
    with store.session() as s:
        rows = _rows_of(s, ids, active.id)
    return _records([rows[i] for i in ids if i in rows], active.threshold)


def next_cases(store: Store, batch: str | int, n: int = NEXT_N, strategy: str = "active", seed: int = 0, *,
               progress: ProgressFn = no_progress) -> list[NextCase]:
    """The batch's ``n`` open cases to label next, in order, by ``strategy`` (see the module's doc).

    Fewer when the batch has fewer open cases. ``seed`` drives ``random`` (and keys the kept
    active list, so two seeds are two lists)."""
    with store.session() as s:
        batch_id, active = _checked(s, store, batch, n, strategy)
        if strategy == "uncertain":
            return _records(nearest(s, batch_id, active.id, active.threshold, n), active.threshold)
        if strategy == "random":
            ids = list(s.scalars(_open(batch_id, active.id, Case.id).order_by(Case.id)))
            picked = [ids[i] for i in choose(np.zeros(len(ids)), active.threshold, n, "random", seed=seed)]
            rows = _rows_of(s, picked, active.id)
            return _records([rows[i] for i in picked if i in rows], active.threshold)
    return _cached_active(store, batch_id, active, n, seed, progress)


def forget(store: Store | None = None) -> None:
    """Drop the kept active lists (of one store, or all): after a rescore under the same version."""
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if store is None or k[0] == store.location]:
            del _CACHE[key]
