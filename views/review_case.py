"""Review's open case: its claim, text, facts, verdict form, attributions and similar cases, and the
attributions of the next cases, computed while the analyst reads this one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import review as triage
from rsad.service.review import CaseView, QueueFilter, QueuePage
from views.case_state_panel import case_state_panel
from views.common import classifier_loader, md, show_error
from views.explain_panel import attribution_panel
from views.review_queue import PAGE_SIZE, step
from views.review_verdicts import verdict_form
from views.similar_panel import similar_panel

if TYPE_CHECKING:
    from rsad.service.batches import Store

LONG_TEXT = 1_200  # characters: a longer case text opens on its start, the rest one click away
ss = st.session_state


def open_wanted_case(store: Store, f: QueueFilter) -> None:
    """A URL named a case (a reload, a link): open it where it stands in this queue."""
    wanted = ss.pop("_want_case", None)
    if wanted is None:
        return
    try:
        pos = triage.queue_position(store, f, wanted)
    except RsadError as exc:
        show_error(exc)
        return
    if pos is None:
        ss["_toast"] = _("Case {case} from the link is not in this queue (reviewed, taken or filtered out).").format(
            case=wanted)
        return
    ss["case_pos"] = pos
    ss["queue_page"] = pos // PAGE_SIZE + 1


def case_text(text: str) -> None:
    """The case text as typed (st.text never renders markup); a long one opens on its start."""
    if len(text) <= LONG_TEXT:
        st.text(text)
        return
    st.text(text[:LONG_TEXT] + " …")
    st.caption(_("{n:,} characters; the attributions below open on excerpts around the words that "
                 "weigh most.").format(n=len(text)))
    with st.expander(_("Show all {n:,} characters").format(n=len(text))):
        st.text(text)


def case_facts(case: CaseView) -> None:
    m = st.columns(3)
    m[0].metric(_("Score"), f"{case.score:.3f}" if case.score is not None else _("not scored"),
                help=None if case.probability is None else
                _("Calibrated probability of an anomaly: {p:.1%}").format(p=case.probability))
    m[1].metric(_("Threshold"), f"{case.threshold:.3f}" if case.threshold is not None else "–")
    m[2].metric(_("Model"), case.model or "–")
    with st.expander(_("Metadata"), expanded=False):
        # The column headers are shown; the metadata names and values are the upload's data, as typed.
        st.dataframe(pd.DataFrame({_("field"): list(case.meta), _("value"): [str(v) for v in case.meta.values()]}),
                     hide_index=True, key="case_meta")
        if case.given_label is not None:
            st.caption(_("Label on upload: {label}").format(label=_("anomaly") if case.given_label else _("normal")))


def case_view(store: Store, me: str, case_id: int, pos: int, total: int, status: str) -> None:
    """The open case: claim, text, facts, verdict form and attributions."""
    try:
        case = triage.case_view(store, case_id, viewer=me)  # blind while it waits for my second opinion
        # Opening a case claims it for a few minutes (each rerun renews it); the queue of every
        # other analyst skips it meanwhile, and recording the verdict releases it.
        claim = triage.claim_case(store, case_id, me)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    taken = not claim["mine"]
    st.divider()
    head = st.columns([4, 1, 1])
    head[0].subheader(_("Case {case}  ·  {pos} of {total:,}").format(case=md(case.external_id), pos=pos + 1,
                                                                        total=total))
    head[1].button(_("Previous"), key="prev_case", icon=":material/arrow_back:", disabled=pos == 0,
                   help=_("Keyboard: k or ←"), on_click=step, args=("case_pos", -1, 0, total - 1))
    head[2].button(_("Next"), key="next_case", icon=":material/arrow_forward:", disabled=pos >= total - 1,
                   help=_("Keyboard: j or →"), on_click=step, args=("case_pos", 1, 0, total - 1))
    until = f"{claim['expires_at']:%H:%M}"
    if taken:
        st.warning(_("{analyst} has this case open until {until} UTC: your queue skips it from now on. "
                     "Press Next for another case.").format(analyst=md(claim["analyst"]), until=until),
                   icon=":material/lock_person:")
    else:
        st.caption(_("Open with you until {until} UTC; others' queues skip it meanwhile.").format(until=until))
    case_state_panel(store, case_id)  # state, assignee, age; assign, escalate, close (views/case_state_panel.py)
    if case.second_opinion:
        st.info(_("Second opinion: judge it without the first verdict. Another analyst has judged this case; "
                  "their verdict shows once you have recorded yours."), icon=":material/visibility_off:")
    left, right = st.columns([3, 2])
    with left:
        case_text(case.text)
        case_facts(case)
    with right:
        verdict_form(store, me, case, taken=taken, pos=pos, total=total, status=status)
    st.toggle(_("Show attributions only after my verdict"), key="attr_after_verdict",
              help=_("Highlights seen first can bias a verdict."))
    if ss.get("attr_after_verdict") and not any(v["analyst"] == me for v in case.verdicts):
        st.info(_("Attributions appear once you have recorded your verdict on this case."))
    else:
        attribution_panel(store, case_id)
    similar_panel(store, case_id)


def explain_ahead(store: Store, page: QueuePage, pos: int) -> None:
    """While the analyst reads this case, the next ones get their attributions (one job at a
    time per session; the model loads in that job, not in a page run)."""
    n_ahead = store.settings.explain_ahead
    ahead = ([r["id"] for r in page.rows[pos - page.offset + 1:][:n_ahead]]
             if n_ahead and page.offset <= pos else [])
    job = ss.get("_explain_ahead")
    if ahead and (job is None or job.snapshot().status not in ("queued", "running")):
        ss["_explain_ahead"] = triage.start_explain_ahead(store, ahead, classifier_loader())
