"""Rings of coordinated accounts: (re)compute a batch's rings under the active version and keep them.

The batch's flagged cases (score at or above the active version's threshold) are grouped by
:func:`rsad.review.ring_groups.find_rings` with the project's ring settings (entity columns, time
column, window, near-duplicate cosine); the groups are stored with stable ids
(:func:`rsad.review.rings.save_rings`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.orm import Case, Score
from rsad.data.project_settings import project_ring_settings
from rsad.i18n import N_
from rsad.model import versions
from rsad.review import ring_groups, rings
from rsad.review.queue_meta import meta_text

VECTORS = N_("tf-idf character 3-5-grams")  # what near-duplicate means here (see _unit_vectors); shown translated


def _unit_vectors(store: Store, version_id: int, case_ids: list[int], texts: list[str]) -> Any:
    """Unit vectors of the flagged cases' texts, one row per case, for the near-duplicate links.

    TF-IDF over character 3-5-grams (scikit-learn), fitted on these texts: a near-duplicate is a
    copy with a few characters changed (a templated review, the same order placed again), which is
    what character n-grams measure; it needs no model load, so rings of a large batch come in
    seconds. Not the stored head vectors (``rsad.ops.similar.load_vectors``): a classifier puts
    every flagged case near every other, so their cosine cannot tell a copy from a fellow
    anomaly (measured in decision 0030).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return None
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)


def _flagged(store: Store, batch_id: int, version_id: int, threshold: float) -> list[tuple[int, str, dict, float]]:
    with store.session() as s:
        rows = s.execute(select(Case.id, Case.text, Case.meta, Score.score)
                         .join(Score, (Score.case_id == Case.id) & (Score.model_version_id == version_id))
                         .where(Case.batch_id == batch_id, Score.score >= threshold).order_by(Case.id))
        return [(cid, text or "", dict(meta or {}), float(score)) for cid, text, meta, score in rows]


def _common(store: Store, batch_id: int, columns: tuple[str, ...]) -> dict[str, set[str]]:
    """Entity values too common in the whole batch to link anything (see ring_groups.common_values),
    counted in SQL: a large batch's metadata never comes into memory."""
    out: dict[str, set[str]] = {}
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(Case).where(Case.batch_id == batch_id)) or 0
        limit = ring_groups.common_limit(total)
        for col in columns:
            value = meta_text(col)
            out[col] = {str(v).strip() for v in s.scalars(
                select(value).where(Case.batch_id == batch_id, value.is_not(None)).group_by(value)
                .having(func.count() > limit))}
    return out


def compute_rings(store: Store, batch: str | int) -> list[dict[str, Any]]:
    """Recompute and keep the rings of ``batch`` under the active version; returns them, largest
    first. Needs an active version that scored the batch (only its flagged cases are grouped)."""
    with store.session() as s:
        batch_id = q.get_batch(s, batch, project_id=store.project_id).id
        active = versions.require_active(s, project_id=store.project_id)
        version_id, threshold = active.id, active.threshold
        settings = project_ring_settings(s, store.project_id)
    flagged = _flagged(store, batch_id, version_id, threshold)
    metas = [m for _, _, m, _ in flagged]
    found = ring_groups.find_rings(
        [c for c, _, _, _ in flagged], [sc for _, _, _, sc in flagged], metas,
        entity_columns=settings.entity_columns,
        time_column=ring_groups.pick_time_column(metas, settings.time_column),
        window_hours=settings.window_hours, min_cosine=settings.near_duplicate_cosine,
        vectors=_unit_vectors(store, version_id, [c for c, _, _, _ in flagged], [t for _, t, _, _ in flagged]),
        ignore=_common(store, batch_id, settings.entity_columns))
    with store.session() as s:
        rings.save_rings(s, store.project_id, batch_id, version_id, found)
        return rings.ring_rows(s, batch_id, version_id)

