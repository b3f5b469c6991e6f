"""The retraining job's state, read from the store: a short panel in every page's sidebar and
the full one (with the log) on the Models page. Both poll while a job is live."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.errors import RsadError
from rsad.progress import format_seconds
from rsad.service import jobs as retrain
from views.common import md, md_message

if TYPE_CHECKING:
    from rsad.service.batches import Store

POLL_S = 2.0


def _progress_text(job: dict) -> str:
    parts = [job["message"] or job["status"]]
    if job["total"]:
        parts.append(f"{100 * job['fraction']:.0f}%")
    if job["eta_s"] is not None and job["status"] == "running" and job["done"] < job["total"]:
        parts.append(f"about {format_seconds(job['eta_s'])} left")
    return " · ".join(parts)


def _render(job: dict, *, compact: bool) -> None:
    who = f"job {job['id']} by {md(job['created_by'])}"
    if job["status"] in retrain.LIVE:
        st.markdown(f"**Retraining** ({who})" if compact else f"**Retraining is {job['status']}** ({who}, "
                    f"started {job['created_at']:%Y-%m-%d %H:%M} UTC)")
        st.progress(job["fraction"], text=_progress_text(job))
    elif job["status"] == "done" and compact:
        st.caption(f":material/check_circle: Last retraining ({who}) registered {job['version_name']}.")
    elif job["status"] == "done" and (batch := job["params"].get("score_batch")):
        st.success(f"Training done ({who}): {job['version_name']} is registered and has scored batch "
                   f"{md(repr(batch))}.", icon=":material/check_circle:")
    elif job["status"] == "done":
        st.success(f"Retraining done ({who}): {job['version_name']} is registered; compare it below.",
                   icon=":material/check_circle:")
    elif job["status"] == "stopped":
        # Someone chose this: shown neutrally, not as an error.
        when = f" at {job['finished_at']:%H:%M} UTC" if job["finished_at"] else ""
        text = f"Retraining stopped by {md(job['stopped_by'] or 'someone')}{when} ({who}); no version registered."
        if compact:
            st.caption(f":material/stop_circle: {text}")
        else:
            st.info(text, icon=":material/stop_circle:")
    else:
        st.error(f"Retraining failed ({who}): {md_message(job['error'])}", icon=":material/error:")
    if not compact and job["log"]:
        with st.expander("Job log", expanded=job["status"] == "failed"):
            st.code(job["log"], language=None)


def job_panel(store: Store, *, compact: bool) -> dict | None:
    """Show the newest job; poll every few seconds while it is queued or running.

    When a live job finishes, the whole page reruns once so lists and charts pick up the
    new version. Returns the job as first read (None before the first job).
    """
    try:
        job = retrain.latest(store)
    except RsadError as exc:
        st.caption(f"Training jobs unavailable: {md_message(str(exc))}")
        return None
    if job is None:
        return None
    live = job["status"] in retrain.LIVE

    def show() -> None:
        now = retrain.get(store, job["id"]) if live else job
        if live and now["status"] not in retrain.LIVE:
            st.rerun(scope="app")
        _render(now, compact=compact)

    st.fragment(run_every=POLL_S if live else None, key="job_sidebar" if compact else "job_page")(show)()
    return job
