"""Labels for the pages and the CLI: verdict tables, analysts, current labels, agreement, and
the export in the batch schema."""

from __future__ import annotations

from rsad.review.export import export_labels, labels_bytes
from rsad.review.reports import agreement, analysts, current_label_table, verdict_table

__all__ = [
    "agreement",
    "analysts",
    "current_label_table",
    "export_labels",
    "labels_bytes",
    "verdict_table",
]
