"""Thresholds for the pages and the CLI: the report a version's evaluation set gives, the
pickers, segments, calibration, and saving a threshold or temperature (admins)."""

from __future__ import annotations

from rsad.evaluation.pickers import Pick, parse_pick, pick, pick_capacity
from rsad.evaluation.thresholds import (
    MIN_SEGMENT_CASES,
    Report,
    calibration,
    history,
    report,
    save,
    save_temperature,
    segment_keys,
    segment_table,
    shown,
    stamp,
)

__all__ = [
    "Report",
    "Pick",
    "parse_pick",
    "pick",
    "pick_capacity",
    "MIN_SEGMENT_CASES",
    "calibration",
    "history",
    "report",
    "save",
    "save_temperature",
    "segment_keys",
    "segment_table",
    "shown",
    "stamp",
]
