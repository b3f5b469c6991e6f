"""Review for the pages: the queue (filtered, sorted, paged), a case with its claim, verdicts,
attributions (cached or computed) and their rendering, explain-ahead.

Each function opens its own transaction on a Store."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

from rsad.data import store as q
from rsad.data.db import Store
from rsad.evaluation.metrics import apply_temperature
from rsad.model import versions
from rsad.model.attributions import EXPLAIN_STEPS, cached_explanation, explanation
from rsad.model.explain_render import explanation_html, legend_html, top_words_figure
from rsad.ops.precompute import start_explain_ahead
from rsad.review import case_state, claims, second_opinion
from rsad.review import work_queue as qq
from rsad.review.verdicts import record_verdicts
from rsad.review.work_queue import SORTS, STATUSES, QueueFilter
from rsad.service.next_cases import with_ranking
from rsad.service.records import CaseView, QueuePage

__all__ = [
    "CaseView",
    "EXPLAIN_STEPS",
    "QueueFilter",
    "QueuePage",
    "SORTS",
    "STATUSES",
    "batches",
    "cached_explanation",
    "case_view",
    "claim_case",
    "explanation",
    "explanation_html",
    "legend_html",
    "metadata_keys",
    "metadata_values",
    "queue",
    "queue_case_at",
    "queue_position",
    "record_verdicts",
    "release_claims",
    "start_explain_ahead",
    "top_words_figure",
]


def batches(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        return q.batch_list(s, project_id=store.project_id)


_SCORED_COUNTS: dict[tuple, tuple[float, int]] = {}  # (store, version, watermark, filter) -> (when, count)
_SCORED_COUNTS_LOCK = threading.Lock()
SCORED_COUNT_TTL_S = 600.0  # a safety net: the watermark already changes with scores and batches


def _scored_count(s: Any, location: str, version_id: int, f: QueueFilter) -> int:
    """:func:`rsad.review.work_queue.scored_count`, remembered until scores or batches change.

    Counting a 100,000-case batch is the one full pass a queue page needs; verdicts do not
    change it, so each verdict -> next case rerun pays only for the (small) reviewed count.
    """
    if f.case_state is not None or f.assignee is not None:  # states change without the watermark moving
        return qq.scored_count(s, version_id, f)
    watermark = q.scores_watermark(s)
    # Claims are left out (see rsad.review.work_queue.count_matching), so analysts share the count.
    key = (location, version_id, watermark,
           replace(f, status="all", verdict=None, sort="score", viewer=None, ranked=(), second_opinion=None))
    now = time.monotonic()
    with _SCORED_COUNTS_LOCK:
        hit = _SCORED_COUNTS.get(key)
    if hit is not None and now - hit[0] < SCORED_COUNT_TTL_S:
        return hit[1]
    count = qq.scored_count(s, version_id, f)
    with _SCORED_COUNTS_LOCK:
        if len(_SCORED_COUNTS) >= 256:
            _SCORED_COUNTS.pop(next(iter(_SCORED_COUNTS)))
        _SCORED_COUNTS[key] = (now, count)
    return count


def queue(store: Store, f: QueueFilter, *, offset: int = 0, limit: int = 50) -> QueuePage:
    """A page of the queue under the active model, with the total count."""
    f = with_ranking(store, f)  # sort "active": the batch's best-next cases first
    with store.session() as s:
        active = versions.require_active(s, project_id=store.project_id)
        f.check()
        f = second_opinion.for_viewer(s, f, store.project_id)  # blind second opinions, if the project has them
        scored = None
        if not f.verdict and f.status != "reviewed":
            scored = _scored_count(s, store.location, active.id, f)
        rows, total = qq.queue_page(s, active.id, active.threshold, f, offset=offset, limit=limit,
                                    scored=scored)
        rows = second_opinion.blind_rows(s, f, rows)
        held = qq.held_by_others(s, f, project_id=store.project_id)
    return QueuePage(rows=rows, total=total, model=active.name, model_id=active.id,
                     threshold=active.threshold, offset=offset, held=held)


def queue_case_at(store: Store, f: QueueFilter, position: int, page: QueuePage | None = None) -> int | None:
    """The case id at ``position``; read from ``page`` (a :func:`queue` result) when it holds it."""
    if page is not None and (case_id := page.case_at(position)) is not None:
        return case_id
    f = with_ranking(store, f)
    with store.session() as s:
        active = versions.require_active(s, project_id=store.project_id)
        return qq.neighbour(s, active.id, active.threshold, second_opinion.for_viewer(s, f, store.project_id),
                            position)


def metadata_keys(store: Store, batch_id: int | None) -> list[str]:
    """Metadata column names (from a sample of cases: cheap on any batch size)."""
    with store.session() as s:
        return qq.meta_keys(s, batch_id, project_id=store.project_id)


def metadata_values(store: Store, batch_id: int | None, key: str, limit: int = 50) -> list[str]:
    """The commonest values of one metadata column (one scan: ask only for the chosen column)."""
    with store.session() as s:
        return qq.meta_values(s, batch_id, key, limit=limit, project_id=store.project_id)


def case_view(store: Store, case_id: int, viewer: str | None = None) -> CaseView:
    """The case as ``viewer`` may see it: while it waits for their blind second opinion, without
    the verdicts already given (``second_opinion`` is then True). No viewer: everything."""
    with store.session() as s:
        active = versions.active_model(s, project_id=store.project_id)
        detail = qq.case_detail(s, case_id, active.id if active else None, project_id=store.project_id)
        blind = second_opinion.for_viewer(s, QueueFilter(viewer=viewer), store.project_id)
        if second_opinion.blind_ids(s, blind, [case_id]):
            detail.update(verdicts=[], second_opinion=True)
    # With a saved calibration the score also reads as a probability (Thresholds page).
    t = active.temperature if active else None
    probability = (float(apply_temperature(detail["score"], t))
                   if t and detail.get("score") is not None else None)
    return CaseView(**detail, model=active.name if active else None,
                    threshold=active.threshold if active else None, probability=probability)


def claim_case(store: Store, case_id: int, analyst: str) -> dict[str, Any]:
    """Open a case for ``analyst``: take (or renew) the claim unless another analyst holds it.

    An open case goes in review, assigned to ``analyst`` unless it has an assignee.
    Returns the claim: ``mine`` says whether ``analyst`` holds it; otherwise ``analyst`` and
    ``expires_at`` say who does and until when."""
    with store.session() as s:
        qq.case_detail(s, int(case_id), None, project_id=store.project_id)  # another project's case: NotFound
        held = claims.claim(s, int(case_id), analyst, store.settings.claim_minutes)
        if held["mine"]:  # opening an open case starts its review (rsad.review.case_state)
            case_state.on_open(s, int(case_id), analyst)
        return held


def release_claims(store: Store, analyst: str) -> int:
    """Let go of every case ``analyst`` has open (they signed out)."""
    with store.session() as s:
        return claims.release_all(s, analyst)


def queue_position(store: Store, f: QueueFilter, case_id: int) -> int | None:
    """Where a case stands in the queue (0-based), or None when the filters leave it out."""
    f = with_ranking(store, f)
    with store.session() as s:
        active = versions.require_active(s, project_id=store.project_id)
        return qq.position_of(s, active.id, active.threshold, second_opinion.for_viewer(s, f, store.project_id),
                              int(case_id))
