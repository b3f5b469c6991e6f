"""The Labels page's "Label issues" section: what the label audit found, how the second looks
went, the admin's button that runs a new audit (in a background thread: embedding the labeled
cases takes a while on a CPU) and the way to the Second look page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import audit
from rsad.service.policies import Action
from views.common import current_user, md, reason_denied, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store

JOB = "_label_audit_job"  # this tab's running (or last) audit
SEEN = "_label_audit_seen"  # the job whose end this tab has already redrawn the page for
POLL_S = 2.0


def _counts_table(s: audit.AuditSummary) -> None:
    rows = [{"audit": _("latest (#{run})").format(run=s.latest_run), **s.latest},
            {"audit": _("all audits (each case once)"), **s.overall}]
    st.dataframe(pd.DataFrame(rows), key="label_issue_counts", hide_index=True, column_config={
        "audit": _("audit"), "found": _("found"), "open": _("open"), "confirmed": _("confirmed"),
        "corrected": _("corrected"), "unsure": _("unsure")})
    st.caption(_("Audit #{run} ran {when:%Y-%m-%d %H:%M} UTC (by {who}). Confirmed: the second look kept the "
                 "label; corrected: it changed it, and the new verdict is now the training label.").format(
                     run=s.latest_run, when=s.latest_at, who=md(s.latest_by)))


def _start(store: Store) -> None:
    try:
        st.session_state[JOB] = audit.start_audit(store, user=current_user())
    except RsadError as exc:
        st.toast(md(str(exc)), icon=":material/error:")


def _watch() -> None:
    job = st.session_state.get(JOB)
    if job is None:
        return
    state = job.snapshot()
    if state.status == "failed":
        show_error(_("The audit stopped: {error}").format(error=state.error))
    elif state.status == "done":
        r = state.result
        st.caption(":material/check_circle: " + _("Audit #{run}: {labeled:,} labeled cases, {stored:,} sent to the "
                                                  "second look ({seconds:.0f} s).").format(
            run=r.run, labeled=r.labeled, stored=r.stored, seconds=r.seconds))
        if st.session_state.get(SEEN) is not job:
            st.session_state[SEEN] = job
            st.rerun(scope="app")  # the counts above were drawn before it ended
    else:
        st.progress(state.fraction, text=_("Auditing the labels: {step}").format(
            step=state.message or _("reading the labels")))


def label_issues_section(store: Store) -> None:
    """The section; everyone signed in sees it, admins may run an audit."""
    st.subheader(_("Label issues"))
    try:
        summary = audit.summary(store)
    except RsadError as exc:
        show_error(exc)
        return
    if summary.latest_run is None:
        st.caption(_("No audit yet. An audit has models that never saw a label judge it (cross-validation) and "
                     "sends the labels they contradict most to a second look."))
    else:
        _counts_table(summary)
    job = st.session_state.get(JOB)
    live = job is not None and job.snapshot().status in ("queued", "running")
    denied = reason_denied(Action.RUN_AUDIT)
    c1, c2 = st.columns(2)
    c1.button(_("Run the label audit"), key="run_label_audit", icon=":material/find_replace:",
              disabled=denied is not None or live, help=denied, on_click=_start, args=(store,))
    with c2:
        st.page_link(page="views/second_look.py", label=_("Second look ({n:,} open)").format(
            n=summary.overall["open"]), icon=":material/find_replace:")
    st.fragment(run_every=POLL_S if live else None)(_watch)()
