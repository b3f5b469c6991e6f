"""Similar cases for the pages and the CLI: a case's nearest neighbours in its project under the
active version, cases like a pasted text, and embedding the cases scored before vectors were
kept. Neighbours are compared by the pooled vector the model's head read (rsad.model.pooled),
by cosine, exactly (rsad.ops.similar)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data.db import Store
from rsad.errors import InputError, NotFoundError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo
from rsad.ops import similar as index
from rsad.ops.similar import load_vectors
from rsad.progress import ProgressFn, no_progress
from rsad.review.neighbours import describe

__all__ = ["Neighbour", "SimilarCases", "SimilarSummary", "backfill", "load_vectors", "search_by_example",
           "similar_cases", "vector_status"]
MAX_K = 100


@dataclass(frozen=True)
class Neighbour:
    """One near case: who it is, how the model scored it, what analysts said, how near it is."""

    case_id: int
    external_id: str
    batch: str
    snippet: str  # the text's start
    score: float | None  # under the active version
    verdict: str | None  # newest verdict label (None: unreviewed, or hidden for a blind second opinion)
    reason_code: str
    cosine: float


@dataclass(frozen=True)
class SimilarSummary:
    """The neighbours by newest verdict; ``reasons``: the anomaly verdicts' reason codes,
    commonest first ('' for none given)."""

    anomaly: int
    normal: int
    unsure: int
    unreviewed: int
    reasons: list[tuple[str, int]]


@dataclass(frozen=True)
class SimilarCases:
    """The answer: ``neighbours`` nearest first. ``has_vector`` False: the case itself has no
    vector under ``model`` (scored before vectors were kept), so no neighbours; ``missing`` says
    how many of the project's scored cases lack one (:func:`backfill` embeds them)."""

    model: str
    neighbours: list[Neighbour]
    summary: SimilarSummary
    has_vector: bool
    indexed: int
    missing: int


def _active(store: Store) -> VersionInfo:
    version = versions.active_version(store)
    if version is None:
        raise StateError(_("There is no active model in this project, so no case vectors to compare: train or "
                           "promote one first."))
    return version


def _check_k(k: int) -> int:
    if not 1 <= int(k) <= MAX_K:
        raise InputError(_("Ask for 1 to {most} similar cases, not {k}.").format(most=MAX_K, k=k))
    return int(k)


def summarize(neighbours: list[Neighbour]) -> SimilarSummary:
    labels = Counter(n.verdict for n in neighbours)
    reasons = Counter(n.reason_code for n in neighbours if n.verdict == "anomaly")
    return SimilarSummary(anomaly=labels["anomaly"], normal=labels["normal"], unsure=labels["unsure"],
                          unreviewed=labels[None], reasons=reasons.most_common())


def _answer(store: Store, user: User, version: VersionInfo, found: list[tuple[int, float]],
            *, has_vector: bool, indexed: int) -> SimilarCases:
    with store.session() as s:
        rows = describe(s, version.id, [c for c, _cos in found], project_id=store.project_id, viewer=user.name)
    neighbours = [Neighbour(case_id=c, cosine=cos, **rows[c]) for c, cos in found if c in rows]
    return SimilarCases(model=version.name, neighbours=neighbours, summary=summarize(neighbours),
                        has_vector=has_vector, indexed=indexed, missing=index.missing_count(store, version.id))


def similar_cases(store: Store, user: User, case_id: int, k: int = 10) -> SimilarCases:
    """The ``k`` cases of the project nearest to ``case_id`` under the active version."""
    policies.authorize(user, policies.Action.FIND_SIMILAR)
    k, version = _check_k(k), _active(store)
    with store.session() as s:
        if int(case_id) not in describe(s, version.id, [int(case_id)], project_id=store.project_id):
            raise NotFoundError(_("No case {case} in project {project}.").format(case=case_id,
                                                                                project=store.project_name))
    vectors = index.index_for(store, version.id)
    vector = vectors.vector_of(int(case_id))
    if vector is None:
        return _answer(store, user, version, [], has_vector=False, indexed=len(vectors))
    found = vectors.query(vector, k, exclude=(int(case_id),))
    return _answer(store, user, version, found, has_vector=True, indexed=len(vectors))


def search_by_example(store: Store, user: User, text: str, k: int = 10, *, classifier: Any = None) -> SimilarCases:
    """The ``k`` cases of the project nearest to a pasted ``text``, embedded with the active
    version (``classifier``: that version already loaded, e.g. the page's cached one)."""
    policies.authorize(user, policies.Action.FIND_SIMILAR)
    k, version = _check_k(k), _active(store)
    if not str(text or "").strip():
        raise InputError(_("Paste a behaviour description to search with."))
    clf = classifier or versions.load_classifier(store, version)
    vector = np.asarray(clf.embed([str(text)]))
    if vector.size == 0:
        raise StateError(_("Version {name} gives no vector to compare (its model has no classification head "
                           "rsad can read).").format(name=version.name))
    vectors = index.index_for(store, version.id)
    return _answer(store, user, version, vectors.query(vector[0], k), has_vector=True, indexed=len(vectors))


def vector_status(store: Store) -> tuple[str, int, int] | None:
    """(active version, cases with a vector, scored cases without one); None: no active version."""
    version = versions.active_version(store)
    if version is None:
        return None
    return version.name, len(index.index_for(store, version.id)), index.missing_count(store, version.id)


def backfill(store: Store, user: User, *, classifier: Any = None, progress: ProgressFn = no_progress) -> int:
    """Embed with the active version every case it scored before vectors were kept (admins: it
    runs the model over those cases). Returns how many were embedded."""
    policies.authorize(user, policies.Action.EMBED_CASES)
    return index.backfill(store, _active(store), classifier=classifier, progress=progress)
