"""Project settings kept in ``projects.settings`` (JSON) that admins change after creating a
project: read with a default, checked, written back. Store-level functions (each opens its own
transaction); who may change them is the service layer's business."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    _update(store, name, {SECOND_OPINION_KEY: value})
    return value


def _update(store: Store, name: str, values: dict[str, Any]) -> None:
    """Merge ``values`` into project ``name``'s settings (the other keys kept)."""
    with store.session() as s:
        row = s.scalar(select(Project).where(Project.name == name))
        if row is None:
            raise NotFoundError(_("No project named {name!r}: see `rsad projects list`.").format(name=name))
        # A new dict: SQLAlchemy notices a JSON column change only when the value is replaced.
        row.settings = {**(row.settings or {}), **values}


# --- rings (rsad.ops.rings) ---------------------------------------------------------------------

ENTITIES_KEY, TIME_KEY, WINDOW_KEY, COSINE_KEY = "entity_columns", "time_column", "ring_window_hours", \
    "near_duplicate_cosine"
DEFAULT_WINDOW_HOURS, MAX_WINDOW_HOURS = 24.0, 24.0 * 365
DEFAULT_COSINE, MIN_COSINE = 0.95, 0.5  # below 0.5 texts are merely alike, not copies


@dataclass(frozen=True)
class RingSettings:
    """Which metadata columns name entities, which one holds the time ("" finds one), the window
    in hours within which shared entities link cases, and the near-duplicate cosine."""

    entity_columns: tuple[str, ...] = ()
    time_column: str = ""
    window_hours: float = DEFAULT_WINDOW_HOURS
    near_duplicate_cosine: float = DEFAULT_COSINE


def ring_settings(settings: dict[str, Any] | None) -> RingSettings:
    """The project's ring settings, with the defaults for what an admin did not set."""
    s = settings or {}
    return RingSettings(entity_columns=tuple(s.get(ENTITIES_KEY) or ()), time_column=str(s.get(TIME_KEY) or ""),
                        window_hours=float(s.get(WINDOW_KEY) or DEFAULT_WINDOW_HOURS),
                        near_duplicate_cosine=float(s.get(COSINE_KEY) or DEFAULT_COSINE))


def check_ring_settings(value: RingSettings) -> RingSettings:
    """``value`` with its column names trimmed; InputError for a window or cosine out of range."""
    columns = tuple(dict.fromkeys(c.strip() for c in value.entity_columns if c and c.strip()))
    if any(len(c) > 200 for c in columns) or len(value.time_column) > 200:
        raise InputError(_("Column names are at most 200 characters."))
    if not 0 < value.window_hours <= MAX_WINDOW_HOURS:  # NaN fails too
        raise InputError(_("The ring window must be more than 0 and at most {most:g} hours, not {hours!r}.").format(
            most=MAX_WINDOW_HOURS, hours=value.window_hours))
    if not MIN_COSINE <= value.near_duplicate_cosine <= 1:
        raise InputError(_("The near-duplicate cosine must be between {least} and 1 ({usual} is usual), not "
                           "{cosine!r}.").format(least=MIN_COSINE, usual=DEFAULT_COSINE,
                                                  cosine=value.near_duplicate_cosine))
    return replace(value, entity_columns=columns, time_column=value.time_column.strip(),
                   window_hours=float(value.window_hours), near_duplicate_cosine=float(value.near_duplicate_cosine))


def project_ring_settings(session: Session, project_id: int) -> RingSettings:
    """The project's ring settings, read now (an admin's change reaches every process)."""
    return ring_settings(session.scalar(select(Project.settings).where(Project.id == project_id)))


def set_ring_settings(store: Store, name: str, value: RingSettings) -> RingSettings:
    """Set project ``name``'s ring settings (all four at once); returns what was stored."""
    value = check_ring_settings(value)
    _update(store, name, {ENTITIES_KEY: list(value.entity_columns), TIME_KEY: value.time_column,
                          WINDOW_KEY: value.window_hours, COSINE_KEY: value.near_duplicate_cosine})
    return value
