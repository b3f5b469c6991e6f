"""Scoring on a Store with one chunked scorer: a batch with a version, and the whole store after
a promotion (:func:`rescore`). Each chunk is read and tokenized ahead in a producer thread,
scored, and committed on its own with its cases' pooled vectors (:func:`score_chunk`; similar
cases compare them): memory stays bounded, and a stopped run keeps what it finished and
continues from there when run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data import embeddings
from rsad.data import store as q
from rsad.data.db import Store
from rsad.errors import StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo, load_classifier, version_info
from rsad.ops.background import prefetch
from rsad.ops.drift_check import try_check_batch
from rsad.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rsad.model.classifier import Classifier

SCORE_CHUNK = 2_000  # cases read, scored and committed together: bounded memory, resumable
CaseChunks = Callable[["Session"], Iterator[list[tuple[int, str]]]]


def score_texts(clf: Any, texts: list[str], *, ids: list[list[int]] | None = None, batch_size: int = 32,
                progress: ProgressFn = no_progress) -> tuple[np.ndarray, np.ndarray | None]:
    """One chunk's anomaly scores and pooled vectors: the step every engine shares (this module's
    chunked loop and Ray's actors in rsad.ops.ray_scoring), so both give the same scores and
    vectors. ``ids``: the texts already encoded (the local loop encodes ahead in its producer
    thread). A stand-in classifier without vectors (tests) gives the scores and None."""
    ids = (clf.encode(texts) if texts else []) if ids is None else ids
    # the texts too: a blended version's bag of words reads them (rsad.model.lexical)
    both = getattr(clf, "score_and_embed_encoded", None)
    if both is None:
        return np.asarray(clf.score_encoded(ids, texts=texts, batch_size=batch_size, progress=progress)), None
    scores, vectors = both(ids, texts=texts, batch_size=batch_size, progress=progress)
    return np.asarray(scores), vectors


def write_chunk(session: Session, version_id: int, case_ids: list[int], scores: Any,
                vectors: np.ndarray | None) -> None:
    """A chunk's scores and vectors into ``session``, uncommitted: the caller commits the chunk
    as one transaction (a stopped run keeps whole chunks)."""
    q.put_scores(session, version_id, case_ids, scores)
    if vectors is not None:
        embeddings.put_embeddings(session, version_id, case_ids, np.asarray(vectors))


def score_chunk(session: Session, clf: Any, version_id: int, case_ids: list[int], texts: list[str],
                ids: list[list[int]], *, batch_size: int, progress: ProgressFn = no_progress) -> np.ndarray:
    """Score one chunk (already tokenized) and write its scores and pooled vectors into
    ``session``, uncommitted (:func:`score_texts` then :func:`write_chunk`)."""
    scores, vectors = score_texts(clf, texts, ids=ids, batch_size=batch_size, progress=progress)
    write_chunk(session, version_id, case_ids, scores, vectors)
    return scores


def _score_chunks(store: Store, clf: Classifier, version: VersionInfo, chunks: CaseChunks, *,
                  done: int, total: int, progress: ProgressFn, message: str) -> int:
    """Score what ``chunks`` reads (with its own session, in a producer thread), committing each
    chunk's scores and vectors; return how many cases were scored."""

    def encoded() -> Iterator[tuple[list[int], list[str], list[list[int]]]]:
        with store.session() as reader:
            for chunk in chunks(reader):
                texts = [t for _, t in chunk]
                yield [c for c, _ in chunk], texts, clf.encode(texts)

    scored = 0
    with store.session() as s:
        for case_ids, texts, ids in prefetch(encoded):
            base = done + scored
            score_chunk(s, clf, version.id, case_ids, texts, ids, batch_size=store.settings.score_batch_size,
                        progress=lambda d, _t, _m, base=base: progress(base + d, total, message))
            s.commit()
            scored += len(case_ids)
    return scored


def score_batch(store: Store, batch: str | int, *, model: str | None = None, classifier: Any = None,
                progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every not-yet-scored case of a batch with a version (the active one by default), then
    check the batch against what the version was validated on (``check``: plain data, None when
    it could not be computed; see rsad.ops.drift_check)."""
    with store.session() as s:
        b = q.get_batch(s, batch, project_id=store.project_id)
        version = version_info(versions.get_model_version(s, model, project_id=store.project_id))
        total, batch_id, batch_name = b.row_count, b.id, b.name
        todo = q.count_unscored(s, b.id, version.id)
    clf = classifier or load_classifier(store, version)
    progress(total - todo, total, _("scoring"))
    _score_chunks(store, clf, version,
                  lambda reader: q.unscored_cases(reader, batch_id, version.id, chunk=SCORE_CHUNK),
                  done=total - todo, total=total, progress=progress, message=_("scoring"))
    with store.session() as s:
        scores = np.asarray(q.batch_scores(s, batch_id, version.id))
    flagged = int((scores >= version.threshold).sum())
    return {"batch": batch_name, "batch_id": batch_id, "model": version.name,
            "threshold": version.threshold, "rows": total, "scored_now": todo,
            "flagged": flagged, "scores": scores,
            "check": try_check_batch(store, clf, version, batch_id, scores) if total else None}


def rescore_status(store: Store) -> dict[str, Any] | None:
    """Cases the active version has not scored yet, unreviewed and reviewed (None: no active model)."""
    with store.session() as s:
        active = versions.active_model(s, project_id=store.project_id)
        if active is None:
            return None
        unreviewed, reviewed = q.unscored_counts(s, active.id, project_id=store.project_id)
    return {"model": active.name, "unreviewed": unreviewed, "reviewed": reviewed}


def rescore(store: Store, *, user: User, progress: ProgressFn = no_progress, classifier: Any = None,
            chunk: int | None = None) -> dict[str, Any]:
    """Score every case the active version has no score for, unreviewed ones first (admins only:
    it changes the scores every analyst's queue is ordered by)."""
    policies.authorize(user, policies.Action.RESCORE)
    status = rescore_status(store)
    if status is None:
        raise StateError(_("There is no active model to rescore with."))
    version = versions.get_version(store, status["model"])
    total = status["unreviewed"] + status["reviewed"]
    started, done, message = time.monotonic(), 0, _("rescoring with {name}").format(name=version.name)
    progress(0, total, message)
    if total:
        clf = classifier or load_classifier(store, version)
        size = chunk or SCORE_CHUNK  # read at call time: tests and tools shrink the module's chunk
        done = _score_chunks(store, clf, version,
                             lambda reader: q.unscored_store_cases(reader, version.id, chunk=size,
                                                                   project_id=store.project_id),
                             done=0, total=total, progress=progress, message=message)
    progress(total, total, _("rescored"))
    return {"model": version.name, "scored": done, "unreviewed": status["unreviewed"],
            "reviewed": status["reviewed"], "seconds": time.monotonic() - started}
