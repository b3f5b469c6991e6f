"""Label to start: a project without a model labels its first cases in coverage order (clusters
of the base model's embeddings, so the first ones cover every kind of record), sees how many of
each class it has, and once there are enough an admin trains the first model."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import review, start
from views.common import analyst, get_store, md, show_error
from views.first_model import LAST_UPLOAD, RANK_JOBS, ranking_status, start_ranking, train_button

SHOWN = 5  # cases on the page at once
LABELS = (("anomaly", N_("Anomaly"), ":material/report:"), ("normal", N_("Normal"), ":material/check:"),
          ("unsure", N_("Unsure"), ":material/help:"))
CLASS_NAMES = {"anomaly": N_("anomaly"), "normal": N_("normal")}  # start.CLASSES are stored codes
store = get_store()


def pick_batch(batches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The batch to label (None: every batch of the project); ?batch=ID preselects one."""
    wanted = st.query_params.get("batch")
    ids = [None] + [b["id"] for b in batches]
    index = next((i for i, b in enumerate(ids) if wanted is not None and str(b) == wanted), 0)
    names = {b["id"]: _("{name} ({n:,} cases)").format(name=b["name"], n=b["rows"]) for b in batches}
    chosen = st.selectbox(_("Batch"), ids, index=index, key="start_batch",
                          format_func=lambda i: _("All batches of the project") if i is None else names[i])
    return next((b for b in batches if b["id"] == chosen), None)


def class_progress(q: start.StartQueue) -> None:
    """Labels of each class so far against what the first training needs."""
    cols = st.columns(len(start.CLASSES))
    for col, cls in zip(cols, start.CLASSES):
        n = q.counts[cls]
        col.progress(min(1.0, n / q.needed), text=_("{label} {n:,} / {needed:,}").format(
            label=_(CLASS_NAMES.get(cls, cls)), n=n, needed=q.needed))


def case_card(row: dict[str, Any]) -> None:
    """One case's text and its three verdict buttons (a click records the verdict and moves on)."""
    with st.container(border=True):
        st.caption(_("{case} · batch {batch}").format(case=md(row["external_id"]), batch=md(row["batch"]))
                   + (_(" · coverage rank {rank:,}").format(rank=row["rank"] + 1) if row["rank"] is not None
                      else ""))
        st.text(row["text"])
        # A desk may require a reason for some labels (RSAD_REQUIRE_REASON_FOR): then it is asked here too.
        needed = store.settings.require_reason_for
        reason = st.selectbox(_("Reason"), list(store.reason_codes), index=None, key=f"start_reason_{row['id']}",
                              placeholder=_("Reason (optional)") if not needed else
                              _("Reason (needed for {labels})").format(labels=", ".join(needed)))
        cols = st.columns(len(LABELS))
        for col, (label, text, icon) in zip(cols, LABELS):
            if col.button(_(text), key=f"start_{label}_{row['id']}", icon=icon):
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
        st.caption(_("{n:,} of these cases are not ordered for coverage yet (they come last, by id).").format(
            n=q.unranked))
        if st.button(_("Order for coverage"), key="start_rank", icon=":material/scatter_plot:"):
            start_ranking(store, batch["id"])
            st.rerun()
    elif q.unranked:
        st.caption(_("{n:,} cases are not ordered for coverage yet: pick their batch to order it.").format(
            n=q.unranked))


def main() -> None:
    st.title(_("Label to start"))
    try:
        active = start.active_model_name(store)
        batches = review.batches(store)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if active is not None:
        st.info(_("Project {project} has an active model ({model}): its cases are reviewed in the "
                  "score-ordered queue.").format(project=md(store.project_name), model=md(active)),
                icon=":material/check_circle:")
        # page=: the lint reads a first positional argument as text; this one is a path.
        st.page_link(page="views/review.py", label=_("Go to Review"), icon=":material/fact_check:")
        st.stop()
    if not batches:
        st.info(_("Upload a batch first: its cases are labeled here."))
        st.page_link(page="views/upload.py", label=_("Upload"), icon=":material/upload_file:")
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
        st.success(_("Enough labels of each class: train the first model (it then scores batch {batch}).").format(
            batch=md(target["name"])))
        train_button(store, target["name"], key="start_train")
    ordering(batch, q)
    st.caption(_("{total:,} unlabeled cases left; the next {n} in coverage order:").format(
        total=q.total, n=len(q.rows)))
    for row in q.rows:
        case_card(row)


main()
