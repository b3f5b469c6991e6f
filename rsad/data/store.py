"""Queries on the label store. Every function takes the session first and never commits:
the caller owns the transaction (see :meth:`rsad.data.db.Store.session`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from rsad.config import pause_point
from rsad.data.ingest import PreparedBatch
from rsad.data.orm import (
    DEFAULT_PROJECT_ID,
    Batch,
    Case,
    ModelVersion,
    Score,
    Verdict,
)
from rsad.errors import InputError, NotFoundError
from rsad.i18n import _

INSERT_CHUNK = 5_000


# --- batches and cases -------------------------------------------------------------------

def add_batch(session: Session, prepared: PreparedBatch, *, name: str, uploader: str,
              project_id: int = DEFAULT_PROJECT_ID, ingest_report: dict[str, Any] | None = None) -> Batch:
    """Insert a batch and all its cases (bulk) into a project; the caller's commit shows it at once.

    ``ingest_report`` (default: the prepared batch's, rows in the file, skipped rows, label map)
    is kept on the batch."""
    name = name.strip()
    if not name:
        raise InputError(_("Give the batch a name."))
    if len(name) > 200 or not name.isprintable():
        raise InputError(_("A batch name is one line of at most 200 characters, without control characters."))
    if session.scalar(select(Batch.id).where(Batch.project_id == project_id, Batch.name == name)) is not None:
        raise InputError(_("A batch named {name!r} already exists in this project: choose another name.").format(
                             name=name))
    # Cut to the column sizes: PostgreSQL refuses longer values where SQLite would keep them.
    batch = Batch(project_id=project_id, name=name, file_name=prepared.file_name[:500], sha256=prepared.sha256,
                  uploader=uploader[:200], row_count=len(prepared),
                  ingest_report=prepared.report() if ingest_report is None else ingest_report)
    session.add(batch)
    session.flush()
    # Straight to the driver's executemany: the ORM's bulk insert spends two thirds of a
    # 100,000-row ingest building per-row parameters. Same SQL, same JSON text as the ORM.
    conn = session.connection()
    keys = ["batch_id", "external_id", "text", "meta", "given_label"]
    compiled = insert(Case.__table__).compile(dialect=conn.dialect, column_keys=keys)
    rows = zip([batch.id] * len(prepared), prepared.ids, prepared.texts,
               map(json.dumps, prepared.meta), prepared.labels)
    if compiled.positional:
        order = [keys.index(k) for k in compiled.positiontup]
        params = [tuple(r[i] for i in order) for r in rows]
    else:
        params = [dict(zip(keys, r)) for r in rows]
    for start in range(0, len(params), INSERT_CHUNK):
        conn.exec_driver_sql(str(compiled), params[start : start + INSERT_CHUNK])
    pause_point("ingest:cases-inserted")
    return batch


def get_batch(session: Session, ref: str | int, *, project_id: int = DEFAULT_PROJECT_ID) -> Batch:
    """A batch of the project by id or by name."""
    batch = None
    if isinstance(ref, int) or str(ref).isdigit():
        batch = session.get(Batch, int(ref))
        batch = batch if batch is not None and batch.project_id == project_id else None
    if batch is None:
        batch = session.scalar(select(Batch).where(Batch.project_id == project_id, Batch.name == str(ref)))
    if batch is None:
        raise NotFoundError(_("No batch {ref!r} in this project: see `rsad batches` for the names.").format(ref=ref))
    return batch


def delete_batch(session: Session, ref: str | int, *, project_id: int = DEFAULT_PROJECT_ID) -> dict[str, Any]:
    """Delete a batch; the database cascades to its cases, scores, verdicts, attributions, claims."""
    batch = get_batch(session, ref, project_id=project_id)
    verdicts = session.scalar(select(func.count(Verdict.id)).join(Case, Case.id == Verdict.case_id)
                              .where(Case.batch_id == batch.id)) or 0
    info = {"id": batch.id, "name": batch.name, "cases": batch.row_count, "verdicts": int(verdicts)}
    session.execute(delete(Batch).where(Batch.id == batch.id).execution_options(synchronize_session=False))
    session.expunge(batch)
    return info


def list_batch_ids(session: Session, limit: int | None = None, *, project_id: int = DEFAULT_PROJECT_ID) -> list[int]:
    return list(session.scalars(select(Batch.id).where(Batch.project_id == project_id)
                                .order_by(Batch.id.desc()).limit(limit)))


def find_batch_by_sha(session: Session, sha256: str, *, project_id: int = DEFAULT_PROJECT_ID) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.project_id == project_id, Batch.sha256 == sha256)
                          .order_by(Batch.id))


def in_project(project_id: int) -> ColumnElement[bool]:
    """Cases of the project's batches."""
    return Case.batch_id.in_(select(Batch.id).where(Batch.project_id == project_id))


def list_batches(session: Session, model_version_id: int | None = None,
                 threshold: float | None = None, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Every batch of the project with its case, labeled, scored, flagged and reviewed counts."""
    reviewed = (select(Case.batch_id, func.count(func.distinct(Verdict.case_id)).label("n"))
                .join(Verdict, Verdict.case_id == Case.id).group_by(Case.batch_id).subquery())
    labeled = (select(Case.batch_id, func.count().label("n")).where(Case.given_label.is_not(None))
               .group_by(Case.batch_id).subquery())
    cols = [Batch, func.coalesce(reviewed.c.n, 0), func.coalesce(labeled.c.n, 0)]
    query = (select(*cols).outerjoin(reviewed, reviewed.c.batch_id == Batch.id)
             .outerjoin(labeled, labeled.c.batch_id == Batch.id).where(Batch.project_id == project_id)
             .order_by(Batch.id.desc()))
    scored: dict[int, tuple[int, int]] = {}
    if model_version_id is not None:
        thr = 2.0 if threshold is None else threshold
        for batch_id, n, flagged in session.execute(
            select(Case.batch_id, func.count(), func.sum(case((Score.score >= thr, 1), else_=0)))
            .join(Score, Score.case_id == Case.id)
            .where(Score.model_version_id == model_version_id).group_by(Case.batch_id)
        ):
            scored[batch_id] = (int(n), int(flagged or 0))
    out = []
    for batch, n_reviewed, n_labeled in session.execute(query):
        n_scored, n_flagged = scored.get(batch.id, (0, 0))
        out.append({"id": batch.id, "name": batch.name, "file_name": batch.file_name,
                    "uploader": batch.uploader, "created_at": batch.created_at,
                    "rows": batch.row_count, "labeled": int(n_labeled), "scored": n_scored,
                    "flagged": n_flagged, "reviewed": int(n_reviewed),
                    "skipped": len((batch.ingest_report or {}).get("skipped", []))})
    return out


def totals(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> dict[str, int]:
    """The project's counts for the overview."""
    mine = in_project(project_id)
    verdicts = select(Verdict.id, Verdict.case_id).join(Case, Case.id == Verdict.case_id).where(mine).subquery()
    return {
        "batches": session.scalar(select(func.count(Batch.id)).where(Batch.project_id == project_id)) or 0,
        "cases": session.scalar(select(func.count(Case.id)).where(mine)) or 0,
        "labeled": session.scalar(select(func.count(Case.id)).where(mine, Case.given_label.is_not(None))) or 0,
        "verdicts": session.scalar(select(func.count(verdicts.c.id))) or 0,
        "reviewed_cases": session.scalar(select(func.count(func.distinct(verdicts.c.case_id)))) or 0,
        "model_versions": session.scalar(select(func.count(ModelVersion.id))
                                         .where(ModelVersion.project_id == project_id)) or 0,
    }


# --- scores ------------------------------------------------------------------------------

def _not_scored_by(model_version_id: int) -> ColumnElement[bool]:
    return Case.id.not_in(select(Score.case_id).where(Score.model_version_id == model_version_id))


def _reviewed() -> ColumnElement[bool]:
    return exists().where(Verdict.case_id == Case.id)


def _in_id_order(session: Session, where: list[ColumnElement[bool]],
                 chunk: int) -> Iterator[list[tuple[int, str]]]:
    # Keyset paging (id > last): a chunk read ahead of the previous one's commit is never read twice.
    last_id = 0
    while True:
        rows = session.execute(select(Case.id, Case.text).where(*where, Case.id > last_id)
                               .order_by(Case.id).limit(chunk)).all()
        if not rows:
            return
        last_id = rows[-1][0]
        yield [(r[0], r[1]) for r in rows]


def unscored_cases(session: Session, batch_id: int, model_version_id: int,
                   chunk: int = 2_000) -> Iterator[list[tuple[int, str]]]:
    """(case id, text) chunks of a batch's cases that have no score from this version yet."""
    yield from _in_id_order(session, [Case.batch_id == batch_id, _not_scored_by(model_version_id)], chunk)


def unscored_store_cases(session: Session, model_version_id: int, chunk: int = 2_000, *,
                         project_id: int = DEFAULT_PROJECT_ID) -> Iterator[list[tuple[int, str]]]:
    """(case id, text) chunks of every case in the project this version has not scored: the
    unreviewed ones first (they are what the queues show), then the reviewed ones."""
    unscored = _not_scored_by(model_version_id)
    mine = in_project(project_id)
    yield from _in_id_order(session, [mine, unscored, ~_reviewed()], chunk)
    yield from _in_id_order(session, [mine, unscored, _reviewed()], chunk)


def unscored_counts(session: Session, model_version_id: int, *,
                    project_id: int = DEFAULT_PROJECT_ID) -> tuple[int, int]:
    """(unreviewed, reviewed) cases in the project this version has not scored."""
    total, reviewed = session.execute(
        select(func.count(Case.id), func.sum(case((_reviewed(), 1), else_=0)))
        .where(in_project(project_id), _not_scored_by(model_version_id))).one()
    return int(total) - int(reviewed or 0), int(reviewed or 0)


def count_unscored(session: Session, batch_id: int, model_version_id: int) -> int:
    return session.scalar(select(func.count(Case.id)).where(
        Case.batch_id == batch_id, _not_scored_by(model_version_id))) or 0


def put_scores(session: Session, model_version_id: int, case_ids: Sequence[int],
               scores: Sequence[float]) -> None:
    """Store scores, replacing any earlier score of the same (case, version) pair."""
    ids = [int(c) for c in case_ids]
    session.execute(delete(Score).where(Score.model_version_id == model_version_id,
                                        Score.case_id.in_(ids)))
    session.execute(insert(Score), [
        {"case_id": c, "model_version_id": model_version_id, "score": float(s)}
        for c, s in zip(ids, scores)
    ])
    pause_point("scores:inserted")


def batch_scores(session: Session, batch_id: int, model_version_id: int) -> list[float]:
    return list(session.scalars(
        select(Score.score).join(Case, Case.id == Score.case_id)
        .where(Case.batch_id == batch_id, Score.model_version_id == model_version_id)))


IN_CHUNK = 900  # ids per IN (...) list: well under every backend's parameter limit


def scores_for_cases(session: Session, model_version_id: int, case_ids: Sequence[int]) -> dict[int, float]:
    """{case id: score} for those of ``case_ids`` this version has scored."""
    out: dict[int, float] = {}
    ids = [int(c) for c in case_ids]
    for i in range(0, len(ids), IN_CHUNK):
        out.update(session.execute(select(Score.case_id, Score.score).where(
            Score.model_version_id == model_version_id, Score.case_id.in_(ids[i:i + IN_CHUNK]))).all())
    return out


def case_texts(session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ids = [int(c) for c in case_ids]
    for i in range(0, len(ids), IN_CHUNK):
        out.update(session.execute(select(Case.id, Case.text).where(
            Case.id.in_(ids[i:i + IN_CHUNK]))).all())
    return out


def sample_texts(session: Session, batch_id: int, limit: int) -> list[str]:
    """At most about ``limit`` texts of a batch, spread over it (every k-th case id)."""
    count = session.scalar(select(func.count(Case.id)).where(Case.batch_id == batch_id)) or 0
    step = max(1, -(-count // max(1, limit)))
    query = select(Case.text).where(Case.batch_id == batch_id).order_by(Case.id)
    if step > 1:
        query = query.where(Case.id % step == 0)
    return list(session.scalars(query.limit(limit)))


# --- verdicts ----------------------------------------------------------------------------


# --- model versions ----------------------------------------------------------------------


# --- attribution cache -------------------------------------------------------------------


def batch_list(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Every batch of the project, newest first: id, name and row count."""
    return [{"id": b.id, "name": b.name, "rows": b.row_count}
            for b in session.scalars(select(Batch).where(Batch.project_id == project_id).order_by(Batch.id.desc()))]


def scores_watermark(session: Session) -> tuple[int | None, int | None, int]:
    """Changes whenever a score or a batch is added or a batch deleted (newest score id, newest
    batch id, number of batches): what a cached count of scored cases depends on."""
    return tuple(session.execute(select(select(func.max(Score.id)).scalar_subquery(),
                                        select(func.max(Batch.id)).scalar_subquery(),
                                        select(func.count(Batch.id)).scalar_subquery())).one())


def batch_score_map(session: Session, batch_id: int, model_version_id: int) -> dict[int, float]:
    """{case id: score} of a batch under a version."""
    return dict(session.execute(select(Score.case_id, Score.score).join(Case, Case.id == Score.case_id)
                                .where(Case.batch_id == batch_id, Score.model_version_id == model_version_id)).all())


def count_scored(session: Session, batch_id: int, model_version_id: int) -> int:
    return session.scalar(select(func.count(Score.id)).join(Case, Case.id == Score.case_id).where(
        Case.batch_id == batch_id, Score.model_version_id == model_version_id)) or 0


def external_ids(session: Session, batch_id: int) -> dict[int, str]:
    """{case id: the id the uploaded file gave it} for a batch."""
    return dict(session.execute(select(Case.id, Case.external_id).where(Case.batch_id == batch_id)).all())

