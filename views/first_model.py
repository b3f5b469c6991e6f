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
from rsad.i18n import _
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
            st.caption(_("Ordering for coverage stopped: {error}").format(error=md(state.error)))
        elif state.status == "done":
            r = state.result
            st.caption(":material/check_circle: " + _("Ordered {n:,} cases of {batch} in {clusters} clusters "
                                                      "({seconds:.0f} s).").format(
                n=r["ranked"], batch=md(r["batch"]), clusters=r["clusters"], seconds=r["seconds"]))
        else:
            st.progress(state.fraction, text=_("Ordering for coverage: {step} {done:,} / {total}").format(
                step=state.message or _("loading the base model"), done=state.done, total=state.total or "…"))

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
        st.toast(_("Started training the first model; it then scores batch {batch}.").format(batch=md(batch)),
                 icon=":material/model_training:")
    except RsadError as exc:
        st.toast(md(str(exc)), icon=":material/error:")


def train_button(store: Store, batch: str, *, label: str | None = None, key: str) -> None:
    """The admin's button that starts the first-model job (disabled with the reason for anyone else,
    or while a job runs), then the live job panel. ``label`` comes translated (None: the default)."""
    denied = reason_denied(Action.START_RETRAINING)
    try:
        busy = (latest := retrain.latest(store)) is not None and latest["status"] in retrain.LIVE
    except RsadError as exc:
        show_error(exc)
        return
    st.button(label or _("Train the first model"), type="primary", key=key, icon=":material/model_training:",
              disabled=bool(denied) or busy, help=denied, on_click=_start_first, args=(store, batch))
    if denied:
        st.caption(f":material/lock: {denied}")
    if busy or STARTED in st.session_state:
        st.caption(_("It trains in the background (you may leave this page), then scores batch {batch}.").format(
            batch=md(batch)))
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
            said = (_("The project's first model {model} is active and has scored batch {batch}.") if scored else
                    _("The project's first model {model} is active; batch {batch} is scored with it once the job "
                      "above is done."))
            st.success(said.format(model=md(model), batch=md(repr(name))), icon=":material/check_circle:")
            st.page_link(page="views/review.py", label=_("Review batch {batch}").format(batch=md(name)),
                         icon=":material/fact_check:",
                         query_params={"batch": str(upload["id"])})
            return
        st.info(_("Stored batch {batch} ({n:,} cases). This project has no model yet.").format(
            batch=md(repr(name)), n=upload["rows"]), icon=":material/info:")
        if upload.get("labeled"):
            st.markdown(_("The batch brings {n:,} labels: train the project's first model from them (and the "
                          "project's other labels); it then scores this batch.").format(n=upload["labeled"]))
            train_button(store, name, label=_("Train the first model from these labels"), key="first_model_train")
            if (done := st.session_state.get(STARTED)) is not None and retrain.get(store, done)["status"] == "done":
                st.page_link(page="views/review.py", label=_("Review batch {batch}").format(batch=md(name)),
                             icon=":material/fact_check:", query_params={"batch": str(upload["id"])})
        else:
            st.markdown(_("Label some of its cases to start: the Label-to-start page shows them in an order "
                          "that covers every kind of record first (clusters of the base model's embeddings)."))
            ranking_status(start_ranking(store, upload["id"]), key="upload_coverage")
            st.page_link(page="views/start.py", label=_("Label to start"), icon=":material/school:",

                         query_params={"batch": str(upload["id"])})

    st.fragment(panel)()
