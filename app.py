"""RSAD Review Desk: the Streamlit entry point (router and sidebar).

Run with `streamlit run serve.py` (this router plus the sign-in cookie route; `streamlit run
app.py` also works, with sign-in per browser tab). Everyone signs in first (views/login.py).
On a fresh store it builds the embedded demo in a background thread and shows its progress
until the first model is ready; a desk without users gets an admin whose password is printed
to this terminal.
"""

from __future__ import annotations

import time

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.progress import eta_from_fraction, format_seconds
from rsad.service import batches, models, policies
from rsad.service.batches import BackgroundJob
from views import language_panel
from views.common import base_store, bootstrap_job, current_user, get_store, show_error
from views.jobs_panel import job_panel
from views.login import account_box, announce_first_admin, signed_in_user
from views.projects_panel import project_box

st.set_page_config(page_title="RSAD Review Desk", page_icon=":material/policy:", layout="wide")
language_panel.install()  # before any message: they follow this tab's language


def show_bootstrap(job: BackgroundJob) -> None:
    """Build the demo in the background; a reload re-attaches to the same job."""
    st.title(_("RSAD Review Desk"))
    st.write(_("This store is empty, so the embedded demo is being built: synthetic platform data, a starter "
               "model (the base encoder with a logistic head, no fine-tune) and a scored batch to review. "
               "It takes about a minute on a laptop CPU; you can leave this page open. A fine-tuned model "
               "follows in the background and replaces the starter only if it is better."))

    @st.fragment(run_every=1.0)
    def watch() -> None:
        state = job.snapshot()
        if state.status == "failed":
            show_error(_("Building the demo failed: {error}").format(error=state.error))
            st.info(_("Fix the cause and restart the app, or run `rsad demo` in a terminal to see each step."))
            return
        if state.status == "done":
            st.rerun(scope="app")
        eta = eta_from_fraction(time.time() - state.started, state.fraction)
        text = state.message or _("Starting…")
        if eta is not None:
            text = _("{message} · about {eta} left").format(message=text, eta=format_seconds(eta))
        st.progress(state.fraction, text=text)

    watch()
    st.stop()


try:
    store = base_store()  # the demo and sign-in live in the default project
    job = bootstrap_job()  # with `streamlit run serve.py`, started when the server started
    if batches.needs_bootstrap(store):
        job.start()  # no-op when already started (by serve.py, or an earlier run)
    if store.settings.bootstrap:
        announce_first_admin(store.settings)
except RsadError as exc:
    show_error(exc)
    st.stop()

# The router comes first, hidden until someone signs in: the URL's page and its query
# parameters (a link to a Review queue, say) are then where a sign-in lands, not Overview.
try:
    now_signed_in = current_user()
    someone = now_signed_in is not None
    admin = policies.allowed(now_signed_in, policies.Action.MANAGE_CASES)
except RsadError:
    someone = admin = False  # signed_in_user below shows why
if someone:
    language_panel.load_for(store, current_user())  # the page titles below are in the user's language
page = st.navigation([
    st.Page("views/overview.py", title=_("Overview"), icon=":material/dashboard:", default=True),
    st.Page("views/upload.py", title=_("Upload"), icon=":material/upload_file:"),
    st.Page("views/review.py", title=_("Review"), icon=":material/fact_check:"),
    st.Page("views/improve.py", title=_("Label to improve"), icon=":material/trending_up:"),
    st.Page("views/start.py", title=_("Label to start"), icon=":material/school:"),
    st.Page("views/similar.py", title=_("Similar cases"), icon=":material/join_inner:"),
    st.Page("views/labels.py", title=_("Labels"), icon=":material/label:"),
    st.Page("views/second_look.py", title=_("Second look"), icon=":material/find_replace:"),
    st.Page("views/rings.py", title=_("Rings"), icon=":material/hub:"),
    # Admins only: the escalated cases wait for their decision (the page checks the role again).
    *([st.Page("views/escalated.py", title=_("Escalated"), icon=":material/priority_high:")] if admin else []),
    st.Page("views/thresholds.py", title=_("Thresholds"), icon=":material/tune:"),
    st.Page("views/models.py", title=_("Models"), icon=":material/model_training:"),
], position="sidebar" if someone else "hidden")
if not someone:
    with st.sidebar:
        language_panel.language_box(store, None)  # the sign-in screen in the reader's language
user = signed_in_user(store)  # the sign-in screen stops the run here until someone signs in
language_panel.load_for(store, user)

try:
    if job.snapshot().status in ("running", "failed"):
        show_bootstrap(job)
    project = get_store()  # the project this user works in (the sidebar switches it)
    active = models.active_version(project)
    device = models.device_label(store.settings)
except RsadError as exc:
    show_error(exc)
    st.stop()

with st.sidebar:
    account_box(store, user)
    language_panel.language_box(store, user)
    project_box(store, user)
    if active:
        st.markdown(_("**Model** `{name}` · threshold **{threshold:.3f}**").format(
            name=active.name, threshold=active.threshold))
    else:
        # Also reached when a demo build stopped half-way: `rsad demo` resumes it.
        st.warning(_("No model in this project yet: upload a labeled file and train its first model, or "
                     "label a few cases to start."))
    job_panel(project, compact=True)  # the retraining job, live on every page
    # Where the store lives (a path, a database host) is for admins; the device is for everyone.
    shown = (_(" · Store: {location}").format(location=store.location)
             if policies.allowed(user, policies.Action.SEE_STORE_LOCATION) else "")
    st.caption(_("Device: {device}").format(device=device) + shown)

page.run()
