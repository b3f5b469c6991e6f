"""Evaluation numbers for a binary anomaly scorer (scikit-learn underneath)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from rsad.errors import InputError


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise InputError("Labels and scores must be two lists of the same length.")
    if len(y) == 0:
        raise InputError("There are no labeled cases to evaluate on.")
    return y, s


def max_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold with the highest F1 (flag a case when score >= threshold)."""
    y, s = _check(labels, scores)
    if y.min() == y.max():
        return 0.5
    precision, recall, thresholds = skm.precision_recall_curve(y, s)
    # The last (precision, recall) pair has no threshold; drop it.
    p, r = precision[:-1], recall[:-1]
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    return float(thresholds[int(np.argmax(f1))])


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and flagged rate at ``threshold``; ROC-AUC and PR-AUC."""
    y, s = _check(labels, scores)
    pred = (s >= threshold).astype(int)
    out = {
        "n": int(len(y)),
        "n_anomalies": int(y.sum()),
        "threshold": float(threshold),
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(skm.precision_score(y, pred, zero_division=0)),
        "recall": float(skm.recall_score(y, pred, zero_division=0)),
        "f1": float(skm.f1_score(y, pred, zero_division=0)),
        "flagged_rate": float(pred.mean()),
    }
    both_classes = 0 < y.sum() < len(y)
    out["roc_auc"] = float(skm.roc_auc_score(y, s)) if both_classes else float("nan")
    out["pr_auc"] = float(skm.average_precision_score(y, s)) if both_classes else float("nan")
    return out


def classification_report(labels: np.ndarray, scores: np.ndarray, threshold: float) -> str:
    y, s = _check(labels, scores)
    return skm.classification_report(
        y, (s >= threshold).astype(int), labels=[0, 1], target_names=["normal", "anomaly"],
        digits=3, zero_division=0,
    )


def curves(labels: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """ROC and precision-recall curves (scikit-learn), as plain lists ready for a chart.

    ``roc``: fpr, tpr, threshold (sklearn's first threshold is +inf: clipped to 1.0).
    ``pr``: precision, recall, threshold (the last point, recall 0, has no threshold: 1.0).
    """
    y, s = _check(labels, scores)
    if y.min() == y.max():
        raise InputError("Both classes are needed to draw ROC and precision-recall curves.")
    fpr, tpr, roc_thr = skm.roc_curve(y, s, drop_intermediate=False)
    precision, recall, pr_thr = skm.precision_recall_curve(y, s)
    return {
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(),
                "threshold": np.minimum(roc_thr, 1.0).tolist()},
        "pr": {"precision": precision.tolist(), "recall": recall.tolist(),
               "threshold": np.append(pr_thr, 1.0).tolist()},
    }
