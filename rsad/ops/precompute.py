"""Attributions computed before an analyst asks: a batch's top flagged cases right after
scoring, and the next cases of the queue while the analyst reads the current one.

Layer Integrated Gradients costs about a second per case on 2 CPU cores (50 steps are ~130
GFLOP for a 60-token text, near what the cores can do), so the Review page stays fast by
finding attributions in the store's cache instead of computing them on a page run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rsad.data.db import Store
from rsad.i18n import _
from rsad.model import attributions, versions
from rsad.ops.background import BackgroundJob
from rsad.progress import ProgressFn, no_progress
from rsad.review import work_queue as qq
from rsad.review.work_queue import QueueFilter


def planned_cases(flagged: int, n: int) -> int:
    """How many cases a batch's precompute covers: its top ``n`` flagged, fewer when fewer are."""
    return max(0, min(n, flagged))


def top_flagged(store: Store, batch_id: int, n: int) -> list[int]:
    """The ``n`` highest-scoring unreviewed cases of a batch at or above the active threshold."""
    with store.session() as s:
        active = versions.require_active(s, project_id=store.project_id)
        f = QueueFilter(batch_id=batch_id, score_min=min(1.0, max(0.0, active.threshold)), status="unreviewed")
        return qq.queue_ids(s, active.id, active.threshold, f, n)


FIRST_IN_QUEUE = 50  # cases of the Review queue explained ahead after a batch is scored (the demo)


def first_in_queue(store: Store, n: int) -> list[int]:
    """The first ``n`` cases Review opens, in its order: the default queue (every batch, unreviewed,
    by score) that the page shows to whoever signs in first."""
    with store.session() as s:
        active = versions.require_active(s, project_id=store.project_id)
        return qq.queue_ids(s, active.id, active.threshold, QueueFilter(), n)


def explain_first(store: Store, classifier: Any | Callable[[], Any], n: int = FIRST_IN_QUEUE, *,
                  progress: ProgressFn = no_progress) -> dict[str, int]:
    """Cache the attributions of the first ``n`` cases of the Review queue (see :func:`first_in_queue`)."""
    return explain_cases(store, first_in_queue(store, n) if n > 0 else [], classifier, progress=progress)


def explain_cases(store: Store, case_ids: list[int], classifier: Any | Callable[[], Any], *,
                  progress: ProgressFn = no_progress) -> dict[str, int]:
    """Make sure each case's attributions are cached; returns how many had to be computed.

    ``classifier`` may be a zero-argument loader: it is called only if a case is missing, so
    a fully cached list never loads the model.
    """
    computed = 0
    clf = None if callable(classifier) else classifier
    progress(0, len(case_ids), "attributions")
    for i, cid in enumerate(case_ids, 1):
        if attributions.cached_explanation(store, cid) is None:
            if clf is None:
                clf = classifier()
                if clf is None:  # no active model any more: nothing to explain with
                    break
            computed += not attributions.explanation(store, cid, clf)["cached"]
        progress(i, len(case_ids), "attributions")
    return {"cases": len(case_ids), "computed": computed}


def precompute_explanations(store: Store, batch_id: int, classifier: Any, n: int, *,
                            progress: ProgressFn = no_progress) -> dict[str, int]:
    """Cache the attributions an analyst opens first: the batch's top ``n`` flagged cases.

    Cached cases are skipped, so a rerun (or a case the analyst opened meanwhile) is free.
    """
    return explain_cases(store, top_flagged(store, batch_id, n) if n > 0 else [], classifier, progress=progress)


def start_precompute(store: Store, batch_id: int, classifier: Any, n: int) -> BackgroundJob:
    """:func:`precompute_explanations` in a background thread; watch it with ``snapshot()``."""
    return BackgroundJob(_("attributions for batch {batch}").format(batch=batch_id),
                         lambda progress: precompute_explanations(store, batch_id, classifier, n,
                                                                  progress=progress)).start()


def start_explain_ahead(store: Store, case_ids: list[int], classifier: Any | Callable[[], Any]) -> BackgroundJob:
    """:func:`explain_cases` for the next cases of the queue, in a background thread."""
    return BackgroundJob(_("attributions ahead"), lambda progress: explain_cases(
        store, case_ids, classifier, progress=progress)).start()
