"""Review's filters and the URL: which queue the page shows.

The URL keeps the batch, the filters, the queue page and the open case as query parameters:
a reload or a pasted link opens the same queue on the same case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.i18n import N_, _
from rsad.service import review as triage
from rsad.service.review import SORTS, STATUSES, QueueFilter
from views.case_state_panel import apply_state_url, state_filters
from views.review_queue import PAGE_SIZE, clear_selection

if TYPE_CHECKING:
    from rsad.service.batches import Store

ALL = N_("(all)")  # a value of the boxes below, never a metadata value or a verdict; shown as _(ALL)
VERDICTS = [ALL, "anomaly", "normal", "unsure"]
# What the boxes show for their stored values (verdicts, statuses and sorts stay English codes in
# the store and the URL). The sorts' words are SORTS' own, marked here so rsad/ needs no edit.
SHOWN = {ALL: ALL, "anomaly": N_("anomaly"), "normal": N_("normal"), "unsure": N_("unsure"),
         "unreviewed": N_("unreviewed"), "reviewed": N_("reviewed"), "all": N_("all"),
         "score": N_("score, high to low"), "uncertain": N_("most uncertain first"), "newest": N_("newest first"),
         "active": N_("best next to label")}
ss = st.session_state


@st.cache_data(ttl=120, show_spinner=False)
def metadata_values(_store: Store, store_at: str, batch_id: int | None, key: str) -> list[str]:
    # One scan of the batch per column; batches are immutable, two minutes of staleness is fine.
    # store_at keys the cache by store and project, so two stores or projects never share values.
    return triage.metadata_values(_store, batch_id, key)


@st.cache_data(ttl=120, show_spinner=False)
def metadata_keys(_store: Store, store_at: str, batch_id: int | None, n_batches: int) -> list[str]:
    # Read on every rerun otherwise; a new batch (n_batches) may bring new columns.
    return triage.metadata_keys(_store, batch_id)


def shown(value: str) -> str:
    """A box's option as the analyst reads it: a code in their language, data (a column, a value) as is."""
    return _(SHOWN[value]) if value in SHOWN else value


def _sort_label(sort: str) -> str:
    return _(SHOWN[sort]) if sort in SHOWN else SORTS[sort]


# --- the URL -----------------------------------------------------------------------------------

def _apply_url(params: dict[str, str], batch_ids: list[int | None]) -> None:
    """Set the filter widgets, the queue page and the case to open from query parameters;
    a parameter that is absent means its default (a link names only what it needs)."""
    for key in ("f_batch", "f_score", "f_status", "f_verdict", "f_meta_key", "f_meta_value", "f_text", "f_sort",
                "f_case_state", "f_mine"):
        ss.pop(key, None)
    apply_state_url(params)
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


def write_url(f: QueueFilter, page_no: int, case_id: int | None) -> None:
    """The URL names this queue and case; defaults are left out, so links stay short."""
    params = {"batch": f.batch_id, "status": f.status if f.status != "unreviewed" else None,
              "verdict": f.verdict, "sort": f.sort if f.sort != "score" else None,
              "score": None if (f.score_min, f.score_max) == (0.0, 1.0) else f"{f.score_min:g}-{f.score_max:g}",
              "meta": f.meta_key, "value": f.meta_value if f.meta_key else None, "q": f.text_contains or None,
              "state": f.case_state, "mine": "1" if f.assignee else None,
              "page": page_no if page_no > 1 else None, "case": case_id}
    params = {k: str(v) for k, v in params.items() if v is not None}
    ss["_url_written"] = params
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


# --- the filters -------------------------------------------------------------------------------

def filters(store: Store, me: str, batch_list: list[dict]) -> QueueFilter:
    """The filter widgets (seeded from the URL) and the queue filter they make for ``me``."""
    batch_ids = [None] + [b["id"] for b in batch_list]
    names = {b["id"]: f"{b['name']} ({b['rows']:,})" for b in batch_list}
    _read_url(batch_ids)
    with st.expander(_("Filters"), expanded=True, icon=":material/filter_list:"):
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
        batch_id = c1.selectbox(_("Batch"), batch_ids, key="f_batch", format_func=lambda b: names.get(b) or _(ALL))
        score_range = c2.slider(_("Score range"), 0.0, 1.0, (0.0, 1.0), step=0.01, key="f_score")
        status = c3.selectbox(_("Status"), STATUSES, key="f_status", format_func=shown)
        verdict = c4.selectbox(_("Latest verdict"), VERDICTS, key="f_verdict", format_func=shown)
        c1, c2, c3, c4, c5 = st.columns([1, 1, 2, 1, 1])
        keys = metadata_keys(store, f"{store.location}#{store.project_id}", batch_id, len(batch_list))
        if ss.get("f_meta_key") not in (None, ALL, *keys):
            ss["f_meta_key"] = ALL  # a column from the URL that this batch does not have
        # Metadata columns and values are the upload's own: only "(all)" is translated.
        meta_key = c1.selectbox(_("Metadata column"), [ALL, *keys], key="f_meta_key",
                                format_func=lambda k: _(ALL) if k == ALL else k)
        values = [] if meta_key == ALL else metadata_values(store, f"{store.location}#{store.project_id}", batch_id,
                                                             meta_key)
        if ss.get("f_meta_value") not in (None, ALL, *values):
            ss["f_meta_value"] = ALL
        meta_value = c2.selectbox(_("equals"), [ALL, *values], key="f_meta_value", disabled=meta_key == ALL,
                                  format_func=lambda v: _(ALL) if v == ALL else v)
        text_contains = c3.text_input(_("Text contains"), key="f_text")
        sort = c4.selectbox(_("Sort"), list(SORTS), format_func=_sort_label, key="f_sort")
        c5.selectbox(_("Rows in the table"), [10, 15, 25, 50], index=1, key="q_rows",
                     help=_("As many as fit your screen: the case opens below the table."))
        case_state, mine = state_filters()
    f = QueueFilter(batch_id=batch_id, score_min=score_range[0], score_max=score_range[1], status=status,
                    verdict=None if verdict == ALL else verdict,
                    meta_key=None if meta_key == ALL else meta_key,
                    meta_value=None if meta_value == ALL else meta_value, text_contains=text_contains,
                    sort=sort, viewer=me, case_state=case_state, assignee=me if mine else None)
    if ss.get("_last_filter") != f:  # a new filter starts the queue from the top, with nothing ticked
        if "_last_filter" in ss:
            clear_selection()
        ss.update(_last_filter=f, case_pos=0, queue_page=1)
    if "_want_page" in ss:  # the URL's page (its case, if it names one, is opened in the fragment)
        ss["queue_page"] = ss.pop("_want_page")
        ss["case_pos"] = (ss["queue_page"] - 1) * PAGE_SIZE
    return f
