"""Review's verdicts: the form on the open case (keys a, n, u) and the bulk form for the ticked cases.

Both record in form callbacks, which run before the next run, so the page renders once, on
what comes next. ``me`` is who was signed in when the form was drawn: a callback records
nothing once someone else (or nobody) is signed in.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import N_, _, ngettext
from rsad.service import review as triage
from rsad.service.review import CaseView
from views.common import analyst, md, show_error
from views.review_filters import shown
from views.review_queue import SELECTED, clear_selection

if TYPE_CHECKING:
    from rsad.service.batches import Store

ss = st.session_state
BUTTONS = {"anomaly": N_("Anomaly"), "normal": N_("Normal"), "unsure": N_("Unsure")}  # the stored verdict's button


def reason_hint(store: Store) -> str:
    required = store.settings.require_reason_for
    if not required:
        return _("No reason (optional)")
    # The verdicts are stored codes, shown in the analyst's language.
    return _("Choose a reason (required for {verdicts})").format(
        verdicts=_(" and ").join(shown(label) for label in required))


# --- the open case ---------------------------------------------------------------------------------

def _submit_verdict(store: Store, me: str, label: str, case_id: int, name: str, key: str, pos: int, total: int,
                    status: str) -> None:
    """Verdict form callback (mouse or keyboard alike): runs before the next run, so the page
    renders once, on the next case. The reason is the one chosen in the box, or none."""
    if analyst() != me:  # signed out or removed since the form was drawn: the run shows sign-in
        return
    reason = ss.get("verdict_reason") or ""
    try:
        n = triage.record_verdicts(store, [case_id], label, analyst=me, reason_code=reason,
                                   note=ss.get("verdict_note", ""), submission=key)
    except RsadError as exc:
        ss["_verdict_error"] = str(exc)
        return
    ss.get("_case_keys", {}).pop(case_id, None)  # a later verdict on this case is a new submission
    ss.update(verdict_reason=None, verdict_note="")  # the next case starts with no reason chosen
    if n:
        ss["_toast"] = (_("{case}: {verdict} ({reason}).") if reason else _("{case}: {verdict}.")).format(
            case=md(name), verdict=shown(label), reason=md(reason))
    # An unreviewed-only queue drops the case, so the same position is already the next case.
    if status != "unreviewed":
        ss["case_pos"] = min(pos + 1, total - 1)


def verdict_form(store: Store, me: str, case: CaseView, *, taken: bool, pos: int, total: int, status: str) -> None:
    """The verdict buttons (keys a, n, u press them), the reason and note, earlier verdicts."""
    if message := ss.pop("_verdict_error", None):
        show_error(message)
    if ss.get("_form_case") != case.id:  # another case: a reason chosen for the last one does not carry over
        ss.update(_form_case=case.id, verdict_reason=None, verdict_note="")
    keys = ss.setdefault("_case_keys", {})
    key = keys.setdefault(case.id, uuid.uuid4().hex)  # one submission per opening of the case
    args = (case.id, case.external_id, key, pos, total, status)
    # Cleared by the callback once the verdict is recorded, not on submit: a refused verdict
    # (a reason this desk requires, a case someone else took) keeps what the analyst typed.
    with st.form("verdict_form"):
        st.markdown(_("**Verdict**  ·  keys: `a` anomaly, `n` normal, `u` unsure"))
        st.selectbox(_("Reason"), list(store.reason_codes), key="verdict_reason", index=None,
                     placeholder=reason_hint(store))
        st.text_area(_("Note"), key="verdict_note", height=80)
        b = st.columns(3)
        for col, label, primary in ((b[0], "anomaly", True), (b[1], "normal", False), (b[2], "unsure", False)):
            col.form_submit_button(_(BUTTONS[label]), key=f"verdict_{label}",
                                   type="primary" if primary else "secondary",
                                   on_click=_submit_verdict, args=(store, me, label, *args), disabled=taken)
    if case.verdicts:
        st.markdown(_("**Earlier verdicts**"))
        st.dataframe(pd.DataFrame(case.verdicts)[["created_at", "analyst", "label", "reason_code", "note"]],
                     hide_index=True, key="case_history",
                     column_config={"created_at": st.column_config.DatetimeColumn(_("when"), format="YYYY-MM-DD HH:mm"),
                                    "analyst": _("analyst"), "label": _("verdict"), "reason_code": _("reason"),
                                    "note": _("note")})


# --- the ticked cases ------------------------------------------------------------------------------

def _apply_bulk(store: Store, me: str, case_ids: list[int], key: str) -> None:
    """Bulk form callback: the cases listed on the form, once per submission key."""
    if analyst() != me:
        return
    label, reason = ss.get("bulk_label", "anomaly"), ss.get("bulk_reason") or ""
    try:
        n = triage.record_verdicts(store, case_ids, label, analyst=me, reason_code=reason,
                                   note=ss.get("bulk_note", ""), submission=key)
    except RsadError as exc:
        ss["_bulk_error"] = str(exc)
        return
    if not n:
        # A second press of a form already applied: the first press cleared its selection and
        # said so; whatever is ticked now was ticked since, and stays.
        return
    clear_selection()
    ss.update(bulk_reason=None, bulk_note="")
    said = (ngettext("Recorded {n} verdict: {verdict} ({reason}).", "Recorded {n} verdicts: {verdict} ({reason}).", n)
            if reason else ngettext("Recorded {n} verdict: {verdict}.", "Recorded {n} verdicts: {verdict}.", n))
    ss["_toast"] = said.format(n=n, verdict=shown(label), reason=md(reason))


def bulk_form(store: Store, me: str) -> None:
    """A verdict for every ticked case, listed by name before anything is written."""
    selected: dict[int, str] = ss.get(SELECTED) or {}
    if not selected:
        return
    ids, names = list(selected), list(selected.values())
    on_page = {cid for cid, _ in ss.get("_shown", [])}
    elsewhere = sum(cid not in on_page for cid in ids)
    listed = _(", ").join(md(n) for n in names[:5])
    if len(names) > 5:
        listed = _("{names} and {n:,} more").format(names=listed, n=len(names) - 5)
    key = ss.setdefault("_bulk_key", uuid.uuid4().hex)
    with st.container(border=True, key="bulk_box"):
        head = _("**Bulk verdict for {n:,} selected cases**: {names}").format(n=len(ids), names=listed)
        if elsewhere:
            head += _(" ({n:,} of them on other pages)").format(n=elsewhere)
        st.markdown(head)
        if message := ss.pop("_bulk_error", None):
            show_error(message)
        with st.form("bulk_form", border=False):  # cleared by _apply_bulk once recorded
            c1, c2, c3 = st.columns([1, 2, 3])
            c1.radio(_("Verdict"), ["anomaly", "normal", "unsure"], key="bulk_label", format_func=shown)
            c2.selectbox(_("Reason"), list(store.reason_codes), key="bulk_reason", index=None,
                         placeholder=reason_hint(store))
            c3.text_area(_("Note"), key="bulk_note", height=80)
            # Always the plural in English: tests/test_review_browser.py presses "Apply to 1 cases".
            st.form_submit_button(_("Apply to {n:,} cases").format(n=len(ids)), type="primary", key="bulk_submit",
                                  on_click=_apply_bulk, args=(store, me, ids, key))
        st.button(_("Clear selection"), key="bulk_clear", on_click=clear_selection)
