"""One ring on the Rings page: what its members share, their timeline, the members (text, score,
verdict), their attributions side by side, and the verdict form for the whole ring."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pandas as pd
import plotly.express as px
import streamlit as st

from rsad.config import VERDICT_LABELS
from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import policies, rings
from rsad.service import review as triage
from views.common import classifier_loader, current_user, md, reason_denied, show_error
from views.review_filters import shown
from views.review_verdicts import reason_hint

if TYPE_CHECKING:
    from rsad.service.batches import Store

SIDE_BY_SIDE = 3  # members whose attributions are shown next to each other
PREVIEW = 200
TOAST = "_ring_toast"  # the last ring verdict's message, shown on the run after it
ss = st.session_state


def key_text(key: str) -> str:
    """A ring's stored key as the analyst reads it: "near-duplicate text" and the "+2" of further
    shared values in their language; the shared values themselves are data, shown as typed."""
    parts = [_("near-duplicate text") if part == rings.NEAR_DUPLICATE_KEY
             else _("+{n} more").format(n=int(part[1:])) if re.fullmatch(r"\+\d+", part) else part
             for part in key.split("; ")]
    return _("; ").join(parts)


def ring_detail(store: Store, ring_id: int) -> None:
    try:
        view = rings.ring_view(store, ring_id)
    except RsadError as exc:
        show_error(exc)
        return
    ring, members = view.ring, view.members
    st.subheader(_("Ring #{id}").format(id=ring["id"]))
    m = st.columns(4)
    m[0].metric(_("Members"), ring["size"])
    m[1].metric(_("Mean score"), f"{ring['mean_score']:.3f}")
    m[2].metric(_("Judged"), f"{view.judged} / {len(members)}")
    span = (ring["last_at"] - ring["first_at"]) if ring["first_at"] and ring["last_at"] else None
    m[3].metric(_("Time span"), _("{h:.1f} h").format(h=span.total_seconds() / 3600) if span is not None else "–")
    st.markdown(_("**Shared key:** {key}").format(key=md(key_text(ring["key"]))))
    if ring["retired"]:
        st.warning(_("A later recomputation no longer finds this ring; its verdicts still name it."))
    timeline(view)
    member_table(members)
    verdict_form(store, ring["id"], len(members) - view.judged)
    side_by_side(store, members[:SIDE_BY_SIDE])


def timeline(view: rings.RingView) -> None:
    timed = [m for m in view.members if m["time"] is not None and m["score"] is not None]
    if not timed:
        st.caption(_("No time column in these cases: no timeline."))
        return
    frame = pd.DataFrame({"time": [m["time"] for m in timed], "score": [m["score"] for m in timed],
                          "case": [m["external_id"] for m in timed]})
    fig = px.scatter(frame, x="time", y="score", hover_name="case",
                     labels={"time": view.time_column, "score": _("score")}, title=_("Members over time"))
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    st.plotly_chart(fig, key="ring_timeline")


def member_table(members: list[dict]) -> None:
    frame = pd.DataFrame({
        "case": [m["external_id"] for m in members], "score": [m["score"] for m in members],
        "verdict": [shown(m["verdict"]) if m["verdict"] else "" for m in members],
        "time": [m["time"] for m in members],
        "text": [m["text"][:PREVIEW] + ("…" if len(m["text"]) > PREVIEW else "") for m in members]})
    st.dataframe(frame, hide_index=True, key="ring_members", column_config={
        "case": _("case"), "score": st.column_config.NumberColumn(_("score"), format="%.3f"),
        "verdict": _("verdict"), "time": st.column_config.DatetimeColumn(_("time"), format="YYYY-MM-DD HH:mm"),
        "text": _("text")})


def verdict_form(store: Store, ring_id: int, open_members: int) -> None:
    """One verdict for every member not judged yet; members already judged keep their verdict."""
    if said := ss.pop(TOAST, None):
        st.toast(said, icon=":material/check:")
    denied = reason_denied(policies.Action.RECORD_VERDICT)
    keys = ss.setdefault("_ring_keys", {})
    key = keys.setdefault(ring_id, uuid.uuid4().hex)  # one submission per opening of the ring
    with st.form(f"ring_verdict_{ring_id}", border=True):
        st.markdown(_("**Verdict for the whole ring** ({n} members not judged yet; judged ones keep their "
                      "verdict)").format(n=open_members))
        c1, c2, c3 = st.columns([1, 2, 3])
        label = c1.radio(_("Verdict"), list(VERDICT_LABELS), key="ring_label", format_func=shown)
        reason = c2.selectbox(_("Reason"), list(store.reason_codes), key="ring_reason", index=None,
                              placeholder=reason_hint(store))
        note = c3.text_area(_("Note"), key="ring_note", height=80)
        submitted = st.form_submit_button(_("Record for the ring"), type="primary", key="ring_submit",
                                          disabled=denied is not None or open_members == 0, help=denied)
    if not submitted:
        return
    try:
        out = rings.record_ring_verdict(store, ring_id, label, user=current_user(), reason_code=reason or "",
                                        note=note, submission=key)
    except RsadError as exc:
        show_error(exc)
        return
    keys.pop(ring_id, None)  # a later verdict on this ring is a new submission
    # Said on the next run: a toast sent just before st.rerun() never reaches the browser.
    ss[TOAST] = _("Ring #{id}: {n} verdicts recorded, {m} members already judged kept theirs.").format(
        id=ring_id, n=out["recorded"], m=out["skipped"])
    st.rerun()


def side_by_side(store: Store, members: list[dict]) -> None:
    """The first members' attributions next to each other; missing ones are computed in the
    background (as Review explains ahead) and appear as they are ready."""
    if not members:
        return
    st.markdown(_("**Why these scores** (the first {n} members)").format(n=len(members)))
    cached = {m["id"]: triage.cached_explanation(store, m["id"]) for m in members}
    missing = [cid for cid, out in cached.items() if out is None]
    job, tried = ss.get("_ring_explain"), ss.setdefault("_ring_explain_tried", set())
    running = job is not None and job.snapshot().status in ("queued", "running")
    if not running and (todo := [c for c in missing if c not in tried]):
        tried.update(todo)  # once per case and session: a case that cannot be explained is not retried
        ss["_ring_explain"] = triage.start_explain_ahead(store, todo, classifier_loader())
        running = True
    st.fragment(run_every=3.0 if missing and running else None)(_columns)(store, members)


def _columns(store: Store, members: list[dict]) -> None:
    st.html(triage.legend_html())
    for col, m in zip(st.columns(len(members)), members):
        with col:
            st.caption(_("{case} · score {score}").format(
                case=md(m["external_id"]), score=f"{m['score']:.3f}" if m["score"] is not None else "–"))
            try:
                out = triage.cached_explanation(store, m["id"])
            except RsadError as exc:
                show_error(exc)
                continue
            if out is None:
                st.caption(_("Computing token attributions…"))
                continue
            st.html(triage.explanation_html(out["text"], out["explanation"]))
