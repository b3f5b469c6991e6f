"""The open case's lifecycle on Review: its state, assignee and age, and the moves the signed-in
user may make (assign, escalate with a note, close with a reason, send back to review, reopen).
The Escalated page (views/escalated.py) uses the same controls for an admin's decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import cases
from views.common import current_user, md, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store

ICONS = {"open": ":material/radio_button_unchecked:", "in_review": ":material/pending:",
         "escalated": ":material/priority_high:", "closed": ":material/check_circle:"}
MESSAGE = "_case_state_message"


def _do(store: Store, case_id: int, external_id: str, move: str, revision: int, prefix: str) -> None:
    """A move button's callback: make it, then say so (or why not) above the panel."""
    ss = st.session_state
    try:
        cases.change(store, case_id, move, user=current_user(), seen_revision=revision,
                     assign_to=ss.get(f"{prefix}_assign_to"), reason=ss.get(f"{prefix}_reason") or "",
                     note=ss.get(f"{prefix}_{move}_note", ""))
    except RsadError as exc:
        ss[MESSAGE] = (case_id, False, str(exc))
        return
    ss[MESSAGE] = (case_id, True, _("Case {case}: {done}.").format(case=md(external_id), done=_(cases.MOVE_DONE[move])))
    for key in (f"{prefix}_escalate_note", f"{prefix}_close_note"):
        ss.pop(key, None)


def summary_line(c: cases.CaseStatus) -> str:
    """State, assignee, age, and why it was escalated or closed, as one Markdown line."""
    parts = [f"{ICONS[c.state]} **{_(cases.STATE_NAMES[c.state])}**",
             _("assigned to {who}").format(who=md(c.assignee)) if c.assignee else _("unassigned")]
    if c.age_days is not None:
        parts.append(_("open {days:.1f} days").format(days=c.age_days))
    if c.state == "escalated":
        parts.append(_("escalated by {who}: {note}").format(who=md(c.escalated_by), note=md(c.escalation_note)))
    if c.state == "closed":
        parts.append(_("reason: {reason}").format(reason=_(cases.REASON_NAMES.get(c.closing_reason, c.closing_reason)))
                     + (f" ({md(c.closing_note)})" if c.closing_note else ""))
    return " · ".join(parts)


def _button(store: Store, c: cases.CaseStatus, move: str, label: str, denied: str | None, prefix: str) -> None:
    st.button(label, key=f"{prefix}_{move}", disabled=denied is not None, help=denied, on_click=_do,
              args=(store, c.case_id, c.external_id, move, c.revision, prefix))


def move_controls(store: Store, c: cases.CaseStatus, prefix: str) -> None:
    """The moves from the case's state, each disabled with the reason when the user may not make it."""
    user = current_user()
    moves = cases.allowed_moves(user, c)
    if "assign" in moves:
        admin = cases.may_reassign(user)
        names = cases.analysts(store) if admin else [user.name] if user else []
        cols = st.columns([3, 1], vertical_alignment="bottom")
        cols[0].selectbox(_("Assign to"), names, key=f"{prefix}_assign_to", index=None,
                          placeholder=_("choose a user"), disabled=moves["assign"] is not None)
        with cols[1]:
            _button(store, c, "assign", _("Assign"), moves["assign"], prefix)
    if "escalate" in moves:
        st.text_input(_("Why escalate (the admin reads it)"), key=f"{prefix}_escalate_note", max_chars=2_000)
        _button(store, c, "escalate", _("Escalate"), moves["escalate"], prefix)
    if "close" in moves:
        cols = st.columns(2)
        cols[0].selectbox(_("Closing reason"), list(cases.CLOSING_REASONS), key=f"{prefix}_reason", index=None,
                          format_func=lambda r: _(cases.CLOSING_REASONS[r]), placeholder=_("choose a reason"))
        cols[1].text_input(_("Closing note"), key=f"{prefix}_close_note", max_chars=2_000)
        _button(store, c, "close", _("Close the case"), moves["close"], prefix)
    for move, label in (("start", _("Start the review")), ("return", _("Send back to review")),
                        ("reopen", _("Reopen"))):
        if move in moves:
            _button(store, c, move, label, moves[move], prefix)


def apply_state_url(params: dict[str, str]) -> None:
    """Review's URL: ``state`` (a lifecycle state) and ``mine`` (assigned to me) seed the filters."""
    if params.get("state") in cases.CASE_STATES:
        st.session_state["f_case_state"] = params["state"]
    if params.get("mine") == "1":
        st.session_state["f_mine"] = True


def state_filters() -> tuple[str | None, bool]:
    """Review's lifecycle filters: a case state ((all) for none) and "assigned to me"."""
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    state = c1.selectbox(_("Case state"), [None, *cases.CASE_STATES], key="f_case_state",
                         format_func=lambda s: _("(all)") if s is None else _(cases.STATE_NAMES[s]))
    mine = c2.toggle(_("Assigned to me"), key="f_mine")
    return state, mine


def case_state_panel(store: Store, case_id: int) -> None:
    """The case's lifecycle line, its moves in an expander and its history."""
    try:
        c = cases.status(store, case_id)
    except RsadError as exc:
        show_error(exc)
        return
    said = st.session_state.pop(MESSAGE, None)
    if said and said[0] == case_id:
        st.success(said[2]) if said[1] else show_error(said[2])
    st.markdown(summary_line(c))
    with st.expander(_("Case state and history"), icon=":material/account_tree:"):
        move_controls(store, c, "case_state")
        if c.history:
            st.dataframe(pd.DataFrame(c.history)[["created_at", "action", "actor", "detail"]], hide_index=True,
                         key="case_state_history", column_config={
                             "created_at": st.column_config.DatetimeColumn(_("when"), format="YYYY-MM-DD HH:mm"),
                             "action": _("move"), "actor": _("by"), "detail": _("detail")})
