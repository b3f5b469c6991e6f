"""A case's lifecycle: open → in review → escalated → closed (with a closing reason), its
assignee, and the audit entry of every move. Functions take the session first and never commit.

The allowed moves are :data:`MOVES` (who may make them: ``rsad.auth.policies.case_move_denied``).
A case without a ``case_states`` row is open and unassigned. Every write is conditional: a move
made by hand (:func:`move`) is written only if the row still has the revision its maker read (an
absent row: an INSERT that does nothing when another writer inserted first), and the automatic
moves (:func:`on_open`, :func:`on_verdict`) only from the states they apply to, so two analysts
or two server replicas can never both move a case. How it meets the Review flow: opening a case
(its claim) starts its review and assigns it to the analyst if nobody has it; a verdict closes
an open or in-review case with reason "verdict: anomaly/normal"; escalated cases stay for an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, update
from sqlalchemy.orm import Session

from rsad.auth import audit
from rsad.data.orm import Case, CaseState, as_utc, utcnow
from rsad.data.orm_cases import CASE_STATES
from rsad.errors import ConfigError, InputError
from rsad.i18n import N_, _

# move -> (states it applies to, state it leads to); "assign" keeps the state.
MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    "start": (frozenset({"open"}), "in_review"),
    "escalate": (frozenset({"open", "in_review"}), "escalated"),
    "close": (frozenset({"open", "in_review", "escalated"}), "closed"),
    "return": (frozenset({"escalated"}), "in_review"),  # an admin sends it back to review
    "reopen": (frozenset({"closed"}), "open"),
    "assign": (frozenset({"open", "in_review", "escalated"}), None),
}
STATE_NAMES = {"open": N_("open"), "in_review": N_("in review"), "escalated": N_("escalated"), "closed": N_("closed")}
CLOSING_REASONS = {"confirmed_anomaly": N_("confirmed anomaly"), "false_positive": N_("false positive"),
                   "duplicate": N_("duplicate"), "insufficient_evidence": N_("insufficient evidence"),
                   "other": N_("other (say why in the note)")}
VERDICT_REASONS = {"anomaly": "verdict_anomaly", "normal": "verdict_normal"}  # set by a verdict, not chosen
REASON_NAMES = {**CLOSING_REASONS, "verdict_anomaly": N_("verdict: anomaly"), "verdict_normal": N_("verdict: normal")}
MAX_NOTE = 2_000
MOVE_DONE = {"start": N_("started"), "escalate": N_("escalated"), "close": N_("closed"),
             "return": N_("sent back to review"), "reopen": N_("reopened"), "assign": N_("assigned")}


def _dialect_insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ConfigError(_("Case states need SQLite or PostgreSQL, not {dialect}: change RSAD_DB_URL.").format(
            dialect=dialect))
    return insert


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows for cases that have none yet; a case someone else gave a row meanwhile is left.
    The ids inserted (read back with RETURNING: a driver's rowcount is not reliable here)."""
    if not rows:
        return []
    insert = _dialect_insert(session)
    return [int(c) for c in session.scalars(insert(CaseState).values(rows)
                                            .on_conflict_do_nothing(index_elements=["case_id"])
                                            .returning(CaseState.case_id))]


def current(session: Session, case_id: int) -> dict[str, Any]:
    """The case's state row as a dict; an absent row reads as open, unassigned, revision 0."""
    row = session.get(CaseState, case_id)
    if row is None:
        return {"case_id": case_id, "state": "open", "assignee": None, "closing_reason": "", "closing_note": "",
                "escalation_note": "", "escalated_by": "", "escalated_at": None, "opened_at": None,
                "updated_at": None, "updated_by": "", "revision": 0}
    out = {c.key: getattr(row, c.key) for c in CaseState.__table__.columns}
    for key in ("escalated_at", "opened_at", "updated_at"):
        out[key] = as_utc(out[key]) if out[key] is not None else None
    return out


def check_move(move: str, state: str, *, reason: str = "", note: str = "") -> str | None:
    """The state ``move`` leads to from ``state`` (None: "assign"); InputError when it may not be made."""
    if move not in MOVES:
        raise InputError(_("Unknown move {move!r}: one of {moves}.").format(move=move, moves=", ".join(MOVES)))
    sources, target = MOVES[move]
    if state not in sources:
        raise InputError(_("A case that is {state} cannot be {moved}.").format(
            state=_(STATE_NAMES[state]), moved=_(MOVE_DONE[move])))
    if len(note) > MAX_NOTE:
        raise InputError(_("Notes are at most {n:,} characters.").format(n=MAX_NOTE))
    if move == "close":
        if reason not in CLOSING_REASONS:
            raise InputError(_("Closing needs a reason: one of {reasons}.").format(reasons=", ".join(CLOSING_REASONS)))
        if reason == "other" and not note.strip():
            raise InputError(_("Closing with reason \"other\" needs a note that says why."))
    if move == "escalate" and not note.strip():
        raise InputError(_("Say why you escalate the case (the note the admin reads)."))
    return target


def _values(move: str, target: str | None, actor: str, assign_to: str | None, reason: str, note: str,
            now: datetime) -> dict[str, Any]:
    """The columns ``move`` writes (besides the revision)."""
    values: dict[str, Any] = {"updated_at": now, "updated_by": actor}
    if target is not None:
        values["state"] = target
    if move == "assign":
        values["assignee"] = assign_to
    elif move == "escalate":
        values.update(escalation_note=note.strip(), escalated_by=actor, escalated_at=now)
    elif move == "close":
        values.update(closing_reason=reason, closing_note=note.strip())
    elif move == "reopen":
        values.update(opened_at=now, closing_reason="", closing_note="")
    return values


def move(session: Session, case_id: int, move: str, *, actor: str, seen: dict[str, Any],
         assign_to: str | None = None, reason: str = "", note: str = "", now: datetime | None = None) -> bool:
    """Make ``move`` on a case whose row was ``seen`` (:func:`current`, read in an earlier
    transaction); False when another writer changed it since. Writes first (SQLite takes its
    write lock before anything is read), then the audit entry. The caller checked the policy."""
    now = now or utcnow()
    target = check_move(move, seen["state"], reason=reason, note=note)
    values = _values(move, target, actor, assign_to, reason, note, now)
    if seen["revision"] == 0:
        row = {"case_id": case_id, "state": seen["state"], "assignee": None, "closing_reason": "", "closing_note": "",
               "escalation_note": "", "escalated_by": "", "revision": 1, **values}
        done = _insert_new(session, [row]) == [case_id]
    else:
        done = session.execute(
            update(CaseState).where(CaseState.case_id == case_id, CaseState.revision == seen["revision"])
            .values(revision=CaseState.revision + 1, **values).execution_options(synchronize_session=False)
        ).rowcount == 1
    if done:
        _log(session, move, case_id, actor, seen["state"], target or seen["state"],
             detail=assign_to if move == "assign" else (reason + (": " if reason and note else "") + note.strip()),
             now=now)
    return done


def _log(session: Session, move: str, case_id: int, actor: str, before: str, after: str, *, detail: str,
         now: datetime) -> None:
    # English in the store, like every audit entry: the trail is read by people of either language later.
    text = f"{before} -> {after}" + (f"; {detail}" if detail else "")
    audit.add_event(session, f"case_{move}", f"case:{case_id}", actor=actor, ok=True, detail=text, now=now)


def on_open(session: Session, case_id: int, analyst: str, now: datetime | None = None) -> bool:
    """An analyst opened (claimed) the case: an open case goes in review, assigned to them unless
    someone has it. True when it moved. The claim written just before holds SQLite's write lock."""
    now = now or utcnow()
    moved = _insert_new(session, [{"case_id": case_id, "state": "in_review", "assignee": analyst, "updated_at": now,
                                   "updated_by": analyst, "revision": 1, "closing_reason": "", "closing_note": "",
                                   "escalation_note": "", "escalated_by": ""}]) == [case_id]
    if not moved:
        moved = session.execute(
            update(CaseState).where(CaseState.case_id == case_id, CaseState.state == "open")
            .values(state="in_review", assignee=func.coalesce(CaseState.assignee, literal(analyst)),
                    updated_at=now, updated_by=analyst, revision=CaseState.revision + 1)
            .execution_options(synchronize_session=False)).rowcount == 1
    if moved:
        _log(session, "start", case_id, analyst, "open", "in_review", detail="opened on Review", now=now)
    return moved


def on_verdict(session: Session, case_ids: Sequence[int], label: str, analyst: str,
               now: datetime | None = None) -> list[int]:
    """A verdict was recorded: each open or in-review case closes with reason "verdict: <label>"
    (an unsure verdict closes nothing; escalated and closed cases stay as they are). The ids closed."""
    reason = VERDICT_REASONS.get(label)
    if reason is None or not case_ids:
        return []
    now = now or utcnow()
    ids = sorted({int(c) for c in case_ids})
    common = {"state": "closed", "closing_reason": reason, "closing_note": "", "updated_at": now,
              "updated_by": analyst}
    had = dict(session.execute(select(CaseState.case_id, CaseState.state).where(CaseState.case_id.in_(ids))).all())
    closed = set(session.scalars(
        update(CaseState).where(CaseState.case_id.in_(ids), CaseState.state.in_(("open", "in_review")))
        .values(revision=CaseState.revision + 1, **common).returning(CaseState.case_id)
        .execution_options(synchronize_session=False)))
    rows = [{"case_id": c, "assignee": analyst, "escalation_note": "", "escalated_by": "", "revision": 1, **common}
            for c in ids if c not in had]
    closed |= set(_insert_new(session, rows))
    for cid in sorted(closed):
        _log(session, "close", cid, analyst, had.get(cid, "open"), "closed", detail=reason, now=now)
    return sorted(closed)


def state_where(state: str | None, assignee: str | None) -> ColumnElement[bool] | None:
    """A filter on Case for the queue: cases in ``state`` and/or assigned to ``assignee``."""
    if state is not None and state not in CASE_STATES:
        raise InputError(_("State must be one of {states}.").format(states=", ".join(CASE_STATES)))
    conds: list[ColumnElement[bool]] = []
    # IN (the few rows of case_states) rather than a correlated EXISTS: the database reads the
    # subquery once and looks the cases up by key instead of probing it for every case of a batch.
    if state == "open":  # includes the cases without a row: only the other states are stored apart
        conds.append(Case.id.not_in(select(CaseState.case_id).where(CaseState.state != "open")))
    elif state is not None:
        conds.append(Case.id.in_(select(CaseState.case_id).where(CaseState.state == state)))
    if assignee is not None:
        conds.append(Case.id.in_(select(CaseState.case_id).where(CaseState.assignee == assignee)))
    return and_(*conds) if conds else None
