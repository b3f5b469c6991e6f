"""What the Labels page tabulates: verdicts, analysts, current labels, agreement between analysts."""

from __future__ import annotations

import warnings
from datetime import date

import pandas as pd
from sqlalchemy import select

from rsad.data.db import Store
from rsad.data.orm import Batch, Case, Verdict
from rsad.review import labels
from rsad.review.export import labels_frame


def verdict_table(store: Store, *, analysts: list[str] | None = None, batch_ids: list[int] | None = None,
                  labels: list[str] | None = None, reasons: list[str] | None = None,
                  since: date | None = None, until: date | None = None, limit: int = 5_000) -> pd.DataFrame:
    """Verdicts, newest first, with their case and batch."""
    query = (select(Verdict.id, Verdict.created_at, Verdict.analyst, Verdict.label, Verdict.reason_code,
                    Verdict.note, Case.id.label("case_pk"), Case.external_id.label("case_id"),
                    Batch.name.label("batch"), Verdict.threshold)
             .join(Case, Case.id == Verdict.case_id).join(Batch, Batch.id == Case.batch_id)
             .where(Batch.project_id == store.project_id).order_by(Verdict.id.desc()).limit(limit))
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
        return list(s.scalars(select(Verdict.analyst).distinct().join(Case, Case.id == Verdict.case_id)
                              .join(Batch, Batch.id == Case.batch_id).where(Batch.project_id == store.project_id)
                              .order_by(Verdict.analyst)))


def current_label_table(store: Store) -> pd.DataFrame:

    with store.session() as s:
        return labels_frame(labels.current_labels(s, project_id=store.project_id))


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
