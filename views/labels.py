"""Labels: every verdict, the current label per case, analyst agreement (views/agreement_panel.py)
and the export.

The export is built when its button is clicked, for the user signed in on this page (checked
again then, see rsad.review.export.labels_bytes): nothing is put at a /media URL before that.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rsad.config import accepted_reasons
from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import labels as label_service
from rsad.service import review as triage
from views.agreement_panel import agreement_section
from views.common import current_user, get_store, show_error
from views.label_issues_panel import label_issues_section

store = get_store()
st.title(_("Labels"))

try:
    batch_list = triage.batches(store)
    people = label_service.analysts(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
names = {b["id"]: b["name"] for b in batch_list}
# Verdict labels are stored codes; only their display is translated.
VERDICTS = {"anomaly": N_("anomaly"), "normal": N_("normal"), "unsure": N_("unsure")}


def verdict_name(code: str) -> str:
    return _(VERDICTS[code]) if code in VERDICTS else code


c1, c2, c3, c4 = st.columns(4)
who = c1.multiselect(_("Analyst"), people, key="l_analyst")
which = c2.multiselect(_("Batch"), list(names), format_func=names.get, key="l_batch")
labels = c3.multiselect(_("Verdict"), list(VERDICTS), key="l_label", format_func=verdict_name)
reasons = c4.multiselect(_("Reason"), list(accepted_reasons(store.reason_codes)), key="l_reason")
dates = st.date_input(_("Date range"), value=(), key="l_dates", help=_("Leave empty for all dates"))
since, until = (dates[0], dates[-1]) if isinstance(dates, tuple) and dates else (None, None)

verdicts = label_service.verdict_table(store, analysts=who, batch_ids=which, labels=labels, reasons=reasons,
                                since=since, until=until)
st.subheader(_("Verdicts ({n:,})").format(n=len(verdicts)))
if verdicts.empty:
    st.info(_("No verdicts match. Record some on the Review page."))
else:
    st.dataframe(verdicts.drop(columns=["id", "case_pk"]), key="verdicts_table", hide_index=True, column_config={
        "created_at": st.column_config.DatetimeColumn(_("when"), format="YYYY-MM-DD HH:mm"),
        "analyst": _("analyst"), "label": _("verdict"), "reason_code": _("reason"), "note": _("note"),
        "case_id": _("case"), "batch": _("batch"), "threshold": _("threshold")})

agreement_section(store)

label_issues_section(store)

st.subheader(_("Current labels"))
current = label_service.current_label_table(store)
if current.empty:
    st.info(_("No labeled cases yet."))
    st.stop()
counts = current.groupby(["label_source", "is_anomaly"]).size().rename("cases").reset_index()
counts["is_anomaly"] = counts["is_anomaly"].map({1: verdict_name("anomaly"), 0: verdict_name("normal")})
# "verdict": an analyst's; "seed": the label the upload gave (the codes stay in the export).
SOURCES = {"verdict": N_("verdict"), "seed": N_("upload")}
counts["label_source"] = counts["label_source"].map(lambda code: _(SOURCES[code]) if code in SOURCES else code)
st.dataframe(counts, key="label_counts", hide_index=True, column_config={
    "label_source": _("label source"), "is_anomaly": _("label"), "cases": _("cases")})
st.caption(_("The latest verdict on a case wins over its label on upload; 'unsure' and 'insufficient evidence' "
             "give no label. The export is in the batch schema, ready for `rsad train --data`."))


def export(fmt: str) -> Callable[[], bytes]:
    """Deferred data: Streamlit runs it on click (not in this script run) and serves only its result."""
    user = current_user()  # captured now: the download thread has no session to ask
    return lambda: label_service.labels_bytes(store, fmt, user=user)


c1, c2 = st.columns(2)
c1.download_button(_("Download CSV"), export("csv"), "rsad-labels.csv", "text/csv", key="export_csv",
                   icon=":material/download:", on_click="ignore")
c2.download_button(_("Download Parquet"), export("parquet"), "rsad-labels.parquet", "application/octet-stream",
                   key="export_parquet", icon=":material/download:", on_click="ignore")
