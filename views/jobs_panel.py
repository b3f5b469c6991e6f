"""The retraining job's state, read from the store: a short panel in every page's sidebar and
the full one (with the log) on the Models page. Both poll while a job is live."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.progress import format_seconds
from rsad.service import jobs as retrain
from views.common import md, md_message

if TYPE_CHECKING:
    from rsad.service.batches import Store

POLL_S = 2.0


def status_word(status: str) -> str:
    """A job's status (stored as a code) in the reader's language."""
    return {"queued": _("queued"), "running": _("running"), "done": _("done"), "failed": _("failed"),
            "stopped": _("stopped")}.get(status, status)


def _progress_text(job: dict) -> str:
    # The message is written by the job's own process (stored text, in the server's language).
    parts = [job["message"] or status_word(job["status"])]
    if job["total"]:
        parts.append(f"{100 * job['fraction']:.0f}%")
    if job["eta_s"] is not None and job["status"] == "running" and job["done"] < job["total"]:
        parts.append(_("about {time} left").format(time=format_seconds(job["eta_s"])))
    return " · ".join(parts)


def _render_scoring(job: dict, who: str, *, compact: bool) -> None:
    """A scoring run on Ray (``rsad score --engine ray``): its progress, or how it ended."""
    if job["status"] in retrain.LIVE:
        st.markdown(_("**Scoring on Ray** ({who})").format(who=who))
        st.progress(job["fraction"], text=_progress_text(job))
    elif job["status"] == "done":
        st.caption(":material/check_circle: " + _("Scoring on Ray done ({who}): {result}").format(
            who=who, result=md_message(job["message"])))
    elif job["status"] == "stopped":
        st.caption(":material/stop_circle: " + _("Scoring on Ray stopped by {user} ({who}); the scores written "
                                                 "so far are kept.").format(user=md(job["stopped_by"] or _("someone")),
                                                                           who=who))
    else:
        st.error(_("Scoring on Ray failed ({who}): {error}").format(who=who, error=md_message(job["error"])),
                 icon=":material/error:")
    if not compact and job["log"]:
        with st.expander(_("Job log"), expanded=job["status"] == "failed"):
            st.code(job["log"], language=None)


def _render(job: dict, *, compact: bool) -> None:
    who = _("job {id} by {user}").format(id=job["id"], user=md(job["created_by"]))
    if job["params"].get("kind") == "score":
        _render_scoring(job, who, compact=compact)
        return
    version = job["version_name"]
    if job["status"] in retrain.LIVE:
        st.markdown(_("**Retraining** ({who})").format(who=who) if compact else _(
            "**Retraining is {status}** ({who}, started {when} UTC)").format(
            status=status_word(job["status"]), who=who, when=f"{job['created_at']:%Y-%m-%d %H:%M}"))
        st.progress(job["fraction"], text=_progress_text(job))
    elif job["status"] == "done" and compact:
        st.caption(":material/check_circle: " + _("Last retraining ({who}) registered {version}.").format(
            who=who, version=version))
    elif job["status"] == "done" and (batch := job["params"].get("score_batch")):
        st.success(_("Training done ({who}): {version} is registered and has scored batch {batch}.").format(
            who=who, version=version, batch=md(repr(batch))), icon=":material/check_circle:")
    elif job["status"] == "done":
        st.success(_("Retraining done ({who}): {version} is registered; compare it below.").format(
            who=who, version=version), icon=":material/check_circle:")
    elif job["status"] == "stopped":
        # Someone chose this: shown neutrally, not as an error.
        by = md(job["stopped_by"] or _("someone"))
        text = (_("Retraining stopped by {user} at {when} UTC ({who}); no version registered.").format(
            user=by, when=f"{job['finished_at']:%H:%M}", who=who) if job["finished_at"] else
            _("Retraining stopped by {user} ({who}); no version registered.").format(user=by, who=who))
        if compact:
            st.caption(f":material/stop_circle: {text}")
        else:
            st.info(text, icon=":material/stop_circle:")
    else:
        st.error(_("Retraining failed ({who}): {error}").format(who=who, error=md_message(job["error"])),
                 icon=":material/error:")
    if not compact and job["log"]:
        with st.expander(_("Job log"), expanded=job["status"] == "failed"):
            st.code(job["log"], language=None)


def job_panel(store: Store, *, compact: bool) -> dict | None:
    """Show the newest job; poll every few seconds while it is queued or running.

    When a live job finishes, the whole page reruns once so lists and charts pick up the
    new version. Returns the job as first read (None before the first job).
    """
    try:
        job = retrain.latest(store)
    except RsadError as exc:
        st.caption(_("Training jobs unavailable: {error}").format(error=md_message(str(exc))))

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
