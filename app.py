"""RSAD Review Desk: the Streamlit entry point (router and sidebar).

Run with `streamlit run serve.py` (this router plus the sign-in cookie route; `streamlit run
app.py` also works, with sign-in per browser tab). Everyone signs in first (views/login.py).
On a fresh store it builds the embedded demo in a background thread and shows its progress
until the first model is ready; a desk without users gets an admin whose password is printed
to this terminal.
"""

from __future__ import annotations

import streamlit as st

from rsad.errors import RsadError
from rsad.service import batches, models, policies
from rsad.service.batches import BackgroundJob
from views.common import base_store, bootstrap_job, current_user, get_store, show_error
from views.jobs_panel import job_panel
from views.login import account_box, announce_first_admin, signed_in_user
from views.projects_panel import project_box

st.set_page_config(page_title="RSAD Review Desk", page_icon=":material/policy:", layout="wide")


def show_bootstrap(job: BackgroundJob) -> None:
    """Build the demo in the background; a reload re-attaches to the same job."""
    st.title("RSAD Review Desk")
    st.write("This store is empty, so the embedded demo is being built: synthetic platform "
             "data, a starter model fine-tuned on this machine, and a scored batch to review. "
             "It takes a few minutes on a laptop CPU; you can leave this page open.")

    @st.fragment(run_every=1.0)
    def watch() -> None:
        state = job.snapshot()
        if state.status == "failed":
            show_error(f"Building the demo failed: {state.error}")
            st.info("Fix the cause and restart the app, or run `rsad demo` in a terminal to see each step.")
            return
        if state.status == "done":
            st.rerun(scope="app")
        st.progress(state.fraction, text=state.message or "Starting…")

    watch()
    st.stop()


try:
    store = base_store()  # the demo and sign-in live in the default project
    job = bootstrap_job()
    if batches.needs_bootstrap(store):
        job.start()  # no-op when already started by an earlier run
    if store.settings.bootstrap:
        announce_first_admin(store.settings)
except RsadError as exc:
    show_error(exc)
    st.stop()

# The router comes first, hidden until someone signs in: the URL's page and its query
# parameters (a link to a Review queue, say) are then where a sign-in lands, not Overview.
try:
    someone = current_user() is not None
except RsadError:
    someone = False  # signed_in_user below shows why
page = st.navigation([
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("views/upload.py", title="Upload", icon=":material/upload_file:"),
    st.Page("views/review.py", title="Review", icon=":material/fact_check:"),
    st.Page("views/start.py", title="Label to start", icon=":material/school:"),
    st.Page("views/labels.py", title="Labels", icon=":material/label:"),
    st.Page("views/thresholds.py", title="Thresholds", icon=":material/tune:"),
    st.Page("views/models.py", title="Models", icon=":material/model_training:"),
], position="sidebar" if someone else "hidden")
user = signed_in_user(store)  # the sign-in screen stops the run here until someone signs in

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
    project_box(store, user)
    if active:
        st.markdown(f"**Model** `{active.name}` · threshold **{active.threshold:.3f}**")
    else:
        # Also reached when a demo build stopped half-way: `rsad demo` resumes it.
        st.warning("No model in this project yet: upload a labeled file and train its first model, or "
                   "label a few cases to start.")
    job_panel(project, compact=True)  # the retraining job, live on every page
    # Where the store lives (a path, a database host) is for admins; the device is for everyone.
    shown = f" · Store: {store.location}" if policies.allowed(user, policies.Action.SEE_STORE_LOCATION) else ""
    st.caption(f"Device: {device}{shown}")

page.run()
