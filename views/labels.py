"""Labels: every verdict, the current label per case, analyst agreement and the export.

The export is built when its button is clicked, for the user signed in on this page (checked
again then, see rsad.review.export.labels_bytes): nothing is put at a /media URL before that.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rsad.errors import RsadError
from rsad.service import labels as label_service
from rsad.service import review as triage
from views.common import current_user, get_store, show_error

store = get_store()
st.title("Labels")

try:
    batch_list = triage.batches(store)
    people = label_service.analysts(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
names = {b["id"]: b["name"] for b in batch_list}

c1, c2, c3, c4 = st.columns(4)
who = c1.multiselect("Analyst", people, key="l_analyst")
which = c2.multiselect("Batch", list(names), format_func=names.get, key="l_batch")
labels = c3.multiselect("Verdict", ["anomaly", "normal", "unsure"], key="l_label")
reasons = c4.multiselect("Reason", list(store.reason_codes), key="l_reason")
dates = st.date_input("Date range", value=(), key="l_dates", help="Leave empty for all dates")
since, until = (dates[0], dates[-1]) if isinstance(dates, tuple) and dates else (None, None)

verdicts = label_service.verdict_table(store, analysts=who, batch_ids=which, labels=labels, reasons=reasons,
                                since=since, until=until)
st.subheader(f"Verdicts ({len(verdicts):,})")
if verdicts.empty:
    st.info("No verdicts match. Record some on the Review page.")
else:
    st.dataframe(verdicts.drop(columns=["id", "case_pk"]), key="verdicts_table", hide_index=True,
                 column_config={"created_at": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm")})

st.subheader("Agreement between analysts")
kappa = label_service.agreement(store)
if kappa.empty:
    st.caption("Cohen's kappa appears once two analysts have both judged at least two of the same cases.")
else:
    st.dataframe(kappa, key="agreement_table", hide_index=True,
                 column_config={"kappa": st.column_config.NumberColumn("Cohen's kappa", format="%.3f"),
                                "agreement": st.column_config.NumberColumn("raw agreement", format="%.1%")})

st.subheader("Current labels")
current = label_service.current_label_table(store)
if current.empty:
    st.info("No labeled cases yet.")
    st.stop()
counts = current.groupby(["label_source", "is_anomaly"]).size().rename("cases").reset_index()
counts["is_anomaly"] = counts["is_anomaly"].map({1: "anomaly", 0: "normal"})
st.dataframe(counts, key="label_counts", hide_index=True)
st.caption("The latest verdict on a case wins over its label on upload; 'unsure' and 'insufficient evidence' "
           "give no label. The export is in the batch schema, ready for `rsad train --data`.")


def export(fmt: str) -> Callable[[], bytes]:
    """Deferred data: Streamlit runs it on click (not in this script run) and serves only its result."""
    user = current_user()  # captured now: the download thread has no session to ask
    return lambda: label_service.labels_bytes(store, fmt, user=user)


c1, c2 = st.columns(2)
c1.download_button("Download CSV", export("csv"), "rsad-labels.csv", "text/csv", key="export_csv",
                   icon=":material/download:", on_click="ignore")
c2.download_button("Download Parquet", export("parquet"), "rsad-labels.parquet", "application/octet-stream",
                   key="export_parquet", icon=":material/download:", on_click="ignore")
