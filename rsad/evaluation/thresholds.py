"""Choosing the alert threshold: the report pickers work on, per-segment numbers, calibration,
and the saved history (the pickers themselves are in :mod:`rsad.evaluation.pickers`).

A case is flagged when its score is at or above the threshold. Every picker returns a
threshold that is one of the evaluation scores (or just above the top score, "flag nothing"),
so the numbers shown for it are exactly the numbers it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data import store as q
from rsad.errors import InputError
from rsad.evaluation import threshold_log
from rsad.evaluation.evalset import EvalSet, evaluate
from rsad.evaluation.metrics import at_threshold, max_f1_threshold
from rsad.evaluation.pickers import Pick, pick
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo
from rsad.review.verdicts import latest_verdict_id

MIN_SEGMENT_CASES = 10  # a per-segment threshold from fewer labels would be noise


def _undefined_as_nan(m: dict[str, Any]) -> dict[str, Any]:
    """at_threshold's metrics with 0/0 as NaN: a small segment often has no anomalies or no
    flagged case, and a 0 there would read as "the model is bad here"."""
    nan = float("nan")
    flagged, anomalies = m["tp"] + m["fp"], m["tp"] + m["fn"]
    return {**m, "precision": m["precision"] if flagged else nan, "recall": m["recall"] if anomalies else nan,
            "f1": m["f1"] if flagged or anomalies else nan}


def shown(value: float, spec: str) -> str:
    """A segment number as text: '–' where the segment cannot have it (NaN), as on the page."""
    return "–" if value != value else format(value, spec)


def segment_table(labels: np.ndarray, scores: np.ndarray, meta: list[dict[str, Any]], key: str,
                  threshold: float, *, own_thresholds: bool = False) -> list[dict[str, Any]]:
    """Precision, recall, FPR and flagged rate per value of metadata ``key`` at ``threshold``.

    With ``own_thresholds`` each segment with enough labels of both classes also gets the
    threshold with the best F1 within it, and its numbers there. A number a segment cannot
    have (precision with nothing flagged, recall without anomalies, an own threshold with too
    few labels) is NaN, never a misleading 0.
    """
    y, s = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    groups = np.asarray(["(missing)" if m.get(key) in (None, "") else str(m.get(key)) for m in meta])
    rows = []
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        yy, ss = y[mask], s[mask]
        m = _undefined_as_nan(at_threshold(yy, ss, threshold))
        row = {"segment": g, "cases": int(mask.sum()), "anomalies": int(yy.sum()),
               "precision": m["precision"], "recall": m["recall"], "fpr": m["fpr"],
               "flagged_rate": m["flagged_rate"], "f1": m["f1"]}
        if own_thresholds:
            ok = len(yy) >= MIN_SEGMENT_CASES and 0 < yy.sum() < len(yy)
            own = max_f1_threshold(yy, ss) if ok else float("nan")
            row["own_threshold"] = own
            row["own_f1"] = _undefined_as_nan(at_threshold(yy, ss, own))["f1"] if ok else float("nan")
        rows.append(row)
    return rows


# --- the store side: what the Thresholds page and `rsad thresholds` show and save ---------

@dataclass
class Report:
    version: VersionInfo
    eval: EvalSet
    labels: np.ndarray
    scores: np.ndarray
    batch: str | None  # the latest batch, for flagged counts and the capacity picker
    batch_rows: int
    batch_scores: np.ndarray | None  # None when this version has not scored it completely

    def at(self, threshold: float) -> dict[str, Any]:
        """Evaluation metrics at ``threshold`` plus how many cases of the latest batch it flags."""
        out = at_threshold(self.labels, self.scores, threshold)
        out["batch_flagged"] = (int((self.batch_scores >= threshold).sum())
                                if self.batch_scores is not None else None)
        return out

    def pick(self, spec: Pick, daily_volume: int | None = None) -> float:
        return pick(spec, self.labels, self.scores, batch_scores=self.batch_scores,
                    daily_volume=daily_volume)

    @property
    def curves(self) -> dict[str, dict[str, list[float]]]:
        """ROC and PR curves, each point also carrying the other curve's numbers for hover text."""
        from rsad.evaluation.metrics import curves

        c = curves(self.labels, self.scores)
        pos, neg = int(self.labels.sum()), int(len(self.labels) - self.labels.sum())
        tp, fp = np.asarray(c["roc"]["tpr"]) * pos, np.asarray(c["roc"]["fpr"]) * neg
        c["roc"]["precision"] = np.divide(tp, tp + fp, out=np.ones_like(tp), where=(tp + fp) > 0).tolist()
        neg_sorted = np.sort(self.scores[self.labels == 0])
        above = len(neg_sorted) - np.searchsorted(neg_sorted, c["pr"]["threshold"], side="left")
        c["pr"]["fpr"] = (above / max(neg, 1)).tolist()
        return c

    @property
    def aucs(self) -> dict[str, float]:
        return {"roc_auc": float(skm.roc_auc_score(self.labels, self.scores)),
                "pr_auc": float(skm.average_precision_score(self.labels, self.scores))}


def report(store: Any, model: str | None = None, *, progress: Any = None) -> Report:
    """Score (once) and gather what threshold choice needs for a version (None: the active one)."""

    kwargs = {"progress": progress} if progress else {}
    ev = evaluate(store, [model], **kwargs)
    name = ev.versions[0]
    version = versions.get_version(store, name)
    with store.session() as s:
        ids = q.list_batch_ids(s, limit=1, project_id=store.project_id)
        batch_name, rows, scores = None, 0, None
        if ids:
            b = q.get_batch(s, ids[0], project_id=store.project_id)
            batch_name, rows = b.name, b.row_count
            got = np.asarray(q.batch_scores(s, b.id, version.id), dtype=float)
            scores = got if len(got) == rows else None
    return Report(version, ev, ev.labels, ev.scores[name], batch_name, rows, scores)


def calibration(rep: Report) -> dict[str, Any]:
    """Temperature fitted on the validation cases (all cases if they lack a class) and the
    reliability before and after, measured on the whole evaluation set."""
    from rsad.evaluation.metrics import apply_temperature, fit_temperature, reliability

    src = np.asarray(rep.eval.source)
    fit_on = src == "validation"
    if fit_on.sum() < MIN_SEGMENT_CASES or len(set(rep.labels[fit_on].tolist())) < 2:
        fit_on = np.ones(len(src), dtype=bool)
    t = fit_temperature(rep.labels[fit_on], rep.scores[fit_on])
    return {"temperature": t, "fitted_on": int(fit_on.sum()),
            "before": reliability(rep.labels, rep.scores),
            "after": reliability(rep.labels, apply_temperature(rep.scores, t))}


def save(store: Any, model: str | None, threshold: float, *, user: User, method: str = "manual",
         reason: str = "") -> dict[str, Any]:
    """Store a new threshold on a version (one transaction with its history entry); admins only,
    since it decides what every analyst's queue flags."""

    by = policies.authorize(user, policies.Action.SAVE_THRESHOLD).name
    with store.session() as s:
        version = versions.get_model_version(s, model, project_id=store.project_id)
        change = threshold_log.set_threshold(s, version, threshold, changed_by=by, method=method, reason=reason)
        out = {"model": version.name, "old": change.old_threshold, "new": change.new_threshold}
        s.commit()
    return out


def save_temperature(store: Any, model: str | None, temperature: float | None, *, user: User) -> None:
    """Store (or clear, with None) the calibration temperature the case view applies to scores
    (admins only: every analyst sees the calibrated probability)."""

    policies.authorize(user, policies.Action.SAVE_TEMPERATURE)
    if temperature is not None and not 0.05 <= temperature <= 20:
        raise InputError(_("A temperature between 0.05 and 20 was expected (got {temperature}).").format(
                             temperature=temperature))
    with store.session() as s:
        versions.get_model_version(s, model, project_id=store.project_id).temperature = temperature
        s.commit()


def history(store: Any, model: str | None = None) -> list[dict[str, Any]]:

    with store.session() as s:
        version = versions.get_model_version(s, model, project_id=store.project_id)
        return [{"when": c.created_at, "who": c.changed_by, "from": c.old_threshold,
                 "to": c.new_threshold, "method": c.method, "reason": c.reason}
                for c in threshold_log.threshold_history(s, version.id)]


def stamp(store: Any, model: str | None) -> tuple:
    """Changes whenever the report would: new verdicts, a new batch, new scores of it."""

    with store.session() as s:
        version = versions.get_model_version(s, model, project_id=store.project_id)
        ids = q.list_batch_ids(s, limit=1, project_id=store.project_id)
        scored = q.count_scored(s, ids[0], version.id) if ids else 0
        return (version.name, latest_verdict_id(s), tuple(ids), scored)


def segment_keys(meta: list[dict[str, Any]], max_values: int = 50) -> list[str]:
    """Metadata columns that split the evaluation set into at most ``max_values`` groups."""
    values: dict[str, set] = {}
    for m in meta:
        for k, v in m.items():
            values.setdefault(k, set()).add(str(v))
    return sorted(k for k, vs in values.items() if 1 < len(vs) <= max_values)
