"""Second look: the labels the audit doubts most, a few at a time. Each card shows the case, the
label that was flagged, what the cross-validated models say and why; a click records an ordinary
verdict with the reason "second look" (so a correction becomes the training label by the usual
rule) and the next open case moves up. Seed-labeled cases are often unscored by the active model,
so this page reads the audit's own list, not the Review page's queue."""

from __future__ import annotations

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import N_, _, ngettext
from rsad.service import audit
from views.common import analyst, get_store, md, show_error

SHOWN = 5  # cases on the page at once
LABELS = (("anomaly", N_("Anomaly"), ":material/report:"), ("normal", N_("Normal"), ":material/check:"),
          ("unsure", N_("Unsure"), ":material/help:"))
SOURCES = {"seed": N_("label on upload"), "verdict": N_("label by verdict")}
store = get_store()


def case_card(case: audit.SecondLookCase) -> None:
    """One doubted label: the text, the label, the audit's suggestion and its reason, three buttons."""
    flagged = _("anomaly") if case.given_label else _("normal")
    suggested = _("anomaly") if case.suggested_label else _("normal")
    with st.container(border=True):
        st.caption(_("{case} · batch {batch} · audit #{run}").format(
            case=md(case.external_id), batch=md(case.batch), run=case.run))
        st.text(case.text)
        st.markdown(_("Current label: **{label}** ({source}) · the audit suggests **{suggested}**").format(
            label=flagged, source=_(SOURCES.get(case.label_source, case.label_source)), suggested=suggested))
        st.caption(audit.reason_text(case))
        cols = st.columns(len(LABELS))
        for col, (label, text, icon) in zip(cols, LABELS):
            if col.button(_(text), key=f"second_{label}_{case.case_id}", icon=icon):
                try:
                    audit.record_second_look(store, case.case_id, label, analyst=analyst())
                except RsadError as exc:
                    show_error(exc)
                    return
                st.rerun()


def main() -> None:
    st.title(_("Second look"))
    try:
        cases, total = audit.second_look_queue(store, limit=SHOWN)
        summary = audit.summary(store)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if summary.latest_run is None:
        st.info(_("No label audit has run in this project yet: an admin runs it on the Labels page "
                  "(or `rsad audit`)."))
        st.page_link(page="views/labels.py", label=_("Go to Labels"), icon=":material/label:")
        st.stop()
    c = summary.overall
    st.caption(_("{open:,} open · {confirmed:,} confirmed · {corrected:,} corrected · {unsure:,} unsure, of "
                 "{found:,} labels the audits doubted.").format(**c))
    if not cases:
        st.success(_("Every doubted label has had its second look."), icon=":material/check_circle:")
        st.page_link(page="views/labels.py", label=_("Go to Labels"), icon=":material/label:")
        st.stop()
    st.caption(ngettext("The most doubtful of {n:,} open case:", "The most doubtful of {n:,} open cases:",
                        total).format(n=total))
    for case in cases:
        case_card(case)


main()
