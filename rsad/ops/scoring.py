"""Scoring on a Store, in committed chunks: a batch with a version, and the whole store after a promotion."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sqlalchemy import case, exists, func, select

from rsad.model import versions
from rsad.errors import StateError
from rsad.progress import ProgressFn, no_progress
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.orm import Case, Score, Verdict
from rsad.auth.users import User
from rsad.auth import policies
from rsad.ops.background import prefetch
from rsad.model.versions import load_classifier, version_info



SCORE_CHUNK = 2_000  # cases read, scored and committed together: bounded memory, resumable


def score_batch(store: Store, batch: str | int, *, model: str | None = None, classifier: Any = None,
                progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every not-yet-scored case of a batch with a version (the active one by default).

    Works in chunks, each committed on its own: an interrupted run keeps what it finished
    and a rerun picks up where it stopped.
    """
    with store.session() as s:
        b = q.get_batch(s, batch)
        version = version_info(versions.get_model_version(s, model))
        total = b.row_count
        todo = q.count_unscored(s, b.id, version.id)
        batch_id, batch_name = b.id, b.name
    clf = classifier or load_classifier(store, version)
    done = total - todo
    progress(done, total, "scoring")

    def chunks():  # runs in a producer thread with its own session: read + tokenize ahead
        with store.session() as reader:
            for chunk in q.unscored_cases(reader, batch_id, version.id, chunk=SCORE_CHUNK):
                yield [c for c, _ in chunk], clf.encode([t for _, t in chunk])

    with store.session() as s:
        for case_ids, encoded in prefetch(chunks):
            base = done
            scores = clf.score_encoded(encoded, batch_size=store.settings.score_batch_size,
                                       progress=lambda d, _t, m: progress(base + d, total, m))
            q.put_scores(s, version.id, case_ids, scores)
            s.commit()
            done += len(case_ids)
    with store.session() as s:
        scores = np.asarray(q.batch_scores(s, batch_id, version.id))
    flagged = int((scores >= version.threshold).sum())
    return {"batch": batch_name, "batch_id": batch_id, "model": version.name,
            "threshold": version.threshold, "rows": total, "scored_now": todo,
            "flagged": flagged, "scores": scores}


def _unscored(model_id: int):  # noqa: ANN202
    scored = select(Score.case_id).where(Score.model_version_id == model_id)
    return Case.id.not_in(scored)


def _reviewed():  # noqa: ANN202
    return exists().where(Verdict.case_id == Case.id)


def rescore_status(store: Store) -> dict[str, Any] | None:
    """Cases the active version has not scored yet, unreviewed and reviewed (None: no active model)."""
    with store.session() as s:
        active = versions.active_model(s)
        if active is None:
            return None
        total, reviewed = s.execute(select(func.count(Case.id), func.sum(case((_reviewed(), 1), else_=0)))
                                    .where(_unscored(active.id))).one()
    reviewed = int(reviewed or 0)
    return {"model": active.name, "unreviewed": int(total) - reviewed, "reviewed": reviewed}


def rescore(store: Store, *, user: User, progress: ProgressFn = no_progress, classifier: Any = None,
            chunk: int = SCORE_CHUNK) -> dict[str, Any]:
    """Score every case the active version has no score for, unreviewed ones first (admins only:
    it changes the scores every analyst's queue is ordered by).

    Each chunk is committed on its own: stopping half-way keeps what was done, and running
    again continues from there.
    """
    policies.authorize(user, policies.Action.RESCORE)
    status = rescore_status(store)
    if status is None:
        raise StateError("There is no active model to rescore with.")
    version = versions.get_version(store, status["model"])
    total = status["unreviewed"] + status["reviewed"]
    started, done = time.monotonic(), 0
    progress(0, total, f"rescoring with {version.name}")
    if total:
        clf = classifier or versions.load_classifier(store, version)
        while True:
            with store.session() as s:
                rows = s.execute(select(Case.id, Case.text).where(_unscored(version.id))
                                 .order_by(case((_reviewed(), 1), else_=0), Case.id).limit(chunk)).all()
            if not rows:
                break
            base = done
            scores = clf.score([t for _, t in rows], batch_size=store.settings.score_batch_size,
                               progress=lambda d, _t, _m: progress(base + d, total, f"rescoring with {version.name}"))
            with store.session() as s:
                q.put_scores(s, version.id, [c for c, _ in rows], scores)
            done += len(rows)
    progress(total, total, "rescored")
    return {"model": version.name, "scored": done, "unreviewed": status["unreviewed"],
            "reviewed": status["reviewed"], "seconds": time.monotonic() - started}
