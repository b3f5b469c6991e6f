"""Is a candidate better than the active version, or is the difference noise? A paired bootstrap.

Both versions are scored on the same held-out labeled cases, so the question is about the
*difference* candidate − active on those cases: every resample draws cases with replacement
and computes both versions' metrics on the same draw, which cancels the case-to-case luck the
two share (a hard set is hard for both). Two independent intervals would overlap long after the
paired one excludes 0 (docs/decisions/0024-paired-bootstrap-comparison.md).

A resample is a vector of counts (how often each case was drawn). Average precision and
ROC-AUC are computed for a whole block of resamples at once from one sort per version, with
tied scores grouped as scikit-learn groups them, so they equal ``average_precision_score`` and
``roc_auc_score`` with ``sample_weight=counts`` (tests/test_bootstrap.py checks it); calling
scikit-learn once per resample was far too slow for a page. A resample that lacks either class
has no AUC: it is redrawn (``redrawn`` counts them), so every result rests on ``resamples`` draws.
The interval is the percentile interval of the resampled differences.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rsad.errors import InputError
from rsad.i18n import N_, _, ngettext

METRICS = ("pr_auc", "roc_auc", "f1")
HEADLINE = "pr_auc"  # the desk's metric for rare anomalies: it ignores the mass of easy normals
RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0
BLOCK_CELLS = 50_000  # resamples × cases computed together: small enough to stay in the CPU cache
MAX_REDRAWS = 1000  # rounds of redrawing one-class resamples before giving up

BETTER, WORSE, SAME = "better", "worse", "indistinguishable"
VERDICT_WORDS = {BETTER: N_("better"), WORSE: N_("worse"), SAME: N_("indistinguishable")}
METRIC_NAMES = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "f1": "F1"}


@dataclass(frozen=True)
class MetricDelta:
    """One metric of both versions on the cases, the difference and its interval."""

    metric: str
    candidate: float
    active: float
    delta: float  # candidate − active on the cases themselves
    low: float
    high: float
    verdict: str  # better (interval above 0), worse (below 0) or indistinguishable (contains 0)

    @property
    def label(self) -> str:
        """PR-AUC, ROC-AUC, F1: the names the desk shows in every language."""
        return METRIC_NAMES[self.metric]


@dataclass(frozen=True)
class PairedBootstrap:
    """The paired comparison of a candidate with an active version on the same labeled cases."""

    n: int
    anomalies: int
    resamples: int
    redrawn: int
    confidence: float
    seed: int
    metrics: dict[str, MetricDelta]

    @property
    def headline(self) -> MetricDelta:
        return self.metrics[HEADLINE]

    @property
    def verdict(self) -> str:
        return self.headline.verdict

    def record(self, against: str) -> dict[str, Any]:
        """What a version's metrics keep (JSON): ``metrics["vs_active"]``."""
        return {"against": against, "n": self.n, "anomalies": self.anomalies, "resamples": self.resamples,
                "confidence": self.confidence, "seed": self.seed, "verdict": self.verdict,
                **{k: {f: v for f, v in asdict(m).items() if f != "metric"} for k, m in self.metrics.items()}}


def verdict_of(low: float, high: float) -> str:
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return SAME


class _Ranked:
    """One version's cases in descending score order, tied scores grouped (one threshold each)."""

    def __init__(self, y: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(-scores, kind="stable")
        ranked = scores[self.order]
        self.starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        self.y = y[self.order].astype(float)

    def aucs(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Average precision and ROC-AUC of each row of case weights ``w`` (resamples × cases)."""
        ranked = w[:, self.order]
        pos = np.add.reduceat(ranked * self.y, self.starts, axis=1)  # anomalies drawn at each threshold
        neg = np.add.reduceat(ranked * (1.0 - self.y), self.starts, axis=1)
        tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
        n_pos, n_neg = tp[:, -1], fp[:, -1]
        flagged = tp + fp
        precision = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
        ap = (pos * precision).sum(axis=1) / n_pos  # recall steps times precision there
        # Each anomaly beats the normals scored below it; a tie counts half (trapezoidal ROC area).
        roc = (pos * (n_neg[:, None] - fp + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
        return ap, roc


def _f1(w: np.ndarray, y: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    tp = w @ (y * flagged)
    fp = w @ ((1 - y) * flagged)
    fn = w @ (y * (1 - flagged))
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)  # zero_division=0, as sklearn


def _metrics(w: np.ndarray, y: np.ndarray, ranked: _Ranked, flagged: np.ndarray) -> dict[str, np.ndarray]:
    ap, roc = ranked.aucs(w)
    return {"pr_auc": ap, "roc_auc": roc, "f1": _f1(w, y, flagged)}


def _draw(rng: np.random.Generator, y: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """``size`` resamples as case counts, each with both classes; and how many were redrawn."""
    n, redrawn = len(y), 0
    counts = np.empty((size, n))
    todo = np.arange(size)
    for _round in range(MAX_REDRAWS):
        idx = rng.integers(0, n, size=(len(todo), n))
        drawn = np.bincount((idx + n * np.arange(len(todo))[:, None]).ravel(), minlength=len(todo) * n)
        counts[todo] = drawn.reshape(len(todo), n)
        pos = counts[todo] @ y
        bad = (pos == 0) | (pos == n)
        if not bad.any():
            return counts, redrawn
        redrawn += int(bad.sum())
        todo = todo[bad]
    raise InputError(_("Almost every resample of these {n} cases lacks a class: label more cases of the rarer "
                       "class before comparing.").format(n=n))


def paired_bootstrap(labels: np.ndarray, candidate: np.ndarray, active: np.ndarray, candidate_threshold: float,
                     active_threshold: float, *, resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                     seed: int = SEED) -> PairedBootstrap:
    """Candidate − active PR-AUC, ROC-AUC and F1 (each at its own threshold) on the same cases, with
    a ``confidence`` percentile interval from ``resamples`` paired resamples (seeded: repeatable)."""
    y = np.asarray(labels, dtype=float)
    scores = {"candidate": np.asarray(candidate, dtype=float), "active": np.asarray(active, dtype=float)}
    if y.ndim != 1 or any(s.shape != y.shape for s in scores.values()):
        raise InputError(_("Labels and both versions' scores must be three lists of the same length."))
    n, anomalies = len(y), int(y.sum())
    if anomalies == 0 or anomalies == n:
        raise InputError(_("The {n} cases need both anomalies and normal cases to compare two versions.").format(n=n))
    if resamples < 1:
        raise InputError(_("The bootstrap needs at least one resample."))
    ranked = {r: _Ranked(y, s) for r, s in scores.items()}
    flagged = {"candidate": (scores["candidate"] >= candidate_threshold).astype(float),
               "active": (scores["active"] >= active_threshold).astype(float)}
    point = {r: _metrics(np.ones((1, n)), y, ranked[r], flagged[r]) for r in scores}
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    redrawn = 0
    block = max(1, BLOCK_CELLS // n)
    for start in range(0, resamples, block):
        w, again = _draw(rng, y, min(block, resamples - start))
        redrawn += again
        c, a = (_metrics(w, y, ranked[r], flagged[r]) for r in ("candidate", "active"))
        for k in METRICS:
            deltas[k].append(c[k] - a[k])
    tail = (1 - confidence) / 2
    out = {}
    for k in METRICS:
        low, high = np.quantile(np.concatenate(deltas[k]), [tail, 1 - tail])
        cand, act = float(point["candidate"][k][0]), float(point["active"][k][0])
        out[k] = MetricDelta(k, cand, act, cand - act, float(low), float(high), verdict_of(low, high))
    return PairedBootstrap(n, anomalies, resamples, redrawn, confidence, seed, out)


def verdict_word(verdict: str) -> str:
    """better / worse / indistinguishable in the reader's language."""
    return _(VERDICT_WORDS[verdict]) if verdict in VERDICT_WORDS else verdict


def verdict_line(result: PairedBootstrap | dict[str, Any], candidate: str, active: str) -> str:
    """The comparison in one sentence: better, worse or cannot be told apart, on what, by how much.

    ``result`` is a :class:`PairedBootstrap` or the record a version's metrics keep."""
    if isinstance(result, PairedBootstrap):
        result = result.record(active)
    head = result[HEADLINE]
    cases = ngettext("{n:,} held-out cases ({anomalies:,} anomaly)", "{n:,} held-out cases ({anomalies:,} anomalies)",
                     result["anomalies"]).format(n=result["n"], anomalies=result["anomalies"])
    template = {BETTER: _("{candidate} is better than {active} on {cases}: PR-AUC {delta:+.3f} "
                          "({level:.0%} CI {low:+.3f} to {high:+.3f})."),
                WORSE: _("{candidate} is worse than {active} on {cases}: PR-AUC {delta:+.3f} "
                         "({level:.0%} CI {low:+.3f} to {high:+.3f})."),
                SAME: _("{candidate} cannot be told apart from {active} on {cases}: PR-AUC {delta:+.3f} "
                        "({level:.0%} CI {low:+.3f} to {high:+.3f}, which contains 0).")}[head["verdict"]]
    return template.format(candidate=candidate, active=active, cases=cases, delta=head["delta"], low=head["low"],
                           high=head["high"], level=result["confidence"])
