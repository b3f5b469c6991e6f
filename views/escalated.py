"""Escalated: the project's escalated cases for an admin, longest waiting first, each with who
escalated it, when and why; the admin closes it with a reason, sends it back to review or
reassigns it (the controls of views/case_state_panel.py)."""

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _, ngettext
from rsad.service import cases
from rsad.service import review as triage
from rsad.service.policies import Action
from views.case_state_panel import MESSAGE, move_controls, summary_line
from views.common import current_user, get_store, reason_denied, show_error
from views.review_case import case_text

st.title(_("Escalated cases"))
denied = reason_denied(Action.MANAGE_CASES)
if denied:
    st.info(denied, icon=":material/lock:")
    st.stop()
store = get_store()
# An if statement, not a conditional expression: Streamlit's magic would write a top-level
# expression's value (the DeltaGenerator's help) onto the page.
if (said := st.session_state.pop(MESSAGE, None)) and said[1]:
    st.success(said[2])
elif said:
    show_error(said[2])
try:
    rows = cases.escalated_cases(store, user=current_user())
except RsadError as exc:
    show_error(exc)
    st.stop()
if not rows:
    st.success(_("No escalated cases in this project."), icon=":material/check_circle:")
    st.stop()
st.caption(ngettext("{n:,} case waits for an admin.", "{n:,} cases wait for an admin.", len(rows)).format(n=len(rows)))
table = pd.DataFrame(rows)[["external_id", "batch", "escalated_by", "escalated_at", "note", "assignee", "preview"]]
st.dataframe(table, key="escalated_table", hide_index=True, width="stretch", column_config={
    "external_id": _("case"), "batch": _("batch"), "escalated_by": _("escalated by"),
    "escalated_at": st.column_config.DatetimeColumn(_("escalated"), format="YYYY-MM-DD HH:mm"),
    "note": _("why"), "assignee": _("assigned to"), "preview": _("text")})
by_id = {r["case_id"]: r for r in rows}
chosen = st.selectbox(_("Case to resolve"), list(by_id), key="escalated_case",
                      format_func=lambda c: f"{by_id[c]['external_id']} · {by_id[c]['batch']}")
try:
    case = cases.status(store, chosen)
    view = triage.case_view(store, chosen)
except RsadError as exc:
    show_error(exc)
    st.stop()
st.markdown(summary_line(case))
case_text(view.text)
move_controls(store, case, f"escalated_{chosen}")
