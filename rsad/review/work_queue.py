"""The review queue: filtered, sorted, paged in SQL so a 100,000-case batch stays fast.

Functions take the session first and never commit, like :mod:`rsad.data.store`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from rsad.data.orm import DEFAULT_PROJECT_ID, Batch, Case, CaseClaim, Score, Verdict, as_utc, utcnow
from rsad.data.store import in_project
from rsad.errors import InputError
from rsad.i18n import N_, _
from rsad.review import second_opinion
from rsad.review.case_state import state_where
from rsad.review.queue_meta import case_detail, meta_keys, meta_text, meta_values  # noqa: F401 (re-exported)
from rsad.review.verdicts import latest_verdicts_subquery

STATUSES = ("unreviewed", "reviewed", "all")
SORTS = {"score": N_("score, high to low"), "uncertain": N_("most uncertain first"), "newest": N_("newest first"),
         "active": N_("best next to label")}
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class QueueFilter:
    """What the analyst asked the queue for (every field optional)."""

    batch_id: int | None = None
    score_min: float = 0.0
    score_max: float = 1.0
    status: str = "unreviewed"
    verdict: str | None = None  # latest verdict label: anomaly / normal / unsure
    meta_key: str | None = None
    meta_value: str | None = None
    text_contains: str = ""
    sort: str = "score"
    # The analyst looking at the queue: cases someone else has open are skipped. None shows all.
    viewer: str | None = None
    # Sort "active": the batch's best-next case ids, best first (rsad.service.next_cases fills it in);
    # they come first, every other case after them by uncertainty.
    ranked: tuple[int, ...] = ()
    second_opinion: tuple[str, float] | None = None  # (viewer, share): see rsad.review.second_opinion
    case_state: str | None = None  # lifecycle state (rsad.review.case_state): open, in_review, escalated, closed
    assignee: str | None = None  # cases assigned to this user

    def check(self) -> None:
        if self.status not in STATUSES:
            raise InputError(_("Status must be one of {STATUSES}.").format(STATUSES=', '.join(STATUSES)))
        if self.sort not in SORTS:
            raise InputError(_("Sort must be one of {SORTS}.").format(SORTS=', '.join(SORTS)))
        if not 0.0 <= self.score_min <= self.score_max <= 1.0:
            raise InputError(_("The score range must lie within 0..1, lowest first."))


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: Select, model_version_id: int, f: QueueFilter) -> Select:
    """The filters that do not involve verdicts: model, score range, batch, metadata, text."""
    query = query.where(Score.model_version_id == model_version_id,
                        Score.score >= f.score_min, Score.score <= f.score_max)
    if f.batch_id is not None:
        query = query.where(Case.batch_id == f.batch_id)
    if f.meta_key and f.meta_value not in (None, ""):
        query = query.where(meta_text(f.meta_key) == str(f.meta_value))
    if f.text_contains.strip():
        query = query.where(Case.text.ilike(_like_pattern(f.text_contains.strip()), escape="\\"))
    lifecycle = state_where(f.case_state, f.assignee)
    return query if lifecycle is None else query.where(lifecycle)


def _held_by_others(viewer: str, now: datetime) -> Select:
    """Ids of the cases another analyst has open (a live claim): a handful, so IN drives the lookup."""
    return select(CaseClaim.case_id).where(CaseClaim.analyst != viewer, CaseClaim.expires_at > now)


def _filtered(model_version_id: int, f: QueueFilter, now: datetime | None = None) -> Select:
    # The latest verdict of each shown row is attached afterwards (see _with_verdicts): joining
    # it here made SQLite join every matching case of a 100,000-case batch to it.
    query = (
        select(Case.id, Case.external_id, Batch.name.label("batch"), Score.score,
               func.substr(Case.text, 1, PREVIEW_CHARS).label("preview"))
        .join(Score, Score.case_id == Case.id)
        .join(Batch, Batch.id == Case.batch_id)
    )
    query = second_opinion.verdict_where(_where(query, model_version_id, f), f)  # status, verdict
    if f.viewer is not None:
        query = query.where(Case.id.not_in(_held_by_others(f.viewer, now or utcnow())))
    return query


def _ordered(query: Select, f: QueueFilter, threshold: float, window: int | None = None) -> Select:
    """The queue's order. For "uncertain", ``window`` (offset + limit of the caller) lets the
    database walk the score index outward from the threshold on both sides instead of
    sorting the whole batch by distance: the first ``window`` rows can only come from the
    ``window`` nearest on either side."""
    if f.sort == "uncertain":
        if window is None:
            return query.order_by(func.abs(Score.score - literal(threshold)), Case.id)
        above = query.where(Score.score >= threshold).order_by(Score.score, Case.id).limit(window)
        below = query.where(Score.score < threshold).order_by(Score.score.desc(), Case.id).limit(window)
        both = union_all(select(above.subquery()), select(below.subquery())).subquery()
        return select(both).order_by(func.abs(both.c.score - literal(threshold)), both.c.id)
    if f.sort == "newest":
        return query.order_by(Case.id.desc())
    if f.sort == "active":
        return _best_next(query, f, threshold, window)
    return query.order_by(Score.score.desc(), Case.id)


def _best_next(query: Select, f: QueueFilter, threshold: float, window: int | None) -> Select:
    """The "active" order: ``f.ranked`` first, then by uncertainty; with ``window``, the ranked
    cases joined to the uncertain order's own window (see :func:`_ordered`)."""
    if window is None:
        return query.order_by(*_active_keys(Case.id, Score.score, f, threshold))
    uncertain = replace(f, sort="uncertain")
    if not f.ranked:
        return _ordered(query, uncertain, threshold, window)
    rest = _ordered(query.where(Case.id.not_in(f.ranked)), uncertain, threshold, window)
    both = union_all(select(query.where(Case.id.in_(f.ranked)).subquery()), select(rest.subquery())).subquery()
    return select(both).order_by(*_active_keys(both.c.id, both.c.score, f, threshold))


def _active_keys(case_id: Any, score: Any, f: QueueFilter, threshold: float) -> list[ColumnElement[Any]]:
    """Rank in ``f.ranked`` (unranked cases after), then distance to the threshold, then id."""
    keys = [func.abs(score - literal(threshold)), case_id]
    if f.ranked:
        keys.insert(0, case({cid: i for i, cid in enumerate(f.ranked)}, value=case_id, else_=len(f.ranked)))
    return keys


def _slice(query: Select, f: QueueFilter, threshold: float, offset: int, limit: int) -> Select:
    offset = max(0, offset)
    return _ordered(query, f, threshold, window=offset + limit).offset(offset).limit(limit)


def _with_verdicts(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each row's latest verdict, analyst and time (None when unreviewed)."""
    latest = latest_verdicts_subquery()
    ids = [r["id"] for r in rows]
    found = {} if not ids else {
        cid: (label, who, when) for cid, label, who, when in session.execute(
            select(latest.c.case_id, latest.c.label, latest.c.analyst, latest.c.created_at)
            .where(latest.c.case_id.in_(ids)))}
    for r in rows:
        r["verdict"], r["analyst"], r["reviewed_at"] = found.get(r["id"], (None, None, None))
    return rows


def scored_count(session: Session, model_version_id: int, f: QueueFilter) -> int:
    """Cases the version scored that pass the verdict-free filters: the expensive count
    (one pass over the batch), which changes only when scores or batches do."""
    return session.scalar(_where(select(func.count()).select_from(Case).join(Score, Score.case_id == Case.id),
                                 model_version_id, f)) or 0


def reviewed_count(session: Session, model_version_id: int, f: QueueFilter) -> int:
    """Cases with at least one verdict (or, with ``f.verdict``, that latest verdict) that pass the other
    filters, bar those waiting for the viewer's blind second opinion. Driven from the verdicts, so its
    cost follows the work done, not the batch."""
    newest = select(func.max(Verdict.id).label("id")).group_by(Verdict.case_id).subquery()
    query = (select(func.count()).select_from(newest).join(Verdict, Verdict.id == newest.c.id)
             .join(Case, Case.id == Verdict.case_id).join(Score, Score.case_id == Case.id))
    if f.verdict:
        query = query.where(Verdict.label == f.verdict)
    return session.scalar(_where(second_opinion.visible(query, f), model_version_id, f)) or 0


def count_matching(session: Session, model_version_id: int, f: QueueFilter,
                   scored: int | None = None) -> int:
    """How many cases the queue holds; ``scored`` is :func:`scored_count` when the caller has it."""
    if f.verdict and f.status == "unreviewed":
        return 0  # an unreviewed case has no latest verdict to match
    if f.status == "all" and not f.verdict:
        total = scored if scored is not None else scored_count(session, model_version_id, f)
    else:
        total = reviewed_count(session, model_version_id, f)
        if f.status == "unreviewed":
            total = (scored if scored is not None else scored_count(session, model_version_id, f)) - total
    return total - _held_matching(session, model_version_id, f)


def _held_matching(session: Session, model_version_id: int, f: QueueFilter) -> int:
    """Cases the filters match that another analyst has open: the viewer's queue skips them.
    The counts above leave claims out (so they can be shared between analysts); this is the
    correction, driven from the few live claims."""
    if f.viewer is None:
        return 0
    # Driven from the claims (one row per open case), each checked against the filters by key.
    # Joined the other way, SQLite walked the score index over the whole batch for the few held
    # cases, on every Review run (docs/decisions/0005-review-queue-paged-in-sql.md).
    matches = _filtered(model_version_id, replace(f, viewer=None)).where(Case.id == CaseClaim.case_id)
    held = select(func.count()).select_from(CaseClaim).where(
        CaseClaim.analyst != f.viewer, CaseClaim.expires_at > utcnow(), matches.exists())
    return session.scalar(held) or 0


def queue_page(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
               *, offset: int = 0, limit: int = 50, scored: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the queue and the number of cases matching the filters."""
    f.check()
    total = count_matching(session, model_version_id, f, scored)
    rows = session.execute(_slice(_filtered(model_version_id, f), f, threshold, offset, limit)).mappings()
    return _with_verdicts(session, [dict(r) for r in rows]), int(total)


def neighbour(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
              position: int) -> int | None:
    """The case id at ``position`` (0-based) of the queue, or None past its end."""
    if position < 0:
        return None
    row = session.execute(_slice(_filtered(model_version_id, f), f, threshold, position, 1)).first()
    return row[0] if row else None


def position_of(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
                case_id: int) -> int | None:
    """Where ``case_id`` stands (0-based) in the queue, or None when the filters leave it out.

    Used once when a URL names the open case (a reload, a shared link): one numbered pass
    over the matching cases, in the queue's own order."""
    f.check()
    ordered = _ordered(_filtered(model_version_id, f), f, threshold).subquery()
    ranked = select(ordered.c.id, func.row_number().over(order_by=_order_columns(ordered, f, threshold))
                    .label("n")).subquery()
    n = session.scalar(select(ranked.c.n).where(ranked.c.id == case_id))
    return None if n is None else int(n) - 1


def _order_columns(sub: Subquery, f: QueueFilter, threshold: float) -> list[ColumnElement[Any]]:
    """:func:`_ordered`'s order, on the columns of a subquery of :func:`_filtered`."""
    if f.sort == "uncertain":
        return [func.abs(sub.c.score - literal(threshold)), sub.c.id]
    if f.sort == "newest":
        return [sub.c.id.desc()]
    if f.sort == "active":
        return _active_keys(sub.c.id, sub.c.score, f, threshold)
    return [sub.c.score.desc(), sub.c.id]


def queue_ids(session: Session, model_version_id: int, threshold: float, f: QueueFilter,
              limit: int) -> list[int]:
    """The first ``limit`` case ids of the queue (no count, no row payload)."""
    f.check()
    return [r[0] for r in session.execute(_slice(_filtered(model_version_id, f), f, threshold, 0, limit))]


def held_by_others(session: Session, f: QueueFilter, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Who else has cases open in the project (in the filter's batch, if any): cases and latest expiry each.

    Not matched against the other filters: on a large batch that costs a queue scan, and a case
    another analyst has open is kept from the viewer's queue whatever the filters."""
    if f.viewer is None:
        return []
    query = (select(CaseClaim.analyst, func.count(), func.max(CaseClaim.expires_at))
             .join(Case, Case.id == CaseClaim.case_id)
             .where(CaseClaim.analyst != f.viewer, CaseClaim.expires_at > utcnow(), in_project(project_id))
             .group_by(CaseClaim.analyst).order_by(CaseClaim.analyst))
    if f.batch_id is not None:
        query = query.where(Case.batch_id == f.batch_id)
    return [{"analyst": a, "cases": int(n), "until": as_utc(u)} for a, n, u in session.execute(query)]
