"""The sidebar's project switch, and forms for admins to create a project and change its settings."""

from __future__ import annotations

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import policies, projects, rings
from rsad.service.batches import Store
from rsad.service.users import User
from views.common import PROJECT_KEY, USER_KEY, WEB_SESSION_KEY, md, reason_denied, show_error

KEEP = {USER_KEY, WEB_SESSION_KEY, PROJECT_KEY}  # a project switch keeps the sign-in, drops the rest


def switch_to(store: Store, user: User, name: str) -> None:
    """Work in project ``name`` from now on (this tab, and this user's next sign-in anywhere)."""
    projects.remember_project(store, user.name, name)
    for key in [k for k in st.session_state if k not in KEEP and not str(k).startswith("_rsad")]:
        del st.session_state[key]  # filters, selections and results belong to the old project
    st.session_state[PROJECT_KEY] = name
    st.query_params.clear()  # a batch or case in the URL is the old project's


def _on_switch(store: Store, user: User) -> None:
    switch_to(store, user, st.session_state["project_switch"])


def project_box(store: Store, user: User) -> None:
    """Which project the pages show (remembered per user) and, for admins, a new one."""
    names = projects.project_names(store)
    current = st.session_state.get(PROJECT_KEY, names[0])
    st.session_state["project_switch"] = current
    st.selectbox(_("Project"), names, key="project_switch", on_change=_on_switch, args=(store, user),
                 help=_("Each project has its own batches, labels, models and thresholds."))
    denied = reason_denied(policies.Action.MANAGE_PROJECTS)
    with st.popover(_("New project"), icon=":material/add:", disabled=denied is not None, help=denied):
        new_project_form(store, user)
    with st.popover(_("Project settings"), icon=":material/tune:", disabled=denied is not None, help=denied):
        settings_form(store, user, current)


def settings_form(store: Store, user: User, name: str) -> None:
    """Admins: the blind second opinions of project ``name`` and how its rings are found."""
    try:
        share = projects.second_opinion_share(store.in_project(name))
        ring = rings.ring_settings(store.in_project(name))
    except RsadError as exc:
        show_error(exc)
        return
    with st.form("project_settings", border=False):
        value = st.number_input(
            _("Second opinion share"), 0.0, projects.MAX_SECOND_OPINION, share, 0.01, format="%.3f",
            key="ps_second_opinion",
            help=_("The share of cases a second analyst judges blind, without seeing the first verdict; the Labels "
                   "page measures the agreement on them. 0 is off; {usual} is the usual choice.").format(
                       usual=projects.SUGGESTED_SECOND_OPINION))
        wanted = ring_fields(ring)
        if not st.form_submit_button(_("Save"), type="primary"):
            return
    try:
        saved = projects.set_second_opinion_share(store, name, value, user=user)
        if wanted != ring:
            rings.set_ring_settings(store, name, wanted, user=user)
    except RsadError as exc:
        show_error(exc)
        return
    st.toast(_("Project {name}: second opinion share {share:g} saved.").format(name=md(name), share=saved),
             icon=":material/check:")


def ring_fields(now: rings.RingSettings) -> rings.RingSettings:
    """The Rings page's settings, inside the project settings form."""
    st.markdown(_("**Rings**"))
    columns = st.text_input(_("Entity columns"), ", ".join(now.entity_columns), key="ps_entities",
                            help=_("Metadata columns that name a user, device, IP, shop... separated by commas: "
                                   "flagged cases sharing a value within the window form a ring."))
    time_column = st.text_input(_("Time column"), now.time_column, key="ps_time_column",
                                help=_("The metadata column with each case's time; empty: found by its name."))
    hours = st.number_input(_("Window (hours)"), 0.1, 24.0 * 365, now.window_hours, 1.0, key="ps_ring_window")
    cosine = st.number_input(_("Near-duplicate cosine"), 0.5, 1.0, now.near_duplicate_cosine, 0.01, format="%.2f",
                             key="ps_cosine", help=_("Texts at least this similar link their cases."))
    return rings.RingSettings(entity_columns=tuple(c.strip() for c in columns.split(",") if c.strip()),
                              time_column=time_column.strip(), window_hours=float(hours),
                              near_duplicate_cosine=float(cosine))


def new_project_form(store: Store, user: User) -> None:
    with st.form("new_project", clear_on_submit=False, border=False):
        name = st.text_input(_("Name"), key="np_name", placeholder=_("e.g. sms-spam"))
        description = st.text_input(_("What it detects"), key="np_description")
        base = st.text_input(_("Base model folder"), key="np_base",
                             help=_("A Hugging Face model folder its first model fine-tunes (for Chinese text, "
                                    "a Chinese or multilingual BERT). Empty: the desk's default."))
        codes = st.text_input(_("Reason codes"), key="np_codes",
                              help=_("Separated by commas. Empty: the desk's defaults."))
        per_class = st.number_input(_("Labels of each class before the first training"), 2, 10_000,
                                    projects.START_PER_CLASS, key="np_per_class")
        if not st.form_submit_button(_("Create"), type="primary"):
            return
    try:
        created = projects.add_project(store, name, user=user, base_model=base, description=description,
                                       reason_codes=tuple(codes.split(",")), start_per_class=int(per_class))
    except RsadError as exc:
        show_error(exc)
        return
    switch_to(store, user, created.name)
    st.toast(_("Project {name} created: upload a file to start.").format(name=md(created.name)),
             icon=":material/check:")
    st.rerun()
