"""Nearest cases by the model's own pooled vectors: an exact cosine index in memory, built from
the vectors in the store, cached per store and model version (so per project), and refreshed
when vectors arrive; plus embedding, on demand, the cases scored before vectors were kept.

Brute force over a unit-norm float32 matrix (one matrix-vector product and a partial sort) is
exact and met the target with room to spare at 100,000 cases; FAISS and usearch bought nothing
worth a dependency at this size (bench/similar.py, docs/decisions/0026-similar-cases-index.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from rsad.data import embeddings
from rsad.data.db import Store
from rsad.i18n import _
from rsad.model.versions import VersionInfo, load_classifier
from rsad.ops.background import prefetch
from rsad.progress import ProgressFn, no_progress

BACKFILL_CHUNK = 1_000  # cases embedded and committed together: bounded memory, resumable
CACHED_INDEXES = 4  # (store, version) pairs kept in memory: a few projects at once, ~150 MB each at 100k


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero: it is nobody's neighbour)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


@dataclass
class VectorIndex:
    """Exact cosine search over one version's vectors: ``ids`` ascending, ``unit`` their rows."""

    ids: np.ndarray
    unit: np.ndarray
    mark: tuple[int, int] = (0, 0)  # the store's (count, highest case id) when last read
    missing: int | None = None  # scored cases without a vector, once counted (see missing_count)

    def __len__(self) -> int:
        return len(self.ids)

    def vector_of(self, case_id: int) -> np.ndarray | None:
        i = int(np.searchsorted(self.ids, case_id))
        return self.unit[i] if i < len(self.ids) and self.ids[i] == case_id else None

    def query(self, vector: np.ndarray, k: int, exclude: tuple[int, ...] = ()) -> list[tuple[int, float]]:
        """The ``k`` nearest (case id, cosine), nearest first, leaving out ``exclude``."""
        if len(self.ids) == 0 or k <= 0:
            return []
        q = unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        sims = self.unit @ q
        for case_id in exclude:
            i = int(np.searchsorted(self.ids, case_id))
            if i < len(self.ids) and self.ids[i] == case_id:
                sims[i] = -np.inf
        k = min(k, len(self.ids) - sum(1 for c in exclude if self.vector_of(c) is not None))
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(self.ids[i]), float(sims[i])) for i in top]


_INDEXES: OrderedDict[tuple[str, int], VectorIndex] = OrderedDict()
_LOCK = threading.Lock()


def _key(store: Store, version_id: int) -> tuple[str, int]:
    return store.engine.url.render_as_string(hide_password=True), int(version_id)


def index_for(store: Store, version_id: int) -> VectorIndex:
    """The version's index, read from the store on first use and brought up to date when
    vectors arrived since (new cases only: appended; anything else, e.g. a deleted batch: reread)."""
    key = _key(store, version_id)
    with store.session() as s:
        mark = embeddings.watermark(s, version_id)
        with _LOCK:
            index = _INDEXES.get(key)
            if index is not None and index.mark == mark:
                _INDEXES.move_to_end(key)
                return index
            if index is not None and mark[0] > index.mark[0] and mark[1] > index.mark[1]:
                ids, matrix = embeddings.read_vectors(s, version_id, after=index.mark[1])
                if len(index) + len(ids) == mark[0] and matrix.shape[1] == index.unit.shape[1]:
                    index = VectorIndex(np.concatenate([index.ids, ids]),
                                        np.vstack([index.unit, unit_rows(matrix)]), mark)
                else:
                    index = None
            else:
                index = None
            if index is None:
                ids, matrix = embeddings.read_vectors(s, version_id)
                index = VectorIndex(ids, unit_rows(matrix) if len(ids) else matrix, mark)
            _INDEXES[key] = index
            _INDEXES.move_to_end(key)
            while len(_INDEXES) > CACHED_INDEXES:
                _INDEXES.popitem(last=False)
    return index


def load_vectors(store: Store, version_id: int, case_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(case ids ascending, unit-norm float32 matrix) of a version's vectors, for those of
    ``case_ids`` that have one (None: all of them). Cases without a vector are left out."""
    with store.session() as s:
        ids, matrix = embeddings.read_vectors(s, version_id, case_ids=case_ids)
    return ids, unit_rows(matrix) if len(ids) else matrix


def count_missing(store: Store, version_id: int) -> int:
    """Cases the version scored in this project that have no vector of it (counted now)."""
    with store.session() as s:
        return embeddings.count_missing(s, version_id, store.project_id)


def missing_count(store: Store, version_id: int) -> int:
    """:func:`count_missing`, counted once per state of the version's vectors: every scoring
    writes vectors with its scores, so the count only changes when vectors arrive or go (and
    the index is then rebuilt). It scans the version's scores, too slow for every page run."""
    vectors = index_for(store, version_id)
    if vectors.missing is None:
        vectors.missing = count_missing(store, version_id)
    return vectors.missing


def backfill(store: Store, version: VersionInfo, *, classifier: Any = None, progress: ProgressFn = no_progress,
             chunk: int = BACKFILL_CHUNK) -> int:
    """Embed, with ``version``, the cases it scored before vectors were kept; each chunk is
    committed on its own (a stopped run keeps what it did). Returns how many were embedded."""
    total = count_missing(store, version.id)
    message = _("embedding cases with {name}").format(name=version.name)
    progress(0, total, message)
    if not total:
        return 0
    clf = classifier or load_classifier(store, version)

    def encoded() -> Iterator[tuple[list[int], list[str], list[list[int]]]]:
        with store.session() as reader:
            for rows in embeddings.missing_cases(reader, version.id, store.project_id, chunk=chunk):
                texts = [t for _c, t in rows]
                yield [c for c, _t in rows], texts, clf.encode(texts)

    done = 0
    with store.session() as s:
        for case_ids, texts, ids in prefetch(encoded):
            base = done
            _scores, vectors = clf.score_and_embed_encoded(  # the texts: a blended version reads them
                ids, texts=texts, batch_size=store.settings.score_batch_size,
                progress=lambda d, _t, _m, base=base: progress(min(base + d, total), total, message))
            embeddings.put_embeddings(s, version.id, case_ids, vectors)
            s.commit()
            done += len(case_ids)
    progress(total, total, message)
    return done

