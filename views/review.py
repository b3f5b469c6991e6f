"""Review: the queue (filtered and paged in SQL), the case view, attributions and verdicts.

The URL keeps the batch, the filters, the queue page and the open case as query parameters:
a reload or a pasted link opens the same queue on the same case. Cases ticked for a bulk
verdict are kept as case ids, never as row positions.
"""

import uuid

import pandas as pd
import streamlit as st

from views.common import analyst, classifier_loader, get_store, md, show_error
from views.explain_panel import attribution_panel
from views.shortcuts import add_shortcuts
from rsad.review import verdicts
from rsad.service import batches
from rsad.ops import precompute
from rsad.service import review as triage
from rsad.errors import RsadError
from rsad.review.work_queue import SORTS, STATUSES, QueueFilter

PAGE_SIZE = 50
ALL = "(all)"
VERDICTS = [ALL, "anomaly", "normal", "unsure"]
SELECTED = "_selected"  # {case id: case name} ticked for a bulk verdict, in the order ticked
LONG_TEXT = 1_200  # characters: a longer case text opens on its start, the rest one click away
ROW_PX, HEAD_PX = 35, 38  # st.dataframe's row and header heights
store = get_store()
reasons = list(store.settings.reason_codes)
me = analyst()  # the signed-in user: verdicts and claims carry this name
ss = st.session_state


@st.cache_data(ttl=120, show_spinner=False)
def metadata_values(store_at: str, batch_id: int | None, key: str) -> list[str]:
    # One scan of the batch per column; batches are immutable, two minutes of staleness is fine.
    # store_at keys the cache by store, so two stores never share values.
    return triage.metadata_values(store, batch_id, key)


@st.cache_data(ttl=120, show_spinner=False)
def metadata_keys(store_at: str, batch_id: int | None, n_batches: int) -> list[str]:
    # Read on every rerun otherwise; a new batch (n_batches) may bring new columns.
    return triage.metadata_keys(store, batch_id)


# --- the URL -----------------------------------------------------------------------------------

def _apply_url(params: dict[str, str], batch_ids: list[int | None]) -> None:
    """Set the filter widgets, the queue page and the case to open from query parameters;
    a parameter that is absent means its default (a link names only what it needs)."""
    for key in ("f_batch", "f_score", "f_status", "f_verdict", "f_meta_key", "f_meta_value", "f_text", "f_sort"):
        ss.pop(key, None)
    batch = next((b for b in batch_ids if b is not None and str(b) == params.get("batch")), None)
    if batch is not None:  # None is the "(all)" option, the default: setting it would show no choice
        ss["f_batch"] = batch
    if params.get("status") in STATUSES:
        ss["f_status"] = params["status"]
    if params.get("verdict") in VERDICTS:
        ss["f_verdict"] = params["verdict"]
    if params.get("sort") in SORTS:
        ss["f_sort"] = params["sort"]
    if params.get("q"):
        ss["f_text"] = params["q"]
    if params.get("meta"):
        ss["f_meta_key"], ss["f_meta_value"] = params["meta"], params.get("value", ALL)
    try:
        low, high = (float(x) for x in params.get("score", "").split("-"))
        if 0.0 <= low <= high <= 1.0:
            ss["f_score"] = (low, high)
    except ValueError:
        pass
    ss["_want_page"] = int(params["page"]) if params.get("page", "").isdigit() else 1
    ss["_want_case"] = int(params["case"]) if params.get("case", "").isdigit() else None


def _read_url(batch_ids: list[int | None]) -> None:
    """Take the URL's state when it is new to this page: a reload, a link (Upload's "Review
    batch"), a pasted URL; or the page's own last state when coming back from another page,
    which drops this page's widgets and clears the URL."""
    params = st.query_params.to_dict()
    last = ss.get("_url_written")
    if params and params != last:
        _apply_url(params, batch_ids)
    elif "f_status" not in ss:
        _apply_url(last or {}, batch_ids)


def _write_url(f: QueueFilter, page_no: int, case_id: int | None) -> None:
    """The URL names this queue and case; defaults are left out, so links stay short."""
    params = {"batch": f.batch_id, "status": f.status if f.status != "unreviewed" else None,
              "verdict": f.verdict, "sort": f.sort if f.sort != "score" else None,
              "score": None if (f.score_min, f.score_max) == (0.0, 1.0) else f"{f.score_min:g}-{f.score_max:g}",
              "meta": f.meta_key, "value": f.meta_value if f.meta_key else None, "q": f.text_contains or None,
              "page": page_no if page_no > 1 else None, "case": case_id}
    params = {k: str(v) for k, v in params.items() if v is not None}
    ss["_url_written"] = params
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


# --- filters -------------------------------------------------------------------------------------

def filters(batch_list: list[dict]) -> QueueFilter:
    """The filter widgets (seeded from the URL) and the queue filter they make."""
    batch_ids = [None] + [b["id"] for b in batch_list]
    names = {b["id"]: f"{b['name']} ({b['rows']:,})" for b in batch_list}
    _read_url(batch_ids)
    with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
        batch_id = c1.selectbox("Batch", batch_ids, key="f_batch", format_func=lambda b: names.get(b, ALL))
        score_range = c2.slider("Score range", 0.0, 1.0, (0.0, 1.0), step=0.01, key="f_score")
        status = c3.selectbox("Status", STATUSES, key="f_status")
        verdict = c4.selectbox("Latest verdict", VERDICTS, key="f_verdict")
        c1, c2, c3, c4, c5 = st.columns([1, 1, 2, 1, 1])
        keys = metadata_keys(store.location, batch_id, len(batch_list))
        if ss.get("f_meta_key") not in (None, ALL, *keys):
            ss["f_meta_key"] = ALL  # a column from the URL that this batch does not have
        meta_key = c1.selectbox("Metadata column", [ALL, *keys], key="f_meta_key")
        values = [] if meta_key == ALL else metadata_values(store.location, batch_id, meta_key)
        if ss.get("f_meta_value") not in (None, ALL, *values):
            ss["f_meta_value"] = ALL
        meta_value = c2.selectbox("equals", [ALL, *values], key="f_meta_value", disabled=meta_key == ALL)
        text_contains = c3.text_input("Text contains", key="f_text")
        sort = c4.selectbox("Sort", list(SORTS), format_func=SORTS.get, key="f_sort")
        c5.selectbox("Rows in the table", [10, 15, 25, 50], index=1, key="q_rows",
                     help="As many as fit your screen: the case opens below the table.")
    f = QueueFilter(batch_id=batch_id, score_min=score_range[0], score_max=score_range[1], status=status,
                    verdict=None if verdict == ALL else verdict,
                    meta_key=None if meta_key == ALL else meta_key,
                    meta_value=None if meta_value == ALL else meta_value, text_contains=text_contains,
                    sort=sort, viewer=me)
    if ss.get("_last_filter") != f:  # a new filter starts the queue from the top, with nothing ticked
        if "_last_filter" in ss:
            _clear_selection()
        ss.update(_last_filter=f, case_pos=0, queue_page=1)
    if "_want_page" in ss:  # the URL's page (its case, if it names one, is opened in the fragment)
        ss["queue_page"] = ss.pop("_want_page")
        ss["case_pos"] = (ss["queue_page"] - 1) * PAGE_SIZE
    return f


# --- the queue table and bulk verdicts -------------------------------------------------------

def _step(name: str, by: int, lowest: int, highest: int) -> None:
    """Button callback: move the queue page or the open case by ``by``, within the bounds.

    It reads the position when the press arrives: a second press before the page is redrawn
    moves again instead of repeating the first move.
    """
    ss[name] = min(max(ss.get(name, lowest) + by, lowest), highest)


def _clear_selection() -> None:
    """No case ticked, and the table drawn anew without ticks."""
    if ss.pop(SELECTED, None):
        ss["_selection_gen"] = ss.get("_selection_gen", 0) + 1
    ss.pop("_bulk_key", None)


def _table_event() -> None:
    """The table's selection changed: ticks update the selected case ids of the rows the
    analyst saw; a click on a cell opens that row's case."""
    event, shown = ss.get(ss.get("_table_key") or "queue_table"), ss.get("_shown", [])
    if event is None:
        return
    selected = ss.setdefault(SELECTED, {})
    ticked = set(event["selection"]["rows"])
    for i, (case_id, name) in enumerate(shown):
        if i in ticked:
            selected.setdefault(case_id, name)
        else:
            selected.pop(case_id, None)
    ss.pop("_bulk_key", None)  # another selection is another submission
    cells = event["selection"]["cells"]
    cell = tuple(cells[0]) if cells else None
    if cell != ss.get("_last_cell"):  # a new click on a cell, not a tick while one stays selected
        ss["_last_cell"] = cell
        if cell and 0 <= cell[0] < len(shown):
            ss["case_pos"] = (ss.get("queue_page", 1) - 1) * PAGE_SIZE + cell[0]


def queue_table(page: dict) -> None:
    """The page of the queue: tick rows for a bulk verdict, click a cell to open its case."""
    rows = pd.DataFrame(page["rows"])
    shown = [(int(r["id"]), str(r["external_id"])) for r in page["rows"]]
    selected = ss.setdefault(SELECTED, {})
    # A table of other rows, or a selection changed on the server (Apply, Clear, a filter), is
    # a new table whose ticks are drawn from the selected case ids: a case that slides into a
    # ticked row is not ticked unless it was chosen. While the rows stay, the browser's ticks
    # stand (setting them on every run would undo a tick made while a run was on its way).
    # Keyed by its rows even with nothing ticked: a tick made on the old rows while a verdict's
    # run was on its way then goes to a table that is gone, instead of to the case that slid
    # into its row. It costs a remount of the grid per verdict (bench/review_browser.py).
    key = f"queue_table_{ss.get('_selection_gen', 0)}_{hash(tuple(shown)) & 0xFFFFFFFF:x}"
    if key != ss.get("_table_key"):
        ss["_last_cell"] = None  # the old table's widget state goes with it (not drawn again)
    ss.update(_table_key=key, _shown=shown)
    ticked = [i for i, (cid, _) in enumerate(shown) if cid in selected]
    rows["flagged"] = rows["score"] >= page["threshold"]
    rows[["verdict", "analyst"]] = rows[["verdict", "analyst"]].fillna("")
    st.dataframe(
        rows[["external_id", "batch", "score", "flagged", "verdict", "analyst", "preview"]],
        key=key, hide_index=True, on_select=_table_event, selection_mode=["multi-row", "single-cell"],
        selection_default={"selection": {"rows": ticked, "columns": [], "cells": []}},
        height=HEAD_PX + ROW_PX * min(len(rows), int(ss.get("q_rows", 15))),
        column_config={
            "external_id": "case", "score": st.column_config.ProgressColumn("score", min_value=0, max_value=1,
                                                                           format="%.3f"),
            "preview": st.column_config.TextColumn("text", width="large"),
        },
    )


def pager(page_no: int, n_pages: int) -> None:
    nav = st.columns([1, 1, 6])
    # Callbacks, not st.rerun(): the move happens before the next run, so the page runs once.
    nav[0].button("Previous page", key="page_prev", disabled=page_no <= 1, on_click=_step,
                  args=("queue_page", -1, 1, n_pages))
    nav[1].button("Next page", key="page_next", disabled=page_no >= n_pages, on_click=_step,
                  args=("queue_page", 1, 1, n_pages))


def _apply_bulk(case_ids: list[int], key: str) -> None:
    """Bulk form callback: the cases listed on the form, once per submission key."""
    if analyst() != me:
        return
    label, reason = ss.get("bulk_label", "anomaly"), ss.get("bulk_reason") or ""
    try:
        n = verdicts.record_verdicts(store, case_ids, label, analyst=me, reason_code=reason,
                                   note=ss.get("bulk_note", ""), submission=key)
    except RsadError as exc:
        ss["_bulk_error"] = str(exc)
        return
    if not n:
        # A second press of a form already applied: the first press cleared its selection and
        # said so; whatever is ticked now was ticked since, and stays.
        return
    _clear_selection()
    ss.update(bulk_reason=None, bulk_note="")
    ss["_toast"] = f"Recorded {n} verdicts: {label}" + (f" ({md(reason)})." if reason else ".")


def bulk_form() -> None:
    """A verdict for every ticked case, listed by name before anything is written."""
    selected: dict[int, str] = ss.get(SELECTED) or {}
    if not selected:
        return
    ids, names = list(selected), list(selected.values())
    on_page = {cid for cid, _ in ss.get("_shown", [])}
    elsewhere = sum(cid not in on_page for cid in ids)
    listed = ", ".join(md(n) for n in names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
    key = ss.setdefault("_bulk_key", uuid.uuid4().hex)
    with st.container(border=True, key="bulk_box"):
        st.markdown(f"**Bulk verdict for {len(ids):,} selected cases**: {listed}"
                    + (f" ({elsewhere:,} of them on other pages)" if elsewhere else ""))
        if message := ss.pop("_bulk_error", None):
            show_error(message)
        with st.form("bulk_form", border=False):  # cleared by _apply_bulk once recorded
            c1, c2, c3 = st.columns([1, 2, 3])
            c1.radio("Verdict", ["anomaly", "normal", "unsure"], key="bulk_label")
            c2.selectbox("Reason", reasons, key="bulk_reason", index=None, placeholder=_reason_hint())
            c3.text_area("Note", key="bulk_note", height=80)
            st.form_submit_button(f"Apply to {len(ids):,} cases", type="primary", key="bulk_submit",
                                  on_click=_apply_bulk, args=(ids, key))
        st.button("Clear selection", key="bulk_clear", on_click=_clear_selection)


def _reason_hint() -> str:
    required = store.settings.require_reason_for
    return f"Choose a reason (required for {' and '.join(required)})" if required else "No reason (optional)"


def queue_done(f: QueueFilter, page: dict) -> None:
    """Nothing left to show: say whether the work is done or the filters are too narrow, and what next."""
    narrowed = bool(f.verdict or f.meta_key or f.text_contains.strip()) or (f.score_min, f.score_max) != (0.0, 1.0)
    batches = batches.overview(store)["batches"]
    this = next((b for b in batches if b["id"] == f.batch_id), None)
    if this is not None and this["scored"] < this["rows"]:
        st.warning(f"{this['rows'] - this['scored']:,} cases of {md(this['name'])} have no score from the active "
                   "model, so the queue cannot show them: score them (`rsad score`), or finish rescoring on the "
                   "Models page.", icon=":material/warning:")
    if narrowed or f.status != "unreviewed":
        st.info("No cases match these filters. Widen the score range, clear the metadata, text or verdict "
                "filter, or set the status to 'all'.", icon=":material/filter_alt_off:")
        return
    where = f"batch {md(this['name'])}" if this else "every batch"
    held = " (apart from the cases other analysts have open, above)" if page["held"] else ""
    st.success(f"Queue done: every scored case in {where} has a verdict{held}.", icon=":material/task_alt:")
    left = [b for b in batches if b["id"] != f.batch_id and b["scored"] > b["reviewed"]]
    for b in left[:5]:
        st.page_link("views/review.py", label=f"Review {md(b['name'])}: {b['scored'] - b['reviewed']:,} unreviewed",
                     query_params={"batch": str(b["id"])}, icon=":material/fact_check:")
    st.page_link("views/models.py", label="Retrain on the new verdicts (Models)", icon=":material/model_training:")
    st.page_link("views/labels.py", label="Check the labels and analyst agreement (Labels)", icon=":material/label:")


# --- the open case ---------------------------------------------------------------------------------

def _open_wanted_case(f: QueueFilter) -> None:
    """A URL named a case (a reload, a link): open it where it stands in this queue."""
    wanted = ss.pop("_want_case", None)
    if wanted is None:
        return
    try:
        pos = triage.queue_position(store, f, wanted)
    except RsadError as exc:
        show_error(exc)
        return
    if pos is None:
        ss["_toast"] = f"Case {wanted} from the link is not in this queue (reviewed, taken or filtered out)."
        return
    ss["case_pos"] = pos
    ss["queue_page"] = pos // PAGE_SIZE + 1


def _submit_verdict(label: str, case_id: int, name: str, key: str, pos: int, total: int, status: str) -> None:
    """Verdict form callback (mouse or keyboard alike): runs before the next run, so the page
    renders once, on the next case. The reason is the one chosen in the box, or none."""
    if analyst() != me:  # signed out or removed since the form was drawn: the run shows sign-in
        return
    reason = ss.get("verdict_reason") or ""
    try:
        n = verdicts.record_verdicts(store, [case_id], label, analyst=me, reason_code=reason,
                                   note=ss.get("verdict_note", ""), submission=key)
    except RsadError as exc:
        ss["_verdict_error"] = str(exc)
        return
    ss.get("_case_keys", {}).pop(case_id, None)  # a later verdict on this case is a new submission
    ss.update(verdict_reason=None, verdict_note="")  # the next case starts with no reason chosen
    if n:
        ss["_toast"] = f"{md(name)}: {label}" + (f" ({md(reason)})." if reason else ".")
    # An unreviewed-only queue drops the case, so the same position is already the next case.
    if status != "unreviewed":
        ss["case_pos"] = min(pos + 1, total - 1)


def case_text(text: str) -> None:
    """The case text as typed (st.text never renders markup); a long one opens on its start."""
    if len(text) <= LONG_TEXT:
        st.text(text)
        return
    st.text(text[:LONG_TEXT] + " …")
    st.caption(f"{len(text):,} characters; the attributions below open on excerpts around the words that "
               "weigh most.")
    with st.expander(f"Show all {len(text):,} characters"):
        st.text(text)


def case_facts(case: dict) -> None:
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


def verdict_form(case: dict, *, taken: bool, pos: int, total: int, status: str) -> None:
    """The verdict buttons (keys a, n, u press them), the reason and note, earlier verdicts."""
    if message := ss.pop("_verdict_error", None):
        show_error(message)
    if ss.get("_form_case") != case["id"]:  # another case: a reason chosen for the last one does not carry over
        ss.update(_form_case=case["id"], verdict_reason=None, verdict_note="")
    keys = ss.setdefault("_case_keys", {})
    key = keys.setdefault(case["id"], uuid.uuid4().hex)  # one submission per opening of the case
    args = (case["id"], case["external_id"], key, pos, total, status)
    # Cleared by the callback once the verdict is recorded, not on submit: a refused verdict
    # (a reason this desk requires, a case someone else took) keeps what the analyst typed.
    with st.form("verdict_form"):
        st.markdown("**Verdict**  ·  keys: `a` anomaly, `n` normal, `u` unsure")
        st.selectbox("Reason", reasons, key="verdict_reason", index=None, placeholder=_reason_hint())
        st.text_area("Note", key="verdict_note", height=80)
        b = st.columns(3)
        for col, label, primary in ((b[0], "anomaly", True), (b[1], "normal", False), (b[2], "unsure", False)):
            col.form_submit_button(label.capitalize(), key=f"verdict_{label}", type="primary" if primary else "secondary",
                                   on_click=_submit_verdict, args=(label, *args), disabled=taken)
    if case["verdicts"]:
        st.markdown("**Earlier verdicts**")
        st.dataframe(pd.DataFrame(case["verdicts"])[["created_at", "analyst", "label", "reason_code", "note"]],
                     hide_index=True, key="case_history",
                     column_config={"created_at": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm")})


def case_view(case_id: int, pos: int, total: int, status: str) -> None:
    """The open case: claim, text, facts, verdict form and attributions."""
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
        case_text(case["text"])
        case_facts(case)
    with right:
        verdict_form(case, taken=taken, pos=pos, total=total, status=status)
    st.toggle("Show attributions only after my verdict", key="attr_after_verdict",
              help="Highlights seen first can bias a verdict.")
    if ss.get("attr_after_verdict") and not any(v["analyst"] == me for v in case["verdicts"]):
        st.info("Attributions appear once you have recorded your verdict on this case.")
    else:
        attribution_panel(store, case_id)


def explain_ahead(page: dict, pos: int) -> None:
    """While the analyst reads this case, the next ones get their attributions (one job at a
    time per session; the model loads in that job, not in a page run)."""
    n_ahead = store.settings.explain_ahead
    ahead = ([r["id"] for r in page["rows"][pos - page["offset"] + 1:][:n_ahead]]
             if n_ahead and page["offset"] <= pos else [])
    job = ss.get("_explain_ahead")
    if ahead and (job is None or job.snapshot().status not in ("queued", "running")):
        ss["_explain_ahead"] = precompute.start_explain_ahead(store, ahead, classifier_loader())


def _load(f: QueueFilter) -> dict:
    """The queue page in force (moved back when the queue shrank under it)."""
    try:
        page = triage.queue(store, f, offset=(ss.setdefault("queue_page", 1) - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        n_pages = max(1, -(-page["total"] // PAGE_SIZE))
        if ss["queue_page"] > n_pages:
            ss["queue_page"] = n_pages
            page = triage.queue(store, f, offset=(n_pages - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    return page


@st.fragment
def queue_and_case(f: QueueFilter) -> None:
    """The queue table and the open case, rerun on their own.

    A verdict, Previous/Next, a page button or a table click reruns only this fragment: the
    filters above are neither rerun nor redrawn, which keeps verdict -> next case quick
    (bench/review_browser.py). The sidebar and the filters refresh on the next full run.
    """
    # A fragment run skips app.py's sign-in check: a user removed or signed out meanwhile
    # must not record a verdict here. The whole app reruns and shows the sign-in screen.
    if analyst() != me:
        st.rerun()
    _open_wanted_case(f)
    if message := ss.pop("_toast", None):  # first: the last verdict of a queue has its toast too
        st.toast(message)
    page = _load(f)
    total, page_no = page["total"], ss["queue_page"]
    n_pages = max(1, -(-total // PAGE_SIZE))
    st.caption(f"{total:,} cases match · model {md(page['model'])} · threshold {page['threshold']:.3f} · "
               f"page {page_no} of {n_pages}")
    if page["held"]:
        st.caption("Open with other analysts, so not in your queue: " + ", ".join(
            f"{h['cases']} with {md(h['analyst'])} (until {h['until']:%H:%M} UTC)" for h in page["held"]))
    if total == 0:
        _clear_selection()
        _write_url(f, 1, None)
        queue_done(f, page)
        return
    queue_table(page)
    pager(page_no, n_pages)
    bulk_form()
    pos = ss["case_pos"] = min(ss.setdefault("case_pos", 0), total - 1)
    case_id = triage.queue_case_at(store, f, pos, page)  # on the shown page: no second query
    if case_id is None:
        st.info("End of the queue.")
        return
    _write_url(f, page_no, case_id)
    case_view(case_id, pos, total, f.status)
    explain_ahead(page, pos)


st.title("Review queue")
try:
    batch_list = triage.batches(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
if not batch_list:
    st.info("No batches yet: upload one on the Upload page.")
    st.stop()
queue_and_case(filters(batch_list))
add_shortcuts({"a": "verdict_anomaly", "n": "verdict_normal", "u": "verdict_unsure",
               "j": "next_case", "arrowright": "next_case", "k": "prev_case", "arrowleft": "prev_case"})
