"""Fleiss' kappa over every analyst at once, beside the per-pair Cohen's kappa of
:func:`rsad.review.reports.agreement`, and the Landis & Koch reading of a kappa.

Each analyst counts with their latest verdict on a case; 'unsure' is a category of its own (an
analyst who is unsure where another is sure disagrees). Fleiss' kappa assumes the same number of
analysts on every case (statsmodels' ``fleiss_kappa`` checks it), so it takes the number n that
uses the most verdicts: cases with fewer analysts are left out, and on cases with more the first n
analysts to judge them count.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from rsad.config import VERDICT_LABELS

CATEGORIES = tuple(VERDICT_LABELS)  # anomaly, normal, unsure
# Landis & Koch (1977): the upper bound of each band; below 0 is "poor" (worse than chance).
BANDS = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"), (1.0, "almost perfect"))


def kappa_band(kappa: float | None) -> str | None:
    """The Landis & Koch reading of a kappa ('moderate', ...); None when there is no kappa."""
    if kappa is None or kappa != kappa:
        return None
    if kappa < 0:
        return "poor"
    return next((name for upper, name in BANDS if kappa <= upper), "almost perfect")


def latest_per_analyst(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, analyst): the latest label, and ``first`` (the analyst's first verdict id
    on the case, which orders the analysts of a case). ``verdicts``: id, case_pk, analyst, label."""
    if verdicts.empty:
        return pd.DataFrame(columns=["case_pk", "analyst", "label", "first"])
    v = verdicts.sort_values("id")
    by = v.groupby(["case_pk", "analyst"])
    return by.agg(label=("label", "last"), first=("id", "first")).reset_index()


def raters_per_case(counts: pd.Series) -> int:
    """The number of analysts per case that uses the most verdicts (ties: the smaller, covering more cases)."""
    options = sorted({int(n) for n in counts if n >= 2})
    return max(options, key=lambda n: (n * int((counts >= n).sum()), -n)) if options else 0


def fleiss(latest: pd.DataFrame) -> dict[str, Any]:
    """Fleiss' kappa over the cases judged by two analysts or more (see the module's rule).

    Returns kappa (None: no such case), band, cases, analysts (distinct ones counted), raters
    (per case), agreement (share of agreeing analyst pairs, Fleiss' P-bar)."""
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    empty = {"kappa": None, "band": None, "cases": 0, "analysts": 0, "raters": 0, "agreement": None}
    if latest.empty:
        return empty
    n = raters_per_case(latest.groupby("case_pk")["analyst"].nunique())
    if n < 2:
        return empty
    used = latest.sort_values(["case_pk", "first"]).groupby("case_pk").head(n)
    used = used[used.groupby("case_pk")["analyst"].transform("size") == n]
    codes = used["label"].map({c: i for i, c in enumerate(CATEGORIES)})
    data = codes.to_numpy().reshape(-1, n)  # one row per case: sorted by case, n rows each
    table, _ = aggregate_raters(data, n_cat=len(CATEGORIES))
    with warnings.catch_warnings():
        # Undefined when every verdict has one and the same label: that is full agreement.
        warnings.simplefilter("ignore")
        kappa = float(fleiss_kappa(table, method="fleiss"))
    p_bar = float(((table * table).sum(1) - n).mean() / (n * (n - 1)))
    if not np.isfinite(kappa):
        kappa = 1.0 if p_bar == 1.0 else float("nan")
    return {"kappa": kappa, "band": kappa_band(kappa), "cases": len(table), "analysts": int(used["analyst"].nunique()),
            "raters": n, "agreement": p_bar}
