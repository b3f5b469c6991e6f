"""Retraining jobs for the pages and the CLI: start one (a detached process), watch, stop, and
``run`` (what that process does)."""

from __future__ import annotations

from rsad.training.jobs import LIVE, RetrainParams, get, latest, recent, start, stop
from rsad.training.runner import run

__all__ = [
    "LIVE",
    "RetrainParams",
    "get",
    "latest",
    "recent",
    "run",
    "start",
    "stop",
]
