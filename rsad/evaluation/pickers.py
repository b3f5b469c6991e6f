"""Threshold pickers: each turns labels and scores (or a batch's scores and a capacity) into one threshold."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from rsad.errors import InputError
from rsad.evaluation.metrics import max_f1_threshold
from rsad.i18n import _

PICKERS = ("max-f1", "precision", "recall", "fpr", "cost", "capacity")


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
        raise InputError(_("Unknown threshold picker {spec!r}: use one of max-f1, precision=0.9, recall=0.8, "
                           "fpr=0.01, cost=5, capacity=300.").format(spec=spec))
    kind, raw = m.group(1), m.group(2)
    if kind == "max-f1":
        if raw is not None:
            raise InputError(_("max-f1 takes no value."))
        return Pick(kind)
    if raw is None:
        raise InputError(_("The {kind} picker needs a value, e.g. {kind}={example}.").format(
                             kind=kind, example=dict(precision=0.9, recall=0.8, fpr=0.01, cost=5, capacity=300)[kind]))
    try:
        value = float(raw)
    except ValueError:
        raise InputError(_("{raw!r} is not a number (in {spec!r}).").format(raw=raw, spec=spec)) from None
    low_ok = kind == "fpr"  # zero false alarms is a fair demand; zero precision or recall is not
    if kind in ("precision", "recall", "fpr") and not ((0 <= value if low_ok else 0 < value) and value <= 1):
        raise InputError(_("{kind} must be a fraction between 0 and 1 (got {value:g}).").format(
                             kind=kind, value=value))
    if kind == "cost" and not (value > 0 and math.isfinite(value)):
        raise InputError(_("cost is how many false alarms one missed anomaly is worth: a positive number (got "
                           "{value:g}).").format(value=value))
    if kind == "capacity" and (value < 0 or value != int(value)):
        raise InputError(_("capacity is a whole number of cases (got {value:g}).").format(value=value))
    return Pick(kind, value)


def _flag_nothing(scores: np.ndarray) -> float:
    return float(np.nextafter(max(float(np.max(scores)), 0.0), np.inf)) if len(scores) else 1.0


def _both_classes(y: np.ndarray) -> None:
    if len(y) == 0 or y.min() == y.max():
        raise InputError(_("This picker needs labeled cases of both classes (anomaly and normal)."))


def pick_precision(y: np.ndarray, s: np.ndarray, target: float) -> float:
    """Lowest threshold whose precision reaches ``target``: the most recall at that precision."""
    _both_classes(y)
    precision, _recall, thr = skm.precision_recall_curve(y, s)
    ok = np.flatnonzero(precision[:-1] >= target)
    if not len(ok):
        raise InputError(_("No threshold reaches precision {target:.2f} on these labels "
                           "(the best is {max:.3f}).").format(target=target, max=precision[:-1].max()))
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
        raise InputError(_("The latest batch has no scores under this model: score it first."))
    limit = int(capacity)
    if daily_volume:
        if daily_volume <= 0:
            raise InputError(_("The daily volume must be a positive number of cases."))
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
        raise InputError(_("The capacity picker needs a scored batch: upload and score one first."))
    return pick_capacity(batch_scores, int(spec.value), daily_volume)
