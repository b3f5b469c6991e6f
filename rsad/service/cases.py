"""Case lifecycle for the pages and the CLI: a case's state, assignee and history, the moves
(start, assign, escalate, close, return to review, reopen), the escalated queue and the age of
the cases not closed yet. The rules are rsad.review.case_state's, who may make each move
rsad.auth.policies.case_move_denied's. Each function opens its own transactions on a Store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rsad.auth import audit, policies
from rsad.auth.users import User, users_file
from rsad.data.db import Store
from rsad.data.orm import as_utc, utcnow
from rsad.data.orm_cases import CASE_STATES
from rsad.errors import AccessError, InputError, NotFoundError, StateError
from rsad.i18n import _
from rsad.review import case_state, case_stats
from rsad.review.case_state import CLOSING_REASONS, MOVE_DONE, MOVES, REASON_NAMES, STATE_NAMES

__all__ = ["CASE_STATES", "CLOSING_REASONS", "CaseStatus", "MOVES", "MOVE_DONE", "REASON_NAMES", "STATE_NAMES",
           "age_summary", "allowed_moves", "analysts", "change", "escalated_cases", "find_case", "may_reassign",
           "status"]


@dataclass(frozen=True)
class CaseStatus:
    """Where a case stands, for a page or a command; ``history`` is its audit trail, newest first."""

    case_id: int
    external_id: str
    batch: str
    state: str
    assignee: str | None
    closing_reason: str
    closing_note: str
    escalation_note: str
    escalated_by: str
    escalated_at: datetime | None
    age_days: float | None  # since it came in or was reopened; None once closed
    updated_by: str
    revision: int
    history: list[dict[str, Any]] = field(default_factory=list)


def _case(s: Any, store: Store, case_id: int) -> tuple[str, str, datetime]:
    found = case_stats.case_ref(s, case_id, project_id=store.project_id)
    if found is None:
        raise NotFoundError(_("No case with id {case_id} in project {project!r}.").format(
            case_id=case_id, project=store.project_name))
    return found


def find_case(store: Store, ref: str) -> int:
    """A case id from what a user typed: the store's number, or a case id of the upload unique in the project."""
    ref = str(ref).strip()
    with store.session() as s:
        ids = case_stats.ids_by_external(s, ref, project_id=store.project_id)
        if len(ids) == 1:
            return ids[0]
        if ref.isdigit():
            _case(s, store, int(ref))
            return int(ref)
    if ids:
        raise InputError(_("Case {ref!r} is in more than one batch: give its number instead.").format(ref=ref))
    raise NotFoundError(_("No case {ref!r} in project {project!r}.").format(ref=ref, project=store.project_name))


def status(store: Store, case_id: int, *, history: bool = True) -> CaseStatus:
    """The case's state, assignee, notes, age and (``history``) its audit entries."""
    with store.session() as s:
        ext, batch, uploaded = _case(s, store, case_id)
        row = case_state.current(s, int(case_id))
        trail = audit.events(s, subject=f"case:{int(case_id)}", limit=50) if history else []
    since = row["opened_at"] or as_utc(uploaded)
    age = None if row["state"] == "closed" else (utcnow() - since).total_seconds() / 86_400
    return CaseStatus(case_id=int(case_id), external_id=ext, batch=batch, state=row["state"],
                      assignee=row["assignee"], closing_reason=row["closing_reason"],
                      closing_note=row["closing_note"], escalation_note=row["escalation_note"],
                      escalated_by=row["escalated_by"], escalated_at=row["escalated_at"], age_days=age,
                      updated_by=row["updated_by"], revision=row["revision"], history=trail)


def allowed_moves(user: User | None, case: CaseStatus) -> dict[str, str | None]:
    """{move: None when ``user`` may make it now, else why not} for the moves from the case's state."""
    out: dict[str, str | None] = {}
    for name, (sources, _target) in MOVES.items():
        if case.state in sources:
            target = user.name if (name == "assign" and user is not None) else None
            out[name] = policies.case_move_denied(user, name, state=case.state, assignee=case.assignee,
                                                  target=target)
    return out


def may_reassign(user: User | None) -> bool:
    """Admins assign cases to anyone and act on escalated ones; analysts take cases for themselves."""
    return policies.allowed(user, policies.Action.MANAGE_CASES)


def analysts(store: Store) -> list[str]:
    """The names a case may be assigned to: the users of the user file."""
    return sorted(users_file(store.settings).load())


def change(store: Store, case_id: int, move: str, *, user: User | None, assign_to: str | None = None,
           reason: str = "", note: str = "", seen_revision: int | None = None) -> CaseStatus:
    """Make ``move`` on the case as ``user``; the case as it stands afterwards.

    ``seen_revision``: the revision the page showed; a case changed since is refused rather than
    moved on what the user did not see. The write is conditional on the revision read here too,
    so of two users moving the same case at once exactly one succeeds (StateError for the other).
    """
    with store.session() as s:
        _case(s, store, case_id)
        seen = case_state.current(s, int(case_id))
    if seen_revision is not None and seen_revision != seen["revision"]:
        raise StateError(_("The case changed since you opened it ({who} made it {state}): look again, then "
                           "decide.").format(who=seen["updated_by"] or "?", state=_(STATE_NAMES[seen["state"]])))
    if move == "assign":
        assign_to = (assign_to or "").strip() or None
        if assign_to is not None and assign_to not in analysts(store):
            raise InputError(_("No user {name!r}: assign the case to a user of the desk (`rsad users list`).").format(
                name=assign_to))
    denied = policies.case_move_denied(user, move, state=seen["state"], assignee=seen["assignee"], target=assign_to)
    if denied is not None:
        raise AccessError(denied)
    with store.session() as s:
        done = case_state.move(s, int(case_id), move, actor=user.name, seen=seen,  # type: ignore[union-attr]
                               assign_to=assign_to, reason=reason, note=note)
    if not done:
        raise StateError(_("Someone else changed this case at the same moment: look at it again, then decide."))
    return status(store, case_id)


def escalated_cases(store: Store, *, user: User | None) -> list[dict[str, Any]]:
    """The project's escalated cases (admins): who escalated each, when and why, longest waiting first."""
    policies.authorize(user, policies.Action.MANAGE_CASES)
    with store.session() as s:
        return case_stats.escalated(s, project_id=store.project_id)


def age_summary(store: Store) -> dict[str, Any]:
    """Counts per state, oldest and median age and age buckets of the project's cases not closed yet."""
    with store.session() as s:
        return case_stats.age_summary(s, project_id=store.project_id)
