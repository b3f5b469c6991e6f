"""Is a scored batch like what its model was validated on? Pure numbers (numpy and scipy only).

A version's **reference profile** (:func:`reference_profile`, saved in its metrics under
``"reference"`` at training time) holds 101 quantiles of its validation scores, how many
validation rows they summarise, the share of them at or above the threshold, and the share of
unknown (``[UNK]``) tokens in its training texts. :func:`assess` compares a batch's scores and
unknown-token share with it:

Both shift measures compare the batch with the reference *reweighted to the batch's flagged
share* (:func:`matched`): a batch with more or fewer anomalies than the validation split is not a
shifted one (the flagged-share rule below judges that), a batch whose scores sit where validation
scores never did is.

- **PSI** (population stability index) over the reference's 10 quantile bins (cut points that
  coincide are merged), a half count added to every bin of both sides so an empty bin stays
  finite. Conventional reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a major shift.
- **KS**: the two-sample Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``), the largest
  gap between the two score distributions' CDFs (0 to 1).

**The rule.** A batch looks foreign when any of these holds:

1. its score distribution shifted: with at least ``MIN_ROWS`` rows, PSI > ``PSI_MAJOR`` (0.25)
   or KS > ``KS_MAJOR`` (0.3), each also above what sampling alone gives two samples of these
   sizes (PSI ~ chi-squared(bins - 1) * (1/n + 1/m): ``PSI_NOISE`` = 28, its 99.9th percentile
   for 9 bins; KS: ``KS_NOISE`` = 1.95, the 0.1 % critical value) - a model validated on 16 rows
   cannot call a 40-row batch shifted;
2. with at least ``MIN_ROWS`` rows, it flags more than ``max(2 x reference, reference + 0.15,
   reference + 3 standard errors)`` of its rows (the reference share recomputed from the
   quantiles at the threshold in force, so a changed threshold is compared fairly). Fewer flagged than on
   validation is not a warning: real batches usually hold fewer anomalies than a balanced
   validation split;
3. more than ``UNKNOWN_MAJOR`` (5 %) of its non-special tokens are unknown to the tokenizer
   (any batch size: a text the tokenizer cannot read is unreadable however few there are).

Without a reference profile only rule 3 applies (and rule 2 has nothing to compare with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rsad.i18n import _

BINS = 10
QUANTILES = 101  # reference scores are kept as this many quantiles (0 %, 1 %, ..., 100 %)
SMOOTH = 0.5  # counts added to every PSI bin of both sides
MIN_ROWS = 30  # fewer rows: no verdict from PSI, KS or the flagged share
PSI_MAJOR, KS_MAJOR = 0.25, 0.3
PSI_NOISE, KS_NOISE = 28.0, 1.95
FLAGGED_RATIO, FLAGGED_MARGIN = 2.0, 0.15
UNKNOWN_MAJOR = 0.05
SAMPLE_TEXTS = 2_000  # texts tokenized for the unknown-token share


@dataclass(frozen=True)
class Check:
    """How a batch compares with its version's reference profile (None: not measured)."""

    rows: int
    flagged_share: float
    reference_flagged_share: float | None
    psi: float | None
    ks: float | None
    unknown_token_share: float | None
    foreign: bool
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sample(reference: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(reference, dtype=np.float64)


def psi(reference: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray, bins: int = BINS) -> float:
    """Population stability index of ``scores`` against ``reference`` (a sample, or its quantiles)
    over the reference's quantile bins; see the module docstring."""
    ref, cur = _sample(reference), _sample(scores)
    cuts = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    k = len(cuts) + 1
    expected = (np.bincount(np.searchsorted(cuts, ref, side="right"), minlength=k) + SMOOTH) / (len(ref) + SMOOTH * k)
    actual = (np.bincount(np.searchsorted(cuts, cur, side="right"), minlength=k) + SMOOTH) / (len(cur) + SMOOTH * k)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks(reference: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic (0: same distribution, 1: disjoint)."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(_sample(reference), _sample(scores)).statistic)


def unknown_token_share(ids: Iterable[Sequence[int]], unk_id: int | None, special_ids: Iterable[int]) -> float | None:
    """Share of the non-special token ids that are ``unk_id`` (None: no tokens, or no unknown token)."""
    if unk_id is None:
        return None
    special = set(special_ids) - {unk_id}
    total = unknown = 0
    for row in ids:
        for t in row:
            if t not in special:
                total += 1
                unknown += t == unk_id
    return unknown / total if total else None


def reference_profile(scores: Sequence[float] | np.ndarray, threshold: float,
                      unknown_share: float | None) -> dict[str, Any]:
    """What a version was validated on, as saved in its metrics under ``"reference"``."""
    s = _sample(scores)
    return {"quantiles": [round(float(q), 6) for q in np.quantile(s, np.linspace(0, 1, QUANTILES))],
            "n": int(len(s)), "flagged_share": float((s >= threshold).mean()),
            "unknown_token_share": unknown_share}


def matched(reference: np.ndarray, threshold: float, flagged: float, size: int = 1_000) -> np.ndarray:
    """The reference reweighted to flag ``flagged`` of its rows: its part below the threshold and its
    part at or above it, resampled (by quantiles) in the batch's proportions. A batch that only holds
    more or fewer anomalies than the validation split then shows no score shift; the flagged-share
    rule judges that change on its own. Unchanged when one part is empty."""
    low, high = reference[reference < threshold], reference[reference >= threshold]
    if not len(low) or not len(high):
        return reference
    k_high = int(round(size * flagged))
    return np.concatenate([np.quantile(low, np.linspace(0, 1, size - k_high)) if k_high < size else [],
                           np.quantile(high, np.linspace(0, 1, k_high)) if k_high else []])


def _shift_reasons(ref: np.ndarray, n_ref: int, n: int, p: float, k: float) -> list[str]:
    noise = 1 / n + 1 / n_ref
    out = []
    if p > max(PSI_MAJOR, PSI_NOISE * noise):
        out.append(_("The score distribution shifted: PSI {psi:.2f} (above {major} is a major shift).").format(
            psi=p, major=PSI_MAJOR))
    if k > max(KS_MAJOR, KS_NOISE * np.sqrt(noise)):
        out.append(_("The score distribution differs: KS {ks:.2f} (above {major} is foreign here).").format(
            ks=k, major=KS_MAJOR))
    return out


def assess(reference: dict[str, Any] | None, scores: Sequence[float] | np.ndarray, threshold: float,
           unknown_share: float | None) -> Check:
    """Compare a batch's scores (at ``threshold``) and unknown-token share with a reference
    profile (None: none kept for the version); the rule is in the module docstring."""
    s = _sample(scores)
    n = len(s)
    flagged = float((s >= threshold).mean()) if n else 0.0
    quantiles = (reference or {}).get("quantiles")
    ref = _sample(quantiles) if quantiles else None
    ref_flagged = float((ref >= threshold).mean()) if ref is not None else None
    p = k = None
    reasons: list[str] = []
    if ref is not None and n >= MIN_ROWS:
        like = matched(ref, threshold, flagged)
        p, k = psi(like, s), ks(like, s)
        reasons += _shift_reasons(ref, int(reference.get("n") or len(ref)), n, p, k)
    if ref_flagged is not None and n >= MIN_ROWS and flagged > max(
            FLAGGED_RATIO * ref_flagged, ref_flagged + FLAGGED_MARGIN,
            ref_flagged + 3 * np.sqrt(ref_flagged * (1 - ref_flagged) / n)):
        reasons.append(_("It flags {flagged:.0%} of {n:,} rows vs {reference:.0%} on validation.").format(
            flagged=flagged, n=n, reference=ref_flagged))
    if unknown_share is not None and unknown_share > UNKNOWN_MAJOR:
        reasons.append(_("{share:.1%} of its tokens are unknown to the model's tokenizer "
                         "(above {major:.0%}).").format(share=unknown_share, major=UNKNOWN_MAJOR))
    return Check(rows=n, flagged_share=flagged, reference_flagged_share=ref_flagged, psi=p, ks=k,
                 unknown_token_share=unknown_share, foreign=bool(reasons), reasons=reasons)


def summary(check: dict[str, Any]) -> str:
    """The numbers of a check (its :meth:`Check.as_dict`, or a stored row) in one clause list,
    e.g. 'flagged 68% of 400 vs 12% on validation; score shift PSI 1.92, KS 0.61; unknown tokens 0.4%'."""
    ref = check.get("reference_flagged_share")
    parts = [_("flagged {share:.0%} of {rows:,}").format(share=check["flagged_share"], rows=check["rows"])
             + (_(" vs {reference:.0%} on validation").format(reference=ref) if ref is not None
                else _(" (no validation profile to compare)"))]
    if check.get("psi") is not None:
        parts.append(_("score shift PSI {psi:.2f}, KS {ks:.2f}").format(psi=check["psi"], ks=check["ks"]))
    elif ref is not None:
        parts.append(_("score shift not judged (under {n} rows)").format(n=MIN_ROWS))
    if check.get("unknown_token_share") is not None:
        parts.append(_("unknown tokens {share:.1%}").format(share=check["unknown_token_share"]))
    return "; ".join(parts)
