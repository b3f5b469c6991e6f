"""The Models page's actions that change what is live: retrain, stop, promote, roll back, rescore.

Each is one function, apart from the read-only views. Each needs the admin role
(rsad.auth.policies decides): anyone else sees the control disabled with the reason, and the rsad
function behind it refuses them too (a stale page). Every action is recorded with the signed-in
admin's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.progress import Rate, format_seconds
from rsad.service import jobs as retrain
from rsad.service import models
from rsad.service.policies import Action
from views.common import active_classifier, current_user, reason_denied, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.models import VersionInfo

NOTICE = "_models_notice"  # a success message shown once after the page reruns


def _denied_caption(reason: str | None) -> None:
    """Say under a disabled control why it is disabled (the tooltip alone is easy to miss)."""
    if reason:
        st.caption(f":material/lock: {reason}")  # the reason comes translated from the policy


def retrain_form(store: Store, *, busy: bool, active: VersionInfo | None) -> None:
    """Start a retraining job (detached; it keeps running when you leave the page)."""
    defaults = retrain.RetrainParams()
    sources = ["base", "active"] if active else ["base"]
    labels = {"base": _("the base model"),
              "active": _("the active version ({name})").format(name=active.name) if active else ""}
    with st.form("retrain_form"):
        st.markdown(_("**Retrain on this training set**"))
        c1, c2, c3 = st.columns([2, 1, 1])
        start_from = c1.radio(_("Start from"), sources, format_func=labels.get, key="rt_from")
        epochs = c2.number_input(_("Epochs"), 1, 20, defaults.epochs, key="rt_epochs")
        max_length = c3.number_input(_("Max length (tokens)"), 16, 512, defaults.max_length, step=16,
                                     key="rt_max_length")
        st.caption(_("Learning rate {lr:g}, batch size {bs}: the measured starter recipe. The new version is "
                     "registered as a candidate; nothing changes until you promote it.").format(
            lr=defaults.learning_rate, bs=defaults.batch_size))
        denied = reason_denied(Action.START_RETRAINING)
        submitted = st.form_submit_button(_("Start retraining"), key="rt_submit", type="primary",
                                          icon=":material/model_training:", disabled=busy or bool(denied),
                                          help=denied)
        _denied_caption(denied)
    if busy:
        st.caption(_("A training job is running: one at a time."))
    if not submitted:
        return
    params = retrain.RetrainParams(start_from=start_from, epochs=int(epochs), max_length=int(max_length))
    try:
        job = retrain.start(store, params, user=current_user())
    except RsadError as exc:
        show_error(exc)
        return
    st.session_state[NOTICE] = _("Started training job {id}. It runs in the background: you can leave this page; "
                                 "its progress is in the sidebar.").format(id=job["id"])
    st.rerun()


def stop_button(store: Store, job: dict) -> None:
    """Stop the running job; it is marked stopped (not failed) and leaves no version behind."""
    denied = reason_denied(Action.STOP_TRAINING)
    clicked = st.button(_("Stop this job"), key="stop_job", icon=":material/stop_circle:", disabled=bool(denied),
                        help=denied)
    _denied_caption(denied)
    if not clicked:
        return
    try:
        retrain.stop(store, job["id"], user=current_user())
    except RsadError as exc:
        show_error(exc)
        return
    st.session_state[NOTICE] = _("Asked training job {id} to stop.").format(id=job["id"])
    st.rerun()


def _rescore_now(store: Store, done_text: str) -> None:
    bar = st.progress(0.0, text=_("Rescoring…"))
    rate = Rate()

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0,
                     text=f"{message}: {rate.describe(done, total, _('cases'))}")

    try:
        out = models.rescore(store, user=current_user(), progress=progress, classifier=active_classifier())
    except RsadError as exc:
        show_error(exc)
        st.session_state[NOTICE] = f"{done_text} " + _("Rescoring stopped; press Rescore now to continue.")
        return
    st.session_state[NOTICE] = f"{done_text} " + _(
        "Rescored {n:,} cases with {model} ({unreviewed:,} unreviewed first) in {took}.").format(
        n=out["scored"], model=out["model"], unreviewed=out["unreviewed"], took=format_seconds(out["seconds"]))
    st.rerun()


def _switch_form(store: Store, action: str, choices: list[str], active: VersionInfo) -> None:
    promote = action == "promote"
    # Whole phrases per action: a translation may put the version name anywhere.
    verb = _("Promote") if promote else _("Roll back to")
    denied = reason_denied(Action.PROMOTE if promote else Action.ROLLBACK)
    with st.form(f"{action}_form"):
        target = choices[0]
        verb_target = (_("Promote {name}") if promote else _("Roll back to {name}")).format(name=target)
        if len(choices) == 1:
            st.markdown(_("**{action}**: it becomes active; {active} is retired (kept).").format(
                action=verb_target, active=active.name))
        else:
            target = st.selectbox(_("Retired version"), choices, key=f"{action}_version")
            st.markdown(_("The chosen version becomes active; {active} is retired (kept).").format(active=active.name))
        reason = st.text_input(_("Reason"), key=f"{action}_reason", placeholder=_("why (kept in the history)"))
        submitted = st.form_submit_button(verb_target if len(choices) == 1 else verb,
                                          key=f"{action}_submit",
                                          type="primary" if action == "promote" else "secondary",
                                          disabled=bool(denied), help=denied)
        _denied_caption(denied)
    if not submitted:
        return
    fn = models.promote if action == "promote" else models.rollback
    try:
        info = fn(store, target, user=current_user(), reason=reason)
    except RsadError as exc:
        show_error(exc)
        return
    done = _("Promoted {name}; {previous} retired.") if promote else _("Rolled back to {name}; {previous} retired.")
    _rescore_now(store, done.format(name=info.version.name, previous=info.previous))


def promote_form(store: Store, candidate: str, active: VersionInfo) -> None:
    """Make the candidate active (one recorded transaction), then rescore with it."""
    _switch_form(store, "promote", [candidate], active)


def rollback_form(store: Store, retired: list[str], active: VersionInfo) -> None:
    """Make a retired version active again (recorded), then rescore with it."""
    _switch_form(store, "rollback", retired, active)


def rescore_prompt(store: Store) -> None:
    """Offer to finish rescoring when the active version has not scored every case."""
    status = models.rescore_status(store)
    if not status or not (status["unreviewed"] + status["reviewed"]):
        return
    st.warning(_("{unreviewed:,} unreviewed and {reviewed:,} reviewed cases have no score from the active version "
                 "{model} yet: the review queue does not show them.").format(**status), icon=":material/warning:")
    denied = reason_denied(Action.RESCORE)
    if st.button(_("Rescore now"),
 key="rescore_button", icon=":material/refresh:", disabled=bool(denied), help=denied):
        _rescore_now(store, "")
    _denied_caption(denied)
