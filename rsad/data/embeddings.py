"""Case vectors in the store (the ``case_embeddings`` table): write them with the scores, read
them back for the similar-cases index. Vectors travel as float16 bytes (orm_vectors says why)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from rsad.data.orm import Batch, Case, CaseEmbedding, Score

STORED = np.dtype("<f2")  # little-endian float16, whatever the machine
IN_CHUNK = 900  # ids per IN (...) list: well under every backend's parameter limit


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=STORED).tobytes()


def from_bytes(data: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(data, dtype=STORED, count=dim).astype(np.float32)


def put_embeddings(session: Session, model_version_id: int, case_ids: Sequence[int],
                   vectors: np.ndarray) -> None:
    """Store vectors (one row each), replacing any earlier vector of the same (case, version)."""
    ids = [int(c) for c in case_ids]
    if not ids or vectors.size == 0:
        return
    for i in range(0, len(ids), IN_CHUNK):
        session.execute(delete(CaseEmbedding).where(CaseEmbedding.model_version_id == model_version_id,
                                                    CaseEmbedding.case_id.in_(ids[i:i + IN_CHUNK])))
    dim = int(vectors.shape[1])
    session.execute(insert(CaseEmbedding), [
        {"model_version_id": model_version_id, "case_id": c, "dim": dim, "vector": to_bytes(v)}
        for c, v in zip(ids, vectors)])


def watermark(session: Session, model_version_id: int) -> tuple[int, int]:
    """(how many vectors, highest case id) of a version: changes when vectors arrive or go."""
    n, top = session.execute(select(func.count(), func.max(CaseEmbedding.case_id))
                             .where(CaseEmbedding.model_version_id == model_version_id)).one()
    return int(n or 0), int(top or 0)


def read_vectors(session: Session, model_version_id: int, *, after: int = 0,
                 case_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(case ids ascending, float32 matrix) of a version's vectors: all of them, those with a case
    id above ``after`` (what arrived since an index was built), or those of ``case_ids``."""
    query = (select(CaseEmbedding.case_id, CaseEmbedding.dim, CaseEmbedding.vector)
             .where(CaseEmbedding.model_version_id == model_version_id, CaseEmbedding.case_id > after)
             .order_by(CaseEmbedding.case_id))
    if case_ids is None:
        rows = session.execute(query).all()
    else:
        wanted = sorted({int(c) for c in case_ids})
        rows = [r for i in range(0, len(wanted), IN_CHUNK)
                for r in session.execute(query.where(CaseEmbedding.case_id.in_(wanted[i:i + IN_CHUNK])))]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    dim = rows[0][1]
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=STORED).reshape(len(rows), dim)
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), matrix.astype(np.float32)


def count_missing(session: Session, model_version_id: int, project_id: int) -> int:
    """Cases the version scored that have no vector of it (scored before vectors were kept)."""
    return session.scalar(_missing(model_version_id, project_id).with_only_columns(func.count())) or 0


def missing_cases(session: Session, model_version_id: int, project_id: int, *,
                  chunk: int) -> Iterator[list[tuple[int, str]]]:
    """(case id, text) of the cases :func:`count_missing` counts, ``chunk`` at a time, in id order.
    Keyset-paged: each chunk's vectors are committed before the next is read."""
    last = 0
    while True:
        rows = session.execute(_missing(model_version_id, project_id)
                               .where(Case.id > last).order_by(Case.id).limit(chunk)).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [(int(c), t) for c, t in rows]


def _missing(model_version_id: int, project_id: int):  # noqa: ANN202 - a Select of (id, text)
    has = select(CaseEmbedding.case_id).where(CaseEmbedding.model_version_id == model_version_id,
                                              CaseEmbedding.case_id == Case.id)
    return (select(Case.id, Case.text).join(Score, Score.case_id == Case.id).join(Batch, Batch.id == Case.batch_id)
            .where(Score.model_version_id == model_version_id, Batch.project_id == project_id, ~has.exists()))
