"""The Upload page's panel for a project without a model: train the first model from a labeled
batch, or order an unlabeled one for the Label-to-start page. Shared with that page: the
coverage-ranking status and the "Train the first model" button.

Streamlit forgets a click on the next run: what the panel needs (the batch just stored, the
ranking job) is kept in ``st.session_state``, and the panel is a fragment, so its own button
reruns only the panel, not the upload that drew it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from rsad.errors import RsadError
from rsad.service import jobs as retrain
from rsad.service import start
from rsad.service.policies import Action
from views.common import current_user, md, reason_denied, show_error
from views.jobs_panel import job_panel

if TYPE_CHECKING:
    from rsad.service.batches import Store

LAST_UPLOAD = "_first_model_upload"  # the batch info of the last upload into a project without a model
RANK_JOBS = "_coverage_jobs"  # batch id -> the BackgroundJob ordering it for coverage
STARTED = "_first_model_job"  # the id of the first-model job this browser tab started
POLL_S = 2.0


def ranking_status(job: Any, key: str) -> None:
    """The coverage ranking's progress, polled while it runs (an in-memory snapshot: cheap)."""

    def show() -> None:
        state = job.snapshot()
        if state.status == "failed":
            st.caption(f"Ordering for coverage stopped: {md(state.error)}")
        elif state.status == "done":
            r = state.result
            st.caption(f":material/check_circle: Ordered {r['ranked']:,} cases of {md(r['batch'])} in "
                       f"{r['clusters']} clusters ({r['seconds']:.0f} s).")
        else:
            st.progress(state.fraction, text=f"Ordering for coverage: {state.message or 'loading the base model'} "
                                             f"{state.done:,} / {state.total or '…'}")

    live = job.snapshot().status in ("queued", "running")
    st.fragment(run_every=POLL_S if live else None, key=key)(show)()


def start_ranking(store: Store, batch_id: int) -> Any:
    """Order the batch for coverage in a background thread (once per batch and browser tab)."""
    jobs = st.session_state.setdefault(RANK_JOBS, {})
    if batch_id not in jobs or jobs[batch_id].snapshot().status == "failed":
        jobs[batch_id] = start.start_ranking(store, batch_id)
    return jobs[batch_id]


def _start_first(store: Store, batch: str) -> None:
    """The button's callback: it runs on the next script run even when that run (a full rerun of
    the Upload page, say) no longer draws the button, so the click is never lost."""
    try:
        st.session_state[STARTED] = start.start_first_model(store, batch, user=current_user())["id"]
        st.toast(f"Started training the first model; it then scores batch {md(batch)}.",
                 icon=":material/model_training:")
    except RsadError as exc:
        st.toast(md(str(exc)), icon=":material/error:")


def train_button(store: Store, batch: str, *, label: str = "Train the first model", key: str) -> None:
    """The admin's button that starts the first-model job (disabled with the reason for anyone else,
    or while a job runs), then the live job panel."""
    denied = reason_denied(Action.START_RETRAINING)
    try:
        busy = (latest := retrain.latest(store)) is not None and latest["status"] in retrain.LIVE
    except RsadError as exc:
        show_error(exc)
        return
    st.button(label, type="primary", key=key, icon=":material/model_training:", disabled=bool(denied) or busy,
              help=denied, on_click=_start_first, args=(store, batch))
    if denied:
        st.caption(f":material/lock: {denied}")
    if busy or STARTED in st.session_state:
        st.caption(f"It trains in the background (you may leave this page), then scores batch {md(batch)}.")
        job_panel(store, compact=False)


def first_model_panel(store: Store, info: dict[str, Any]) -> None:
    """After an upload into a project without a model: offer the first training (labeled batch)
    or the Label-to-start queue in coverage order (unlabeled batch)."""
    st.session_state[LAST_UPLOAD] = dict(info)

    def panel() -> None:
        upload = st.session_state[LAST_UPLOAD]
        name = upload["name"]
        if (model := start.active_model_name(store)) is not None:  # trained meanwhile (here or elsewhere)
            job = job_panel(store, compact=False)
            scored = job is not None and job["status"] == "done"
            st.success(f"The project's first model {md(model)} is active"
                       + (f" and has scored batch {md(repr(name))}." if scored else
                          f"; batch {md(repr(name))} is scored with it once the job above is done."),
                       icon=":material/check_circle:")
            st.page_link("views/review.py", label=f"Review batch {md(name)}", icon=":material/fact_check:",
                         query_params={"batch": str(upload["id"])})
            return
        st.info(f"Stored batch {md(repr(name))} ({upload['rows']:,} cases). This project has no model yet.",
                icon=":material/info:")
        if upload.get("labeled"):
            st.markdown(f"The batch brings {upload['labeled']:,} labels: train the project's first model from "
                        "them (and the project's other labels); it then scores this batch.")
            train_button(store, name, label="Train the first model from these labels", key="first_model_train")
            if (done := st.session_state.get(STARTED)) is not None and retrain.get(store, done)["status"] == "done":
                st.page_link("views/review.py", label=f"Review batch {md(name)}", icon=":material/fact_check:",
                             query_params={"batch": str(upload["id"])})
        else:
            st.markdown("Label some of its cases to start: the Label-to-start page shows them in an order "
                        "that covers every kind of record first (clusters of the base model's embeddings).")
            ranking_status(start_ranking(store, upload["id"]), key="upload_coverage")
            st.page_link("views/start.py", label="Label to start", icon=":material/school:",
                         query_params={"batch": str(upload["id"])})

    st.fragment(panel)()
