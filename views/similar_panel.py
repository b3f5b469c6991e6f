"""Similar cases, shared by Review's open case and the search-by-example page: the neighbours
table, the summary line ("This looks like 12 confirmed anomaly cases (fake order: 9, ...)"),
and the button that embeds the cases scored before vectors were kept (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _, ngettext
from rsad.service import policies
from rsad.service import similar as sim
from views.common import active_classifier, current_user, md, reason_denied, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.similar import SimilarCases
    from rsad.service.users import User

K_CHOICES = (5, 10, 20, 50)


def verdict_word(verdict: str | None) -> str:
    return {"anomaly": _("anomaly"), "normal": _("normal"), "unsure": _("unsure")}.get(verdict or "", "–")


def summary_line(found: SimilarCases) -> str:
    """One line: how many neighbours are confirmed anomalies, by reason, and what the rest are."""
    s = found.summary
    n = len(found.neighbours)
    rest = _("{normal} normal · {unsure} unsure · {unreviewed} not reviewed, of the {n} nearest").format(
        normal=s.normal, unsure=s.unsure, unreviewed=s.unreviewed, n=n)
    if not s.anomaly:
        return _("None of the nearest cases is a confirmed anomaly: {rest}.").format(rest=rest)
    reasons = _(", ").join(_("{reason}: {n}").format(reason=md(r) if r else _("no reason"), n=c)
                           for r, c in s.reasons)
    return ngettext("This looks like {n} confirmed anomaly case ({reasons}); {rest}.",
                    "This looks like {n} confirmed anomaly cases ({reasons}); {rest}.",
                    s.anomaly).format(n=s.anomaly, reasons=reasons, rest=rest)


def neighbour_table(found: SimilarCases, key: str) -> None:
    """The neighbours, nearest first, with their scores, verdicts and reasons."""
    if not found.neighbours:
        st.info(_("No other case of this project has a vector under {model} yet.").format(model=md(found.model)))
        return
    st.markdown(summary_line(found))
    st.dataframe(pd.DataFrame({
        _("cosine"): [round(n.cosine, 3) for n in found.neighbours],
        _("case"): [n.external_id for n in found.neighbours],
        _("batch"): [n.batch for n in found.neighbours],
        _("score"): [n.score for n in found.neighbours],
        _("verdict"): [verdict_word(n.verdict) for n in found.neighbours],
        _("reason"): [n.reason_code for n in found.neighbours],
        _("text"): [n.snippet for n in found.neighbours],
    }), hide_index=True, key=key, column_config={_("score"): st.column_config.NumberColumn(format="%.3f")})


def backfill_box(store: Store, user: User | None, missing: int, model: str, key: str) -> None:
    """Say plainly that older cases have no vector, and let an admin embed them (with progress)."""
    if not missing:
        return
    st.caption(ngettext("{n:,} case of this project was scored by {model} before similar cases were kept: it "
                        "has no vector, so it is never listed here until it is embedded.",
                        "{n:,} cases of this project were scored by {model} before similar cases were kept: they "
                        "have no vector, so they are never listed here until they are embedded.",
                        missing).format(n=missing, model=md(model)))
    denied = reason_denied(policies.Action.EMBED_CASES)
    if not st.button(_("Embed them with {model}").format(model=model), key=key, disabled=denied is not None,
                     help=denied, icon=":material/hub:"):
        return
    bar = st.progress(0.0, text=_("Embedding…"))

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0, text=f"{message} {done:,} / {total:,}")

    try:
        done = sim.backfill(store, user, classifier=active_classifier(), progress=progress)
    except RsadError as exc:
        show_error(exc)
        return
    st.success(_("{n:,} cases embedded.").format(n=done), icon=":material/check_circle:")


def similar_panel(store: Store, case_id: int) -> None:
    """Review's "Similar cases" for the open case, shown while its toggle is on (it costs a query
    per rerun, so it stays off until an analyst wants it)."""
    if not st.toggle(_("Show similar cases"), key="similar_show",
                     help=_("The cases the model sees as nearest to this one, with their verdicts.")):
        return
    user = current_user()
    k = st.segmented_control(_("How many"), K_CHOICES, default=10, key="similar_k") or 10
    try:
        # The first look after a server start reads the version's vectors (seconds at 100,000 cases).
        with st.spinner(_("Reading the case vectors…")):
            found = sim.similar_cases(store, user, case_id, k=int(k))
    except RsadError as exc:
        show_error(exc)
        return
    st.subheader(_("Similar cases"))
    if not found.has_vector:
        st.info(_("This case was scored by {model} before similar cases were kept, so it has no vector to "
                  "compare yet.").format(model=md(found.model)))
    else:
        neighbour_table(found, key="similar_table")
    backfill_box(store, user, found.missing, found.model, key="similar_backfill")
