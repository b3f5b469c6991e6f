"""Choosing the alert threshold: pickers, per-segment numbers, and the saved history.

A case is flagged when its score is at or above the threshold. Every picker returns a
threshold that is one of the evaluation scores (or just above the top score, "flag nothing"),
so the numbers shown for it are exactly the numbers it gets.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from rsad.auth import policies
from rsad.evaluation import threshold_log
from rsad.model import versions
from rsad.auth.users import User
from rsad.errors import InputError
from rsad.evaluation.metrics import at_threshold, max_f1_threshold

PICKERS = ("max-f1", "precision", "recall", "fpr", "cost", "capacity")
MIN_SEGMENT_CASES = 10  # a per-segment threshold from fewer labels would be noise


@dataclass(frozen=True)
class Pick:
    """A picker and its parameter, e.g. ``precision=0.9``, ``capacity=300``, ``max-f1``."""

    kind: str
    value: float | None = None

    @property
    def label(self) -> str:
        return self.kind if self.value is None else f"{self.kind}={self.value:g}"


def parse_pick(spec: str) -> Pick:
    """Parse ``max-f1 | precision=0.9 | recall=0.8 | fpr=0.01 | cost=5 | capacity=300``."""
    m = re.fullmatch(r"\s*([a-z0-9-]+)\s*(?:=\s*([0-9.eE+-]+))?\s*", spec or "")
    if not m or m.group(1) not in PICKERS:
        raise InputError(f"Unknown threshold picker {spec!r}: use one of max-f1, precision=0.9, "
                         "recall=0.8, fpr=0.01, cost=5, capacity=300.")
    kind, raw = m.group(1), m.group(2)
    if kind == "max-f1":
        if raw is not None:
            raise InputError("max-f1 takes no value.")
        return Pick(kind)
    if raw is None:
        raise InputError(f"The {kind} picker needs a value, e.g. {kind}="
                         f"{dict(precision=0.9, recall=0.8, fpr=0.01, cost=5, capacity=300)[kind]}.")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not a number (in {spec!r}).") from None
    low_ok = kind == "fpr"  # zero false alarms is a fair demand; zero precision or recall is not
    if kind in ("precision", "recall", "fpr") and not ((0 <= value if low_ok else 0 < value) and value <= 1):
        raise InputError(f"{kind} must be a fraction between 0 and 1 (got {value:g}).")
    if kind == "cost" and not (value > 0 and math.isfinite(value)):
        raise InputError(f"cost is how many false alarms one missed anomaly is worth: a positive number (got {value:g}).")
    if kind == "capacity" and (value < 0 or value != int(value)):
        raise InputError(f"capacity is a whole number of cases (got {value:g}).")
    return Pick(kind, value)


def _flag_nothing(scores: np.ndarray) -> float:
    return float(np.nextafter(max(float(np.max(scores)), 0.0), np.inf)) if len(scores) else 1.0


def _both_classes(y: np.ndarray) -> None:
    if len(y) == 0 or y.min() == y.max():
        raise InputError("This picker needs labeled cases of both classes (anomaly and normal).")


def pick_precision(y: np.ndarray, s: np.ndarray, target: float) -> float:
    """Lowest threshold whose precision reaches ``target``: the most recall at that precision."""
    _both_classes(y)
    precision, _recall, thr = skm.precision_recall_curve(y, s)
    ok = np.flatnonzero(precision[:-1] >= target)
    if not len(ok):
        raise InputError(f"No threshold reaches precision {target:.2f} on these labels "
                         f"(the best is {precision[:-1].max():.3f}).")
    return float(thr[ok[0]])


def pick_recall(y: np.ndarray, s: np.ndarray, target: float) -> float:
    """Highest threshold whose recall reaches ``target``: the fewest alerts that catch that share."""
    _both_classes(y)
    _precision, recall, thr = skm.precision_recall_curve(y, s)
    ok = np.flatnonzero(recall[:-1] >= target)
    return float(thr[ok[-1]])  # recall is 1.0 at the lowest threshold, so ok is never empty


def pick_fpr(y: np.ndarray, s: np.ndarray, limit: float) -> float:
    """Lowest threshold whose false-positive rate stays within ``limit``: the most recall allowed."""
    _both_classes(y)
    fpr, _tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    ok = np.flatnonzero(fpr <= limit)
    best = thr[ok[-1]]
    return _flag_nothing(s) if not np.isfinite(best) else float(best)


def pick_cost(y: np.ndarray, s: np.ndarray, miss_cost: float) -> float:
    """Threshold with the least total cost: ``miss_cost`` per missed anomaly, 1 per false alarm."""
    _both_classes(y)
    cands = np.append(np.unique(s), _flag_nothing(s))
    order = np.argsort(s)
    ys, ss = y[order], s[order]
    # Cases below each candidate are passed; cumulative counts give FN and FP for every candidate.
    below = np.searchsorted(ss, cands, side="left")
    pos_below = np.concatenate([[0], np.cumsum(ys)])[below]
    neg_below = below - pos_below
    fn, fp = pos_below, (len(y) - y.sum()) - neg_below
    cost = miss_cost * fn + fp
    return float(cands[int(np.argmin(cost))])  # argmin: the lowest threshold among equal costs


def pick_capacity(batch_scores: np.ndarray, capacity: int, daily_volume: int | None = None) -> float:
    """Lowest threshold that flags no more than ``capacity`` cases of the batch.

    With ``daily_volume`` the batch is a sample of a day: the allowed share is
    capacity / daily_volume of the batch. Ties at the cut are left out (never over capacity).
    """
    s = np.asarray(batch_scores, dtype=float)
    if not len(s):
        raise InputError("The latest batch has no scores under this model: score it first.")
    limit = int(capacity)
    if daily_volume:
        if daily_volume <= 0:
            raise InputError("The daily volume must be a positive number of cases.")
        limit = int(math.floor(len(s) * min(1.0, capacity / daily_volume)))
    values, counts = np.unique(s, return_counts=True)  # ascending
    flagged_at = np.cumsum(counts[::-1])[::-1]  # cases >= each value
    ok = np.flatnonzero(flagged_at <= limit)
    return float(values[ok[0]]) if len(ok) else _flag_nothing(s)


def pick(spec: Pick, labels: np.ndarray, scores: np.ndarray, *,
         batch_scores: np.ndarray | None = None, daily_volume: int | None = None) -> float:
    y, s = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    if spec.kind == "max-f1":
        _both_classes(y)
        return max_f1_threshold(y, s)
    if spec.kind == "precision":
        return pick_precision(y, s, spec.value)
    if spec.kind == "recall":
        return pick_recall(y, s, spec.value)
    if spec.kind == "fpr":
        return pick_fpr(y, s, spec.value)
    if spec.kind == "cost":
        return pick_cost(y, s, spec.value)
    if batch_scores is None:
        raise InputError("The capacity picker needs a scored batch: upload and score one first.")
    return pick_capacity(batch_scores, int(spec.value), daily_volume)


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
    version: dict[str, Any]
    eval: Any  # rsad.evaluation.evalset.EvalSet
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
    from rsad.data import store as q
    from rsad.evaluation.evalset import evaluate

    kwargs = {"progress": progress} if progress else {}
    ev = evaluate(store, [model], **kwargs)
    name = ev.versions[0]
    version = versions.get_version(store, name)
    with store.session() as s:
        ids = q.list_batch_ids(s, limit=1)
        batch_name, rows, scores = None, 0, None
        if ids:
            b = q.get_batch(s, ids[0])
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
        version = versions.get_model_version(s, model)
        change = threshold_log.set_threshold(s, version, threshold, changed_by=by, method=method, reason=reason)
        out = {"model": version.name, "old": change.old_threshold, "new": change.new_threshold}
        s.commit()
    return out


def save_temperature(store: Any, model: str | None, temperature: float | None, *, user: User) -> None:
    """Store (or clear, with None) the calibration temperature the case view applies to scores
    (admins only: every analyst sees the calibrated probability)."""

    policies.authorize(user, policies.Action.SAVE_TEMPERATURE)
    if temperature is not None and not 0.05 <= temperature <= 20:
        raise InputError(f"A temperature between 0.05 and 20 was expected (got {temperature}).")
    with store.session() as s:
        versions.get_model_version(s, model).temperature = temperature
        s.commit()


def history(store: Any, model: str | None = None) -> list[dict[str, Any]]:

    with store.session() as s:
        version = versions.get_model_version(s, model)
        return [{"when": c.created_at, "who": c.changed_by, "from": c.old_threshold,
                 "to": c.new_threshold, "method": c.method, "reason": c.reason}
                for c in threshold_log.threshold_history(s, version.id)]


def stamp(store: Any, model: str | None) -> tuple:
    """Changes whenever the report would: new verdicts, a new batch, new scores of it."""
    from sqlalchemy import func, select

    from rsad.data import store as q
    from rsad.data.orm import Case, Score, Verdict

    with store.session() as s:
        version = versions.get_model_version(s, model)
        ids = q.list_batch_ids(s, limit=1)
        scored = s.scalar(select(func.count(Score.id)).join(Case, Case.id == Score.case_id).where(
            Case.batch_id == ids[0], Score.model_version_id == version.id)) if ids else 0
        return (version.name, s.scalar(select(func.max(Verdict.id))), tuple(ids), scored)


def segment_keys(meta: list[dict[str, Any]], max_values: int = 50) -> list[str]:
    """Metadata columns that split the evaluation set into at most ``max_values`` groups."""
    values: dict[str, set] = {}
    for m in meta:
        for k, v in m.items():
            values.setdefault(k, set()).add(str(v))
    return sorted(k for k, vs in values.items() if 1 < len(vs) <= max_values)
