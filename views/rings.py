"""Rings: groups of a batch's flagged cases that share an entity (a device, an IP, a shop) within a
time window, or whose texts are near-duplicates; largest first. Opening one shows its members,
what they share, a timeline and their attributions side by side (views/ring_panel.py), and one
verdict records a verdict on each member not yet judged, naming the ring."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _, ngettext
from rsad.service import review as triage
from rsad.service import rings
from views.common import get_store, md, show_error
from views.ring_panel import key_text, ring_detail

ss = st.session_state
store = get_store()


def settings_line() -> None:
    """What links cases in this project, and where admins change it."""
    s = rings.ring_settings(store)
    if s.entity_columns:
        st.caption(_("Linked: flagged cases sharing {columns} within {hours:g} hours (time: {time}), or with "
                     "near-duplicate texts ({vectors}, cosine ≥ {cosine:g}). Rings of {n} or more cases.").format(
            columns=", ".join(md(c) for c in s.entity_columns), hours=s.window_hours,
            time=md(s.time_column) if s.time_column else _("found in the data"), vectors=_(rings.VECTORS),
            cosine=s.near_duplicate_cosine, n=rings.MIN_RING))
    else:
        st.info(_("This project names no entity columns, so only near-duplicate texts link cases. An admin sets "
                  "them in the sidebar's Project settings (or `rsad projects set NAME --entities user_id,device_id`)."),
                icon=":material/info:")


def pick_batch() -> dict | None:
    listed = triage.batches(store)
    if not listed:
        st.info(_("No batches in this project yet: upload one first."))
        return None
    names = [b["name"] for b in listed]
    default = names.index("demo-batch") if "demo-batch" in names else 0
    name = st.selectbox(_("Batch"), names, index=default, key="rings_batch")
    return next(b for b in listed if b["name"] == name)


def rings_table(found: list[dict]) -> None:
    frame = pd.DataFrame(found)[["id", "size", "key", "mean_score", "first_at", "last_at"]]
    frame["key"] = frame["key"].map(key_text)
    st.dataframe(frame, hide_index=True, key="rings_table", column_config={
        "id": _("ring"), "size": _("members"), "key": _("shared key"),
        "mean_score": st.column_config.NumberColumn(_("mean score"), format="%.3f"),
        "first_at": st.column_config.DatetimeColumn(_("first"), format="YYYY-MM-DD HH:mm"),
        "last_at": st.column_config.DatetimeColumn(_("last"), format="YYYY-MM-DD HH:mm")})


def main() -> None:
    st.title(_("Rings"))
    st.caption(_("Coordinated accounts: flagged cases of a batch that share a user, device, IP or shop within a "
                 "time window, or post near-duplicate texts. One verdict on a ring records it for each member."))
    try:
        settings_line()
        batch = pick_batch()
        if batch is None:
            st.stop()
        found = rings.list_rings(store, batch["id"])
        recompute = st.button(_("Recompute rings"), key="rings_recompute", icon=":material/refresh:",
                              help=_("Group the batch's flagged cases again (after new scores or settings); a ring "
                                     "found again keeps its id."))
        if recompute or (not found and ss.get("_rings_computed") != batch["id"]):
            with st.spinner(_("Grouping the flagged cases…")):
                found = rings.compute_rings(store, batch["id"])
            ss["_rings_computed"] = batch["id"]  # computed once per batch and visit, then on request
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if not found:
        st.success(_("No rings in batch {batch}: no {n} flagged cases share an entity or a near-duplicate "
                     "text.").format(batch=md(batch["name"]), n=rings.MIN_RING), icon=":material/check_circle:")
        st.stop()
    st.markdown(ngettext("**{n} ring** in batch {batch}, largest first:", "**{n} rings** in batch {batch}, "
                         "largest first:", len(found)).format(n=len(found), batch=md(batch["name"])))
    rings_table(found)
    ids = [r["id"] for r in found]
    by_id = {r["id"]: r for r in found}
    ring_id = st.selectbox(_("Open ring"), ids, key="rings_open", format_func=lambda i: _(
        "#{id} · {n} members · {key}").format(id=i, n=by_id[i]["size"], key=key_text(by_id[i]["key"])))
    ring_detail(store, int(ring_id))


main()
