"""Project settings kept in ``projects.settings`` (JSON) that admins change after creating a
project: read with a default, checked, written back. Store-level functions (each opens its own
transaction); who may change them is the service layer's business."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsad.data.db import Store
from rsad.data.orm import Project
from rsad.errors import InputError, NotFoundError
from rsad.i18n import _

SECOND_OPINION_KEY = "second_opinion_share"
MAX_SECOND_OPINION = 0.5  # more would turn second opinions into double work for most cases
SUGGESTED_SECOND_OPINION = 0.05


def second_opinion_share(settings: dict[str, Any] | None) -> float:
    """The share of cases a second analyst judges blind; 0 (off) unless an admin set one."""
    return float((settings or {}).get(SECOND_OPINION_KEY, 0.0) or 0.0)


def check_second_opinion(share: float) -> float:
    try:
        value = float(share)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= MAX_SECOND_OPINION:  # NaN fails too
        raise InputError(_("The second opinion share must be between 0 (off) and {most}; {usual} is the usual "
                           "choice, not {share!r}.").format(most=MAX_SECOND_OPINION, usual=SUGGESTED_SECOND_OPINION,
                                                            share=share))
    return round(value, 3)  # cases are sampled in thousandths (rsad.review.second_opinion)


def project_share(session: Session, project_id: int) -> float:
    """The project's second opinion share, read now: an admin's change reaches every process."""
    return second_opinion_share(session.scalar(select(Project.settings).where(Project.id == project_id)))


def set_second_opinion(store: Store, name: str, share: float) -> float:
    """Set project ``name``'s second opinion share (0 .. 0.5); returns the value stored."""
    value = check_second_opinion(share)
    with store.session() as s:
        row = s.scalar(select(Project).where(Project.name == name))
        if row is None:
            raise NotFoundError(_("No project named {name!r}: see `rsad projects list`.").format(name=name))
        # A new dict: SQLAlchemy notices a JSON column change only when the value is replaced.
        row.settings = {**(row.settings or {}), SECOND_OPINION_KEY: value}
    return value
