"""Review: the queue (filtered and paged in SQL), the case view, attributions and verdicts."""

import pandas as pd
import streamlit as st

from views.common import analyst, classifier_loader, get_store, md, show_error
from views.explain_panel import attribution_panel
from views.shortcuts import add_shortcuts
from rsad import precompute, triage
from rsad.errors import RsadError
from rsad.queue import SORTS, STATUSES, QueueFilter

PAGE_SIZE = 50
ALL = "(all)"
store = get_store()
reasons = list(store.settings.reason_codes)
me = analyst()  # the signed-in user: verdicts and claims carry this name


@st.cache_data(ttl=120, show_spinner=False)
def metadata_values(store_at: str, batch_id: int | None, key: str) -> list[str]:
    # One scan of the batch per column; batches are immutable, two minutes of staleness is fine.
    # store_at keys the cache by store, so two stores never share values.
    return triage.metadata_values(store, batch_id, key)


@st.cache_data(ttl=120, show_spinner=False)
def metadata_keys(store_at: str, batch_id: int | None, n_batches: int) -> list[str]:
    # Read on every rerun otherwise; a new batch (n_batches) may bring new columns.
    return triage.metadata_keys(store, batch_id)


st.title("Review queue")
try:
    batch_list = triage.batches(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
if not batch_list:
    st.info("No batches yet: upload one on the Upload page.")
    st.stop()

# A link from the Upload page opens the queue on that batch.
if "batch" in st.query_params and "f_batch" not in st.session_state:
    wanted = st.query_params["batch"]
    st.session_state["f_batch"] = next((b["id"] for b in batch_list if str(b["id"]) == wanted), None)

batch_ids = [None] + [b["id"] for b in batch_list]
names = {b["id"]: f"{b['name']} ({b['rows']:,})" for b in batch_list}

with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    batch_id = c1.selectbox("Batch", batch_ids, key="f_batch", format_func=lambda b: names.get(b, ALL))
    score_range = c2.slider("Score range", 0.0, 1.0, (0.0, 1.0), step=0.01, key="f_score")
    status = c3.selectbox("Status", STATUSES, key="f_status")
    verdict = c4.selectbox("Latest verdict", [ALL, "anomaly", "normal", "unsure"], key="f_verdict")
    c1, c2, c3, c4 = st.columns([1, 1, 2, 1])
    meta_key = c1.selectbox("Metadata column", [ALL, *metadata_keys(store.location, batch_id, len(batch_list))],
                            key="f_meta_key")
    values = [] if meta_key == ALL else metadata_values(store.location, batch_id, meta_key)
    meta_value = c2.selectbox("equals", [ALL, *values], key="f_meta_value", disabled=meta_key == ALL)
    text_contains = c3.text_input("Text contains", key="f_text")
    sort = c4.selectbox("Sort", list(SORTS), format_func=SORTS.get, key="f_sort")

f = QueueFilter(batch_id=batch_id, score_min=score_range[0], score_max=score_range[1], status=status,
                verdict=None if verdict == ALL else verdict,
                meta_key=None if meta_key == ALL else meta_key,
                meta_value=None if meta_value == ALL else meta_value, text_contains=text_contains, sort=sort,
                viewer=me)

# A new filter starts the queue from the top.
if st.session_state.get("_last_filter") != f:
    st.session_state["_last_filter"] = f
    st.session_state["case_pos"] = 0
    st.session_state["queue_page"] = 1


def _step(name: str, by: int, lowest: int, highest: int) -> None:
    """Button callback: move the queue page or the open case by ``by``, within the bounds.

    It reads the position when the press arrives: a second press before the page is redrawn
    moves again instead of repeating the first move.
    """
    st.session_state[name] = min(max(st.session_state.get(name, lowest) + by, lowest), highest)


@st.fragment
def queue_and_case(f: QueueFilter) -> None:
    """The queue table and the open case, rerun on their own.

    A verdict, Previous/Next, a page button or a table click reruns only this fragment: the
    filters above are neither rerun nor redrawn. With one chart key per panel (explain_panel.py)
    it took verdict -> next case in Chromium at 100,000 cases from 0.31-0.37 s to 0.22-0.24 s
    (bench/review_browser.py). The sidebar and the filters refresh on the next full run (any
    filter change, or another page).
    """
    # A fragment run skips app.py's sign-in check: a user removed or signed out meanwhile
    # must not record a verdict here. The whole app reruns and shows the sign-in screen.
    if analyst() != me:
        st.rerun()
    pos = st.session_state.setdefault("case_pos", 0)

    try:
        page_no = st.session_state.setdefault("queue_page", 1)
        page = triage.queue(store, f, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    total, threshold = page["total"], page["threshold"]
    n_pages = max(1, -(-total // PAGE_SIZE))
    st.caption(f"{total:,} cases match · model {md(page['model'])} · threshold {threshold:.3f} · "
               f"page {page_no} of {n_pages}")
    if page["held"]:
        st.caption("Open with other analysts, so not in your queue: " + ", ".join(
            f"{h['cases']} with {h['analyst']} (until {h['until']:%H:%M} UTC)" for h in page["held"]))

    if total == 0:
        st.info("No cases match these filters. Widen the score range, set status to 'all', or score the batch.")
        st.stop()

    rows = pd.DataFrame(page["rows"])
    rows["flagged"] = rows["score"] >= threshold
    rows[["verdict", "analyst"]] = rows[["verdict", "analyst"]].fillna("")
    table = st.dataframe(
        rows[["external_id", "batch", "score", "flagged", "verdict", "analyst", "preview"]],
        key="queue_table", hide_index=True, on_select="rerun", selection_mode="multi-row", height=280,
        column_config={
            "external_id": "case", "score": st.column_config.ProgressColumn("score", min_value=0, max_value=1,
                                                                           format="%.3f"),
            "preview": st.column_config.TextColumn("text", width="large"),
        },
    )
    selected = [int(rows.iloc[i]["id"]) for i in table.selection.rows]
    nav = st.columns([1, 1, 6])
    # Callbacks, not st.rerun(): the move happens before the next run, so the page runs once.
    nav[0].button("Previous page", key="page_prev", disabled=page_no <= 1, on_click=_step,
                  args=("queue_page", -1, 1, n_pages))
    nav[1].button("Next page", key="page_next", disabled=page_no >= n_pages, on_click=_step,
                  args=("queue_page", 1, 1, n_pages))

    if len(selected) > 1:
        with st.form("bulk_form", border=True):
            st.markdown(f"**Bulk verdict for {len(selected)} selected cases**")
            c1, c2, c3 = st.columns([1, 2, 3])
            bulk_label = c1.radio("Verdict", ["anomaly", "normal", "unsure"], key="bulk_label", horizontal=False)
            bulk_reason = c2.selectbox("Reason", reasons, key="bulk_reason")
            bulk_note = c3.text_area("Note", key="bulk_note", height=80)
            if st.form_submit_button(f"Apply to {len(selected)} cases", type="primary", key="bulk_submit"):
                try:
                    n = triage.record_verdicts(store, selected, bulk_label, analyst=me,
                                               reason_code=bulk_reason, note=bulk_note)
                    st.toast(f"Recorded {n} verdicts: {bulk_label}.")
                    st.rerun()
                except RsadError as exc:
                    show_error(exc)
    elif len(selected) == 1:
        # Opening a row from the table moves the case view to it.
        clicked = (page_no - 1) * PAGE_SIZE + table.selection.rows[0]
        if st.session_state.get("_opened_row") != clicked:
            st.session_state["_opened_row"] = clicked
            st.session_state["case_pos"] = pos = clicked

    pos = min(pos, total - 1)
    case_id = triage.queue_case_at(store, f, pos, page)  # on the shown page: no second query
    if case_id is None:
        st.info("End of the queue.")
        st.stop()
    try:
        case = triage.case_view(store, case_id)
        # Opening a case claims it for a few minutes (each rerun renews it); the queue of every
        # other analyst skips it meanwhile, and recording the verdict releases it.
        claim = triage.claim_case(store, case_id, me)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    taken = not claim["mine"]

    st.divider()
    head = st.columns([4, 1, 1])
    head[0].subheader(f"Case {md(case['external_id'])}  ·  {pos + 1} of {total:,}")
    head[1].button("Previous", key="prev_case", icon=":material/arrow_back:", disabled=pos == 0,
                   help="Keyboard: k or ←", on_click=_step, args=("case_pos", -1, 0, total - 1))
    head[2].button("Next", key="next_case", icon=":material/arrow_forward:", disabled=pos >= total - 1,
                   help="Keyboard: j or →", on_click=_step, args=("case_pos", 1, 0, total - 1))

    if taken:
        st.warning(f"{md(claim['analyst'])} has this case open until {claim['expires_at']:%H:%M} UTC: your queue "
                   "skips it from now on. Press Next for another case.", icon=":material/lock_person:")
    else:
        st.caption(f"Open with you until {claim['expires_at']:%H:%M} UTC; others' queues skip it meanwhile.")

    left, right = st.columns([3, 2])
    with left:
        st.text(case["text"])  # st.text never interprets markdown or HTML
        m = st.columns(3)
        m[0].metric("Score", f"{case['score']:.3f}" if case["score"] is not None else "not scored",
                    help=None if case["probability"] is None else
                    f"Calibrated probability of an anomaly: {case['probability']:.1%}")
        m[1].metric("Threshold", f"{case['threshold']:.3f}" if case["threshold"] is not None else "–")
        m[2].metric("Model", case["model"] or "–")
        with st.expander("Metadata", expanded=False):
            st.dataframe(pd.DataFrame({"field": list(case["meta"]), "value": [str(v) for v in case["meta"].values()]}),
                         hide_index=True, key="case_meta")
            if case["given_label"] is not None:
                st.caption(f"Label on upload: {'anomaly' if case['given_label'] else 'normal'}")

    def submit_verdict(label: str) -> None:
        """Form callback: runs before the next script run, so the page renders once, on the next case."""
        if analyst() != me:  # signed out or removed since the form was drawn: the run shows sign-in
            return
        reason = st.session_state.get("verdict_reason", "")
        try:
            triage.record_verdicts(store, [case_id], label, analyst=me, reason_code=reason,
                                   note=st.session_state.get("verdict_note", ""))
        except RsadError as exc:
            st.session_state["_verdict_error"] = str(exc)
            return
        st.session_state["_verdict_toast"] = f"{md(case['external_id'])}: {label} ({md(reason)})."
        # An unreviewed-only queue drops the case, so the same position is already the next case.
        if f.status != "unreviewed":
            st.session_state["case_pos"] = min(pos + 1, total - 1)


    with right:
        if message := st.session_state.pop("_verdict_error", None):
            show_error(message)
        if message := st.session_state.pop("_verdict_toast", None):
            st.toast(message)
        with st.form("verdict_form", clear_on_submit=True):
            st.markdown("**Verdict**  ·  keys: `a` anomaly, `n` normal, `u` unsure")
            st.selectbox("Reason", reasons, key="verdict_reason")
            st.text_area("Note", key="verdict_note", height=80)
            b = st.columns(3)
            b[0].form_submit_button("Anomaly", key="verdict_anomaly", type="primary", on_click=submit_verdict,
                                    args=("anomaly",), disabled=taken)
            b[1].form_submit_button("Normal", key="verdict_normal", on_click=submit_verdict, args=("normal",),
                                    disabled=taken)
            b[2].form_submit_button("Unsure", key="verdict_unsure", on_click=submit_verdict, args=("unsure",),
                                    disabled=taken)
        if case["verdicts"]:
            st.markdown("**Earlier verdicts**")
            st.dataframe(pd.DataFrame(case["verdicts"])[["created_at", "analyst", "label", "reason_code", "note"]],
                         hide_index=True, key="case_history",
                         column_config={"created_at": st.column_config.DatetimeColumn(
                             "when", format="YYYY-MM-DD HH:mm")})

    st.toggle("Show attributions only after my verdict", key="attr_after_verdict",
              help="Highlights seen first can bias a verdict.")
    mine = any(v["analyst"] == me for v in case["verdicts"])
    if st.session_state.get("attr_after_verdict") and not mine:
        st.info("Attributions appear once you have recorded your verdict on this case.")
    else:
        attribution_panel(store, case_id)

    # While the analyst reads this case, the next ones get their attributions (one job at a time
    # per session; the model loads in that job, not in a page run).
    n_ahead = store.settings.explain_ahead
    ahead = ([r["id"] for r in page["rows"][pos - page["offset"] + 1:][:n_ahead]]
             if n_ahead and page["offset"] <= pos else [])
    job = st.session_state.get("_explain_ahead")
    if ahead and (job is None or job.snapshot().status not in ("queued", "running")):
        st.session_state["_explain_ahead"] = precompute.start_explain_ahead(store, ahead, classifier_loader())


queue_and_case(f)
add_shortcuts({"a": "verdict_anomaly", "n": "verdict_normal", "u": "verdict_unsure",
               "j": "next_case", "arrowright": "next_case", "k": "prev_case", "arrowleft": "prev_case"})
