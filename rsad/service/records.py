"""The typed records the service layer hands to the pages and the CLI (plus those it re-exports:
``VersionInfo`` from :mod:`rsad.model.versions`, ``QueueFilter`` from :mod:`rsad.review.work_queue`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueuePage:
    """One page of the review queue under the active model."""

    rows: list[dict[str, Any]]  # id, external_id, batch, score, preview, verdict, reason_code
    total: int  # cases matching the filters, on every page
    model: str
    model_id: int
    threshold: float
    offset: int  # queue position of rows[0]
    held: list[dict[str, Any]]  # analyst, cases, until: matching cases other analysts have open

    def case_at(self, position: int) -> int | None:
        """The case id at a queue position, if this page holds it."""
        i = position - self.offset
        return int(self.rows[i]["id"]) if 0 <= i < len(self.rows) else None


@dataclass(frozen=True)
class CaseView:
    """Everything the case view shows about one case."""

    id: int
    external_id: str
    batch: str
    batch_id: int
    text: str
    meta: dict[str, Any]
    given_label: int | None
    score: float | None  # under the active model; None: not scored by it
    verdicts: list[dict[str, Any]]  # newest first: label, reason_code, note, analyst, created_at, ...
    model: str | None  # the active model's name (None: no active model)
    threshold: float | None
    probability: float | None  # the score through the saved calibration temperature, if any
    second_opinion: bool = False  # the viewer judges it blind: others' verdicts are left out
