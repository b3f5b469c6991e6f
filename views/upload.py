"""Upload & score: read a batch file, map its columns, validate, store and score it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from rsad.errors import RsadError
from rsad.i18n import N_, _, pgettext
from rsad.progress import Rate
from rsad.service import batches
from rsad.service.batches import ColumnMap
from views.common import active_classifier, analyst, get_store, md, show_error
from views.drift_panel import batch_warning
from views.first_model import LAST_UPLOAD as FIRST_UPLOAD
from views.first_model import first_model_panel
from views.upload_mapping import anomaly_values, ingest_summary

if TYPE_CHECKING:
    from rsad.service.batches import BackgroundJob

NONE = N_("(none)")  # an option of the column boxes, never a column name; shown as _(NONE)
POLL_S = 2.0  # how often the attribution count refreshes while the background job runs
store = get_store()


def attribution_status(job: BackgroundJob, planned: int) -> None:
    """The background attribution job's count, redrawn on its own while the job runs.

    Without the poll the caption keeps the count of the run that drew it. ``planned`` (the
    flagged count, capped at RSAD_EXPLAIN_TOP) stands in until the job has listed its cases.
    """
    live = job.snapshot().status in ("queued", "running")

    def show() -> None:
        state = job.snapshot()
        if live and state.status not in ("queued", "running"):
            st.rerun(scope="app")  # the one rerun that stops the polling
        total = state.total or planned
        if state.status == "failed":
            st.caption(_("Precomputing attributions stopped: {error}").format(error=md(state.error)))
        elif state.status == "done":
            st.caption(_("Attributions ready for the top {n} flagged cases.").format(n=state.result["cases"]))
        else:
            st.caption(_("Computing attributions for the top {total} flagged cases in the background: "
                         "{done} of {total} done.").format(total=total, done=state.done))

    st.fragment(run_every=POLL_S if live else None, key="upload_attributions")(show)()


def vocabulary_warning(info: dict[str, Any]) -> None:
    """The warning for a stored batch whose tokens the scoring model mostly does not know."""
    if text := info.get("vocabulary_warning"):
        st.warning(text, icon=":material/translate:")


def preview(uploaded: UploadedFile, table: pd.DataFrame, events: bool) -> None:
    """The file's first rows, and a warning when the very same file was uploaded before."""
    said = (_("{file}: {rows:,} rows, {columns} columns (one behavior description per user)") if events
            else _("{file}: {rows:,} rows, {columns} columns"))
    st.caption(said.format(file=md(uploaded.name), rows=len(table), columns=len(table.columns)))
    st.dataframe(table.head(10), key="upload_preview", hide_index=True)
    just_stored = (st.session_state.get("last_ingest") or {}).get("name")  # by this tab's Score: no news
    if (earlier := batches.same_file_batch(store, uploaded.getvalue())) not in (None, just_stored):
        st.warning(_("This exact file was already uploaded as batch {batch}. Scoring it again makes a "
                     "second batch.").format(batch=md(repr(earlier))))


def _none_or(column: str) -> str:
    return _(NONE) if column == NONE else column  # the file's column names are its own


def column_map(table: pd.DataFrame, file_name: str, events: bool) -> tuple[ColumnMap, str]:
    """Which columns hold the text, the label and the id, and the batch's name."""
    columns = list(table.columns)
    # rsad's names, else one common name (text, message, label, ...); no guess among several.
    guess = batches.guess_columns(columns)
    c1, c2, c3 = st.columns(3)
    text_col = c1.selectbox(_("Text column"), columns, key="map_text", placeholder=_("Choose the text column"),
                            index=columns.index(guess["text"]) if guess["text"] else None)
    label_col = c2.selectbox(_("Label column"), [NONE, *columns], key="map_label", format_func=_none_or,
                             index=columns.index(guess["label"]) + 1 if guess["label"] else 0)
    id_col = c3.selectbox(_("Id column"), [NONE, *columns], key="map_id", format_func=_none_or,
                          index=columns.index(guess["id"]) + 1 if guess["id"] else 0)
    anomaly = () if events or label_col == NONE else anomaly_values(table, label_col)
    name = st.text_input(_("Batch name"), value=Path(file_name).stem, key="batch_name")
    # Described event logs always come out in the standard columns.
    mapping = ColumnMap() if events else ColumnMap(
        text=text_col or ColumnMap().text, label=None if label_col == NONE else label_col,
        id=None if id_col == NONE else id_col, anomaly_values=anomaly)
    return mapping, name


def score(uploaded: UploadedFile, mapping: ColumnMap, name: str, events: bool) -> None:
    """Store the file as a batch, score it with the active model, and start its attributions."""
    try:
        info = batches.ingest_file(store, uploaded.getvalue(), file_name=uploaded.name, name=name,
                               uploader=analyst(), columns=mapping, events=events)
        st.session_state["last_ingest"] = info
        ingest_summary(info)
        # Shown while the batch scores; the scoring check's warning below replaces it after.
        ingest_warning = st.empty()
        with ingest_warning:
            vocabulary_warning(info)
        clf = active_classifier()
        if clf is None:
            first_model_panel(store, info)
            st.stop()
        st.session_state.pop(FIRST_UPLOAD, None)
        bar = st.progress(0.0, text=_("Scoring…"))
        rate = Rate()

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(done / total if total else 1.0,
                         text=_("Scoring: {progress}").format(progress=rate.describe(done, total)))

        result = batches.score_batch(store, info["id"], classifier=clf, progress=progress)
        bar.progress(1.0, text=_("Scored {n:,} cases.").format(n=result["rows"]))
        if result["check"] is not None:  # else no scoring warning could replace it
            ingest_warning.empty()
        st.session_state["last_scored"] = {k: result[k] for k in ("batch", "batch_id", "model", "threshold",
                                                                  "rows", "flagged")} | {
            "scores": result["scores"].tolist()}
        # The cases an analyst opens first get their attributions while they read this page.
        st.session_state.pop("precompute_job", None)
        if store.settings.explain_top and result["flagged"]:
            st.session_state["precompute_job"] = batches.start_precompute(
                store, result["batch_id"], clf, store.settings.explain_top)
    except RsadError as exc:
        show_error(exc)
        st.stop()


def scored_summary(last: dict[str, Any]) -> None:
    """The last batch scored in this session: counts, the score histogram, its attributions, a link."""
    st.subheader(_("Batch {batch}").format(batch=md(last["batch"])))
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Rows"), f"{last['rows']:,}")
    c2.metric(_("Flagged"), f"{last['flagged']:,}", help=_("score ≥ {threshold:.3f} ({model})").format(
        threshold=last["threshold"], model=last["model"]))
    c3.metric(_("Flagged rate"), f"{last['flagged'] / max(1, last['rows']):.1%}")
    batch_warning(last["batch_id"])
    fig = go.Figure(go.Histogram(x=last["scores"], nbinsx=40, marker_color="#4c78a8", name=_("cases")))
    fig.add_vline(x=last["threshold"], line_color="#d62728", line_dash="dash",
                  annotation_text=_("threshold {threshold:.3f}").format(threshold=last["threshold"]))
    fig.update_layout(xaxis_title=_("P(anomaly)"), yaxis_title=_("cases"), height=300, margin=dict(t=30, b=40),
                      xaxis_range=[0, 1])
    st.plotly_chart(fig, key="score_histogram")
    if (job := st.session_state.get("precompute_job")) is not None:
        attribution_status(job, batches.planned_cases(last["flagged"], store.settings.explain_top))
    st.page_link(page="views/review.py", label=_("Review batch {batch}").format(batch=md(last["batch"])),
                 icon=":material/fact_check:",
                 query_params={"batch": str(last["batch_id"])})


st.title(_("Upload & score"))
# No type= filter: rsad checks the type itself and says how to fix a wrong one (e.g. Excel to CSV UTF-8).
uploaded = st.file_uploader(_("Batch file"), key="upload_file",
                            help=_("UTF-8 CSV/TSV, JSON Lines or Parquet; one row per behavior record."))
events = st.toggle(_("This is an event log (one row per event: user_id, timestamp, action, …)"),
                   key="upload_events")
if uploaded is None:
    st.info(_("Choose a file to see a preview. Columns: `behavior_description` (text), optional "
              "`is_anomaly` (label) and `case_id`; every other column is kept as metadata."))
    st.stop()
try:
    table = batches.preview_table(uploaded.getvalue(), uploaded.name, events=events, settings=store.settings)
except RsadError as exc:
    show_error(exc)
    st.stop()
preview(uploaded, table, events)
mapping, name = column_map(table, uploaded.name, events)
if st.button(pgettext("button", "Score"), type="primary", key="score_button", icon=":material/bolt:"):
    score(uploaded, mapping, name, events)
else:  # a later run (a click in a panel, the job panel's refresh): show what the upload left
    if (stored := st.session_state.get("last_ingest")) and stored.get("skipped"):
        ingest_summary(stored)
    if stored and stored["id"] != (st.session_state.get("last_scored") or {}).get("batch_id"):
        vocabulary_warning(stored)  # not scored yet (first model); once scored, the scoring check warns
    if (first := st.session_state.get(FIRST_UPLOAD)) is not None:
        first_model_panel(store, first)
if last := st.session_state.get("last_scored"):
    scored_summary(last)
