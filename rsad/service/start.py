"""A project's first model, for the pages and the CLI: the coverage order of a batch, the
"label to start" queue with its per-class counts, and (re-exported from :mod:`rsad.service.jobs`)
``start_first_model``, which trains the first version in the background and scores a batch."""

from __future__ import annotations

from typing import Any

from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.projects import MIN_PER_CLASS, START_PER_CLASS
from rsad.model.versions import active_version
from rsad.ops.background import BackgroundJob
from rsad.ops.coverage import rank_for_coverage as _rank
from rsad.ops.coverage import start_ranking
from rsad.progress import ProgressFn, no_progress
from rsad.review.start_queue import CLASSES, StartQueue, start_page
from rsad.service.jobs import start_first_model

__all__ = ["CLASSES", "BackgroundJob", "StartQueue", "active_model_name", "rank_for_coverage", "start_first_model",
           "start_queue", "start_ranking"]


def rank_for_coverage(store: Store, batch: str | int, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Order the batch's unranked cases for the "label to start" queue (clusters of the project's
    base-model embeddings); returns batch, batch_id, ranked, embedded, clusters, seconds."""
    return _rank(store, batch, progress=progress)


def start_queue(store: Store, batch: str | int | None = None, *, offset: int = 0, limit: int = 20) -> StartQueue:
    """The project's (or one batch's) unlabeled, unreviewed cases in coverage order, with the
    labels of each class the project has, how many it needs (``start_per_class``) and ``ready``."""
    with store.session() as s:
        batch_id = q.get_batch(s, batch, project_id=store.project_id).id if batch is not None else None
        return start_page(s, store.project_id, batch_id=batch_id, offset=offset, limit=limit,
                          needed=needed_per_class(store))


def needed_per_class(store: Store) -> int:
    """Labels of each class the project wants before its first training (``start_per_class``)."""
    return max(MIN_PER_CLASS, int(store.project.settings.get("start_per_class", START_PER_CLASS)))


def active_model_name(store: Store) -> str | None:
    """The project's active version's name (None: the project has no model yet)."""
    active = active_version(store)
    return active.name if active else None
