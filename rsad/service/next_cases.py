"""The "best next to label" list for the pages and the CLI: a batch's open cases in the desk's
order (uncertain and diverse), most uncertain first, or random; and the ranking the Review
queue's "best next to label" sort puts first (rsad.review cannot compute it: it embeds)."""

from __future__ import annotations

from dataclasses import replace

from rsad.data.db import Store
from rsad.errors import StateError
from rsad.ops.next_cases import MAX_N, NEXT_N, NextCase, forget
from rsad.ops.next_cases import next_cases as _next_cases
from rsad.progress import ProgressFn, no_progress
from rsad.review.selection import STRATEGIES
from rsad.review.work_queue import QueueFilter

__all__ = ["MAX_N", "NEXT_N", "STRATEGIES", "NextCase", "forget", "next_cases", "with_ranking"]


def next_cases(store: Store, batch: str | int, n: int = NEXT_N, strategy: str = "active", seed: int = 0, *,
               progress: ProgressFn = no_progress) -> list[NextCase]:
    """The batch's ``n`` unlabeled, unreviewed cases to label next, in order (``strategy``: one
    of STRATEGIES). ``active`` embeds the first time (``progress`` reports it); later calls for
    the same batch and model read the kept list, without the cases labeled meanwhile."""
    return _next_cases(store, batch, n, strategy, seed, progress=progress)


def with_ranking(store: Store, f: QueueFilter, progress: ProgressFn = no_progress) -> QueueFilter:
    """``f`` with its batch's best-next case ids when it sorts by "active"; unchanged otherwise.

    Without a batch (or when the active model has not scored it) there is no ranking and the
    queue falls back to most uncertain first."""
    if f.sort != "active" or f.batch_id is None:
        return f
    try:
        ranked = next_cases(store, f.batch_id, NEXT_N, "active", progress=progress)
    except StateError:  # not scored by the active model: its queue is empty anyway
        return f
    return replace(f, ranked=tuple(c.id for c in ranked))
