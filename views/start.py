"""Label to start: a project without a model labels its first cases in coverage order (clusters
of the base model's embeddings, so the first ones cover every kind of record), sees how many of
each class it has, and once there are enough an admin trains the first model."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rsad.errors import RsadError
from rsad.service import review, start
from views.common import analyst, get_store, md, show_error
from views.first_model import LAST_UPLOAD, RANK_JOBS, ranking_status, start_ranking, train_button

SHOWN = 5  # cases on the page at once
LABELS = (("anomaly", "Anomaly", ":material/report:"), ("normal", "Normal", ":material/check:"),
          ("unsure", "Unsure", ":material/help:"))
store = get_store()


def pick_batch(batches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The batch to label (None: every batch of the project); ?batch=ID preselects one."""
    wanted = st.query_params.get("batch")
    ids = [None] + [b["id"] for b in batches]
    index = next((i for i, b in enumerate(ids) if wanted is not None and str(b) == wanted), 0)
    names = {b["id"]: f"{b['name']} ({b['rows']:,} cases)" for b in batches}
    chosen = st.selectbox("Batch", ids, index=index, key="start_batch",
                          format_func=lambda i: "All batches of the project" if i is None else names[i])
    return next((b for b in batches if b["id"] == chosen), None)


def class_progress(q: start.StartQueue) -> None:
    """Labels of each class so far against what the first training needs."""
    cols = st.columns(len(start.CLASSES))
    for col, cls in zip(cols, start.CLASSES):
        n = q.counts[cls]
        col.progress(min(1.0, n / q.needed), text=f"{cls} {n:,} / {q.needed:,}")


def case_card(row: dict[str, Any]) -> None:
    """One case's text and its three verdict buttons (a click records the verdict and moves on)."""
    with st.container(border=True):
        st.caption(f"{md(row['external_id'])} · batch {md(row['batch'])}"
                   + (f" · coverage rank {row['rank'] + 1:,}" if row["rank"] is not None else ""))
        st.text(row["text"])
        # A desk may require a reason for some labels (RSAD_REQUIRE_REASON_FOR): then it is asked here too.
        reason = st.selectbox("Reason", list(store.reason_codes), index=None, key=f"start_reason_{row['id']}",
                              placeholder="Reason (optional)" if not store.settings.require_reason_for else
                              f"Reason (needed for {', '.join(store.settings.require_reason_for)})")
        cols = st.columns(len(LABELS))
        for col, (label, text, icon) in zip(cols, LABELS):
            if col.button(text, key=f"start_{label}_{row['id']}", icon=icon):
                try:
                    review.record_verdicts(store, [row["id"]], label, analyst=analyst(), reason_code=reason or "")
                except RsadError as exc:
                    show_error(exc)
                    return
                st.rerun()


def ordering(batch: dict[str, Any] | None, q: start.StartQueue) -> None:
    """The batch's coverage ranking: its progress if running, or a button to start it."""
    if batch is not None and (job := st.session_state.get(RANK_JOBS, {}).get(batch["id"])) is not None:
        ranking_status(job, key="start_coverage")
    elif q.unranked and batch is not None:
        st.caption(f"{q.unranked:,} of these cases are not ordered for coverage yet (they come last, by id).")
        if st.button("Order for coverage", key="start_rank", icon=":material/scatter_plot:"):
            start_ranking(store, batch["id"])
            st.rerun()
    elif q.unranked:
        st.caption(f"{q.unranked:,} cases are not ordered for coverage yet: pick their batch to order it.")


def main() -> None:
    st.title("Label to start")
    try:
        active = start.active_model_name(store)
        batches = review.batches(store)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if active is not None:
        st.info(f"Project {md(store.project_name)} has an active model ({md(active)}): its cases are "
                "reviewed in the score-ordered queue.", icon=":material/check_circle:")
        st.page_link("views/review.py", label="Go to Review", icon=":material/fact_check:")
        st.stop()
    if not batches:
        st.info("Upload a batch first: its cases are labeled here.")
        st.page_link("views/upload.py", label="Upload", icon=":material/upload_file:")
        st.stop()
    batch = pick_batch(batches)
    try:
        q = start.start_queue(store, batch["id"] if batch else None, limit=SHOWN)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    class_progress(q)
    if q.ready:
        last = st.session_state.get(LAST_UPLOAD, {})
        target = batch or next((b for b in batches if b["id"] == last.get("id")), batches[0])
        st.success(f"Enough labels of each class: train the first model (it then scores batch {md(target['name'])}).")
        train_button(store, target["name"], key="start_train")
    ordering(batch, q)
    st.caption(f"{q.total:,} unlabeled cases left; the next {len(q.rows)} in coverage order:")
    for row in q.rows:
        case_card(row)


main()
