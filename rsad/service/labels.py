"""Labels for the pages and the CLI: verdict tables, analysts, current labels, agreement, and
the export in the batch schema."""

from __future__ import annotations

from typing import Any

from rsad.data.db import Store
from rsad.review import second_opinion
from rsad.review.agreement import fleiss, kappa_band, latest_per_analyst
from rsad.review.export import export_labels, labels_bytes
from rsad.review.reports import agreement, analysts, current_label_table, verdict_table

__all__ = [
    "agreement",
    "analysts",
    "current_label_table",
    "export_labels",
    "kappa_band",
    "labels_bytes",
    "overall_agreement",
    "second_opinions",
    "verdict_table",
]


def overall_agreement(store: Store) -> dict[str, Any]:
    """Fleiss' kappa over the project's cases judged by two analysts or more (rsad.review.agreement):
    kappa, band, cases, analysts, raters (per case), agreement."""
    return fleiss(latest_per_analyst(verdict_table(store, limit=1_000_000)))


def second_opinions(store: Store) -> dict[str, Any]:
    """The project's second opinion share, and its sampled cases judged twice (or waiting for a second)."""
    with store.session() as s:
        return second_opinion.summary(s, store.project_id)
