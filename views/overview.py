"""Overview: the active model, store totals and every batch with its counts."""

from typing import Any

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import batches, models
from rsad.service.policies import Action
from views.case_age_panel import case_age_section
from views.common import current_user, get_store, md, reason_denied, show_error
from views.drift_panel import overview_section


def active_model(active: models.VersionInfo | None) -> None:
    """The active version's threshold, validation numbers and what it learned from."""
    if active:
        m = active.metrics
        st.subheader(_("Active model {name}").format(name=md(active.name)))
        cols = st.columns(5)
        cols[0].metric(_("Threshold"), f"{active.threshold:.3f}")
        cols[1].metric(_("Validation F1"), f"{m.get('f1', float('nan')):.3f}")
        cols[2].metric(_("ROC-AUC"), f"{m.get('roc_auc', float('nan')):.3f}")
        cols[3].metric(_("PR-AUC"), f"{m.get('pr_auc', float('nan')):.3f}")
        fitted, held_out = models.trained_on(m)
        cols[4].metric(_("Trained on"), fitted, held_out, delta_color="off", delta_arrow="off",
                       help=_("Cases the model learned from; the validation cases, held out, set its threshold "
                              "and the metrics beside this."))
        st.caption(_("Base model: {base} · created {when} by {user}").format(
            base=md(active.base_model), when=f"{active.created_at:%Y-%m-%d %H:%M}",
            user=md(active.created_by or _("unknown"))))
    else:
        st.info(_("No model in this project yet: upload a labeled file and train its first model (Upload), or "
                  "label a few cases to start (Label to start)."))


def store_totals(totals: dict[str, int]) -> None:
    st.subheader(_("Store"))
    cols = st.columns(4)
    cols[0].metric(_("Batches"), f"{totals['batches']:,}")
    cols[1].metric(_("Cases"), f"{totals['cases']:,}")
    cols[2].metric(_("Labeled on upload"), f"{totals['labeled']:,}")
    cols[3].metric(_("Verdicts"), f"{totals['verdicts']:,}")


def batches_table(rows: list[dict[str, Any]]) -> None:
    table = pd.DataFrame(rows)[
        ["name", "rows", "labeled", "scored", "flagged", "reviewed", "skipped", "uploader", "created_at", "file_name"]
    ]
    st.dataframe(
        table, key="batches_table", hide_index=True, width="stretch",
        column_config={
            "name": _("name"), "rows": _("rows"), "labeled": _("labeled"), "scored": _("scored"),
            "reviewed": _("reviewed"), "uploader": _("uploader"), "file_name": _("file name"),
            "created_at": st.column_config.DatetimeColumn(_("uploaded"), format="YYYY-MM-DD HH:mm"),
            "flagged": st.column_config.NumberColumn(
                _("flagged"), help=_("Cases at or above the active model's threshold")),
            "skipped": st.column_config.NumberColumn(
                _("skipped"), help=_("Rows of the file left out on upload (`rsad skipped BATCH` lists them)")),
        },
    )


def delete_batch_box(rows: list[dict[str, Any]]) -> None:
    """Delete a batch by its name, typed again to confirm (admins; others see it disabled)."""
    denied = reason_denied(Action.DELETE_BATCH)
    with st.expander(_("Delete a batch (admin)"), icon=":material/delete:"):
        st.write(_("Deletes the batch with its cases, scores and **verdicts**. Export the labels first "
                   "(Labels page) if you may need them."))
        by_name = {b["name"]: b for b in rows}
        doomed = st.selectbox(_("Batch"), list(by_name), key="delete_batch_name", index=None,
                              placeholder=_("choose a batch"), disabled=bool(denied))
        confirm = st.text_input(_("Type the batch name to confirm"), key="delete_batch_confirm",
                                disabled=bool(denied))
        if denied:
            st.caption(f":material/lock: {denied}")
        if st.button(_("Delete batch"), key="delete_batch_button", type="primary",
                     disabled=bool(denied) or doomed is None, icon=":material/delete_forever:", help=denied):
            try:
                gone = batches.delete_batch(get_store(), by_name[doomed]["id"] if doomed in by_name else str(doomed),
                                       user=current_user(), confirm=confirm)
            except RsadError as exc:
                show_error(exc)
            else:
                st.session_state["_deleted_batch"] = _(
                    "Deleted batch {name}: {cases:,} cases, {verdicts:,} verdicts.").format(**gone)
                st.rerun()


st.title(_("Overview"))
if message := st.session_state.pop("_deleted_batch", None):
    st.success(message)
try:
    info = batches.overview(get_store())
except RsadError as exc:
    show_error(exc)
    st.stop()
active_model(info["active"])
store_totals(info["totals"])
if not info["batches"]:
    st.info(_("No batches in this project yet: upload one on the Upload page."))

    st.stop()
batches_table(info["batches"])
case_age_section(get_store())
overview_section()
delete_batch_box(info["batches"])
