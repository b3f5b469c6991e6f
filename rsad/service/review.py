"""Triage operations for the pages: the queue, case view, verdicts, attributions, labels.

Like :mod:`rsad.service.api`, each function opens its own transaction and returns plain data.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rsad.review import claims
from rsad.review import work_queue as qq
from rsad.data import store as q
from rsad.data.db import Store
from rsad.evaluation.metrics import apply_temperature
from rsad.errors import InputError, StateError, Superseded
from rsad.data.orm import Batch, Case, Score, Verdict, VerdictSubmission
from rsad.review.work_queue import QueueFilter

EXPLAIN_STEPS = 50


def batches(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        return [{"id": b.id, "name": b.name, "rows": b.row_count}
                for b in s.scalars(select(Batch).order_by(Batch.id.desc()))]


_SCORED_COUNTS: dict[tuple, tuple[float, int]] = {}  # (store, version, watermark, filter) -> (when, count)
_SCORED_COUNTS_LOCK = threading.Lock()
SCORED_COUNT_TTL_S = 600.0  # a safety net: the watermark already changes with scores and batches


def _scored_count(s: Any, location: str, version_id: int, f: QueueFilter) -> int:
    """:func:`rsad.review.work_queue.scored_count`, remembered until scores or batches change.

    Counting a 100,000-case batch is the one full pass a queue page needs; verdicts do not
    change it, so each verdict -> next case rerun pays only for the (small) reviewed count.
    """
    watermark = tuple(s.execute(select(select(func.max(Score.id)).scalar_subquery(),
                                       select(func.max(Batch.id)).scalar_subquery(),
                                       select(func.count(Batch.id)).scalar_subquery())).one())
    # Claims are left out (see rsad.review.work_queue.count_matching), so analysts share the count.
    key = (location, version_id, watermark, replace(f, status="all", verdict=None, sort="score", viewer=None))
    now = time.monotonic()
    with _SCORED_COUNTS_LOCK:
        hit = _SCORED_COUNTS.get(key)
    if hit is not None and now - hit[0] < SCORED_COUNT_TTL_S:
        return hit[1]
    count = qq.scored_count(s, version_id, f)
    with _SCORED_COUNTS_LOCK:
        if len(_SCORED_COUNTS) >= 256:
            _SCORED_COUNTS.pop(next(iter(_SCORED_COUNTS)))
        _SCORED_COUNTS[key] = (now, count)
    return count


def queue(store: Store, f: QueueFilter, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
    """A page of the queue under the active model, with the total count."""
    with store.session() as s:
        active = q.require_active(s)
        f.check()
        scored = None
        if not f.verdict and f.status != "reviewed":
            scored = _scored_count(s, store.location, active.id, f)
        rows, total = qq.queue_page(s, active.id, active.threshold, f, offset=offset, limit=limit,
                                    scored=scored)
        held = qq.held_by_others(s, f)
    return {"rows": rows, "total": total, "model": active.name, "model_id": active.id,
            "threshold": active.threshold, "offset": offset, "held": held}


def queue_case_at(store: Store, f: QueueFilter, position: int, page: dict[str, Any] | None = None) -> int | None:
    """The case id at ``position``; read from ``page`` (a :func:`queue` result) when it holds it."""
    if page is not None and 0 <= position - page.get("offset", 0) < len(page["rows"]):
        return page["rows"][position - page["offset"]]["id"]
    with store.session() as s:
        active = q.require_active(s)
        return qq.neighbour(s, active.id, active.threshold, f, position)


def metadata_keys(store: Store, batch_id: int | None) -> list[str]:
    """Metadata column names (from a sample of cases: cheap on any batch size)."""
    with store.session() as s:
        return qq.meta_keys(s, batch_id)


def metadata_values(store: Store, batch_id: int | None, key: str, limit: int = 50) -> list[str]:
    """The commonest values of one metadata column (one scan: ask only for the chosen column)."""
    with store.session() as s:
        return qq.meta_values(s, batch_id, key, limit=limit)


def case_view(store: Store, case_id: int) -> dict[str, Any]:
    with store.session() as s:
        active = q.active_model(s)
        detail = qq.case_detail(s, case_id, active.id if active else None)
    detail["model"] = active.name if active else None
    detail["threshold"] = active.threshold if active else None
    # With a saved calibration the score also reads as a probability (Thresholds page).
    t = active.temperature if active else None
    detail["probability"] = (float(apply_temperature(detail["score"], t))
                             if t and detail.get("score") is not None else None)
    return detail


def claim_case(store: Store, case_id: int, analyst: str) -> dict[str, Any]:
    """Open a case for ``analyst``: take (or renew) the claim unless another analyst holds it.

    Returns the claim: ``mine`` says whether ``analyst`` holds it; otherwise ``analyst`` and
    ``expires_at`` say who does and until when."""
    with store.session() as s:
        return claims.claim(s, int(case_id), analyst, store.settings.claim_minutes)


def release_claims(store: Store, analyst: str) -> int:
    """Let go of every case ``analyst`` has open (they signed out)."""
    with store.session() as s:
        return claims.release_all(s, analyst)


def record_verdicts(store: Store, case_ids: list[int], label: str, *, analyst: str,
                    reason_code: str = "", note: str = "", submission: str | None = None) -> int:
    """Append one verdict per case (one transaction), with the model and threshold in force.

    Refused for cases another analyst has open (a live claim); releases ``analyst``'s claims on them.
    ``submission``: a key the form drew once; a second call with it records nothing and returns 0
    (a double click, a resent form). A reason is only what the analyst chose: labels listed in
    RSAD_REQUIRE_REASON_FOR are refused without one."""
    if not case_ids:
        raise InputError("Select at least one case.")
    if reason_code and reason_code not in store.settings.reason_codes:
        raise InputError(f"Unknown reason code {reason_code!r}: choose one of {', '.join(store.settings.reason_codes)}.")
    if not reason_code and label in store.settings.require_reason_for:
        raise InputError(f"An {label} verdict needs a reason on this desk: choose one in the Reason box, "
                         "then record it again.")
    try:
        with store.session() as s:
            if submission is not None:
                if s.get(VerdictSubmission, submission) is not None:
                    return 0
                # Written first: it takes SQLite's write lock, and a concurrent second press
                # of the same form fails on the primary key instead of writing twice.
                s.add(VerdictSubmission(key=submission, analyst=analyst.strip(), cases=len(case_ids)))
                s.flush()
            claims.release(s, case_ids, analyst.strip())
            held = claims.held_by_others(s, case_ids, analyst.strip())
            if held:
                cid, (who, until) = next(iter(held.items()))
                ext = s.get(Case, cid).external_id
                raise StateError(f"Case {ext} is open with {who} until {until:%H:%M} UTC"
                                 + (f" (and {len(held) - 1} more selected cases are taken)" if len(held) > 1 else "")
                                 + ": pick other cases, or wait for their verdict.")
            active = q.active_model(s)
            for cid in case_ids:
                q.add_verdict(s, int(cid), label, analyst=analyst, reason_code=reason_code, note=note.strip(),
                              model_version_id=active.id if active else None,
                              threshold=active.threshold if active else None)
    except IntegrityError:
        if submission is not None and _submitted(store, submission):
            return 0  # the other press of this form won the race
        raise
    return len(case_ids)


def _submitted(store: Store, key: str) -> bool:
    with store.session() as s:
        return s.get(VerdictSubmission, key) is not None


def queue_position(store: Store, f: QueueFilter, case_id: int) -> int | None:
    """Where a case stands in the queue (0-based), or None when the filters leave it out."""
    with store.session() as s:
        active = q.require_active(s)
        return qq.position_of(s, active.id, active.threshold, f, int(case_id))


def explanation_key(store: Store, version: Any, n_steps: int = EXPLAIN_STEPS) -> str:
    """The cache key of attributions under a version: steps and the length the model reads
    (the version's own max_length, as :func:`rsad.service.api.load_classifier` uses it)."""
    max_length = int((version.train_config or {}).get("max_length", store.settings.max_length))
    return f"lig:n{n_steps}:len{max_length}"


def cached_explanation(store: Store, case_id: int, *, n_steps: int = EXPLAIN_STEPS,
                       version: str | None = None) -> dict[str, Any] | None:
    """The cached attributions of a case under the active model (or ``version``), or None: no model needed."""
    from rsad.model.explain import Explanation

    with store.session() as s:
        mv = q.get_model_version(s, version) if version else q.require_active(s)
        cached = q.get_attribution(s, case_id, mv.id, explanation_key(store, mv, n_steps))
        if cached is None:
            return None
        return {"explanation": Explanation.from_dict(cached), "cached": True, "text": s.get(Case, case_id).text}


# One attribution computation at a time per process: two at once on 2 cores only thrash the
# caches and double the memory, and a page waiting for a case the explain-ahead job is already
# computing then finds it cached instead of computing it a second time.
_EXPLAIN_LOCK = threading.Lock()


def explanation(store: Store, case_id: int, classifier: Any, *, n_steps: int = EXPLAIN_STEPS,
                version: str | None = None, wanted: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Token attributions of a case under the active model (or ``version``), cached in the store.

    ``wanted``: asked once the computation may start (after waiting for another one); False
    raises :class:`Superseded` instead of computing, e.g. for a page run the analyst has
    already left for the next case.
    """
    from rsad.model.explain import Explanation, explain

    key = f"lig:n{n_steps}:len{classifier.max_length}"

    def lookup() -> tuple[Any, dict[str, Any] | None, str]:
        with store.session() as s:
            mv = q.get_model_version(s, version) if version else q.require_active(s)
            if classifier.name and classifier.name != mv.name:
                raise StateError("The active model changed while this page was open: reload the page.")
            return mv.id, q.get_attribution(s, case_id, mv.id, key), s.get(Case, case_id).text

    version_id, cached, text = lookup()
    if cached is None:
        with _EXPLAIN_LOCK:
            version_id, cached, text = lookup()  # computed meanwhile by whoever held the lock?
            if cached is None:
                if wanted is not None and not wanted():
                    raise Superseded("Attributions for this case are no longer needed: a newer request replaced it.")
                expl = explain(classifier, text, n_steps=n_steps)
                try:
                    with store.session() as s:
                        q.put_attribution(s, case_id, version_id, key, expl.to_dict())
                except IntegrityError:
                    pass  # another process (or analyst) stored the same case first
                return {"explanation": expl, "cached": False, "text": text}
    return {"explanation": Explanation.from_dict(cached), "cached": True, "text": text}


# --- labels page -------------------------------------------------------------------------

def verdict_table(store: Store, *, analysts: list[str] | None = None, batch_ids: list[int] | None = None,
                  labels: list[str] | None = None, reasons: list[str] | None = None,
                  since: date | None = None, until: date | None = None, limit: int = 5_000) -> pd.DataFrame:
    """Verdicts, newest first, with their case and batch."""
    query = (select(Verdict.id, Verdict.created_at, Verdict.analyst, Verdict.label, Verdict.reason_code,
                    Verdict.note, Case.id.label("case_pk"), Case.external_id.label("case_id"),
                    Batch.name.label("batch"), Verdict.threshold)
             .join(Case, Case.id == Verdict.case_id).join(Batch, Batch.id == Case.batch_id)
             .order_by(Verdict.id.desc()).limit(limit))
    if analysts:
        query = query.where(Verdict.analyst.in_(analysts))
    if batch_ids:
        query = query.where(Case.batch_id.in_(batch_ids))
    if labels:
        query = query.where(Verdict.label.in_(labels))
    if reasons:
        query = query.where(Verdict.reason_code.in_(reasons))
    if since:
        query = query.where(Verdict.created_at >= pd.Timestamp(since, tz="UTC").to_pydatetime())
    if until:
        query = query.where(Verdict.created_at < (pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1)).to_pydatetime())
    with store.session() as s:
        rows = s.execute(query).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[
        "id", "created_at", "analyst", "label", "reason_code", "note", "case_pk", "case_id", "batch", "threshold"])


def analysts(store: Store) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(Verdict.analyst).distinct().order_by(Verdict.analyst)))


def current_label_table(store: Store) -> pd.DataFrame:
    from rsad.service.api import labels_frame

    with store.session() as s:
        return labels_frame(q.current_labels(s))


def agreement(store: Store, min_shared: int = 2) -> pd.DataFrame:
    """Cohen's kappa for each pair of analysts over cases both decided (each one's latest verdict)."""
    from itertools import combinations

    from sklearn.metrics import cohen_kappa_score

    df = verdict_table(store, limit=1_000_000)
    if df.empty:
        return pd.DataFrame(columns=["analyst_a", "analyst_b", "shared_cases", "agreement", "kappa"])
    latest = df.sort_values("id").groupby(["case_pk", "analyst"]).tail(1)
    wide = latest.pivot(index="case_pk", columns="analyst", values="label")
    out = []
    for a, b in combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        if len(both) < min_shared:
            continue
        agree = float((both[a] == both[b]).mean())
        with warnings.catch_warnings():
            # Kappa is undefined when both used one and the same label: that is full agreement.
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score(both[a], both[b], labels=["anomaly", "normal", "unsure"])
        if kappa != kappa:
            kappa = 1.0 if agree == 1.0 else float("nan")
        out.append({"analyst_a": a, "analyst_b": b, "shared_cases": len(both), "agreement": agree,
                    "kappa": float(kappa)})
    return pd.DataFrame(out, columns=["analyst_a", "analyst_b", "shared_cases", "agreement", "kappa"])


def default_filter(**changes: Any) -> QueueFilter:
    return replace(QueueFilter(), **changes)
