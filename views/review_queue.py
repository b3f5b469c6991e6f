"""Review's queue: a page of it in a table, the pager, and what an empty queue says.

Where the analyst stands is kept in st.session_state, shared with the filters and the open
case: ``queue_page`` (1-based), ``case_pos`` (the open case's position in the whole queue) and
SELECTED, the cases ticked for a bulk verdict, kept as case ids, never as row positions.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import batches
from rsad.service import review as triage
from rsad.service.review import QueueFilter, QueuePage
from views.common import md, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store

PAGE_SIZE = 50
SELECTED = "_selected"  # {case id: case name} ticked for a bulk verdict, in the order ticked
ROW_PX, HEAD_PX = 35, 38  # st.dataframe's row and header heights
ss = st.session_state


def step(name: str, by: int, lowest: int, highest: int) -> None:
    """Button callback: move the queue page or the open case by ``by``, within the bounds.

    It reads the position when the press arrives: a second press before the page is redrawn
    moves again instead of repeating the first move.
    """
    ss[name] = min(max(ss.get(name, lowest) + by, lowest), highest)


def clear_selection() -> None:
    """No case ticked, and the table drawn anew without ticks."""
    if ss.pop(SELECTED, None):
        ss["_selection_gen"] = ss.get("_selection_gen", 0) + 1
    ss.pop("_bulk_key", None)


def load_page(store: Store, f: QueueFilter) -> QueuePage:
    """The queue page in force (moved back when the queue shrank under it)."""
    try:
        # "best next to label" embeds the batch's candidates the first time (shown after half a second)
        with st.spinner(_("Choosing the cases to label next…")) if f.sort == "active" else nullcontext():
            page = triage.queue(store, f, offset=(ss.setdefault("queue_page", 1) - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        n_pages = max(1, -(-page.total // PAGE_SIZE))
        if ss["queue_page"] > n_pages:
            ss["queue_page"] = n_pages
            page = triage.queue(store, f, offset=(n_pages - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    return page


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


def queue_table(page: QueuePage) -> None:
    """The page of the queue: tick rows for a bulk verdict, click a cell to open its case."""
    rows = pd.DataFrame(page.rows)
    shown = [(int(r["id"]), str(r["external_id"])) for r in page.rows]
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
    rows["flagged"] = rows["score"] >= page.threshold
    rows[["verdict", "analyst"]] = rows[["verdict", "analyst"]].fillna("")
    st.dataframe(
        rows[["external_id", "batch", "score", "flagged", "verdict", "analyst", "preview"]],
        key=key, hide_index=True, on_select=_table_event, selection_mode=["multi-row", "single-cell"],
        selection_default={"selection": {"rows": ticked, "columns": [], "cells": []}},
        height=HEAD_PX + ROW_PX * min(len(rows), int(ss.get("q_rows", 15))),
        column_config={
            "external_id": _("case"), "batch": _("batch"), "flagged": _("flagged"), "verdict": _("verdict"),
            "analyst": _("analyst"),
            "score": st.column_config.ProgressColumn(_("score"), min_value=0, max_value=1, format="%.3f"),
            "preview": st.column_config.TextColumn(_("text"), width="large"),
        },
    )


def pager(page_no: int, n_pages: int) -> None:
    nav = st.columns([1, 1, 6])
    # Callbacks, not st.rerun(): the move happens before the next run, so the page runs once.
    nav[0].button(_("Previous page"), key="page_prev", disabled=page_no <= 1, on_click=step,
                  args=("queue_page", -1, 1, n_pages))
    nav[1].button(_("Next page"), key="page_next", disabled=page_no >= n_pages, on_click=step,
                  args=("queue_page", 1, 1, n_pages))


def queue_done(store: Store, f: QueueFilter, page: QueuePage) -> None:
    """Nothing left to show: say whether the work is done or the filters are too narrow, and what next."""
    narrowed = bool(f.verdict or f.meta_key or f.text_contains.strip()) or (f.score_min, f.score_max) != (0.0, 1.0)
    listed = batches.overview(store)["batches"]
    this = next((b for b in listed if b["id"] == f.batch_id), None)
    if this is not None and this["scored"] < this["rows"]:
        st.warning(_("{n:,} cases of {batch} have no score from the active model, so the queue cannot show them: "
                     "score them (`rsad score`), or finish rescoring on the Models page.").format(
                       n=this["rows"] - this["scored"], batch=md(this["name"])), icon=":material/warning:")
    if narrowed or f.status != "unreviewed":
        st.info(_("No cases match these filters. Widen the score range, clear the metadata, text or verdict "
                  "filter, or set the status to 'all'."), icon=":material/filter_alt_off:")
        return
    # Whole sentences, not pieces: a translation orders the batch and the aside as its language does.
    if this and page.held:
        done = _("Queue done: every scored case in batch {batch} has a verdict (apart from the cases other "
                 "analysts have open, above).")
    elif this:
        done = _("Queue done: every scored case in batch {batch} has a verdict.")
    elif page.held:
        done = _("Queue done: every scored case in every batch has a verdict (apart from the cases other "
                 "analysts have open, above).")
    else:
        done = _("Queue done: every scored case in every batch has a verdict.")
    st.success(done.format(batch=md(this["name"]) if this else ""), icon=":material/task_alt:")
    left = [b for b in listed if b["id"] != f.batch_id and b["scored"] > b["reviewed"]]
    for b in left[:5]:
        st.page_link(page="views/review.py", label=_("Review {batch}: {n:,} unreviewed").format(
                         batch=md(b["name"]), n=b["scored"] - b["reviewed"]),
                     query_params={"batch": str(b["id"])}, icon=":material/fact_check:")
    st.page_link(page="views/models.py", label=_("Retrain on the new verdicts (Models)"),
                 icon=":material/model_training:")
    st.page_link(page="views/labels.py", label=_("Check the labels and analyst agreement (Labels)"),
                 icon=":material/label:")
