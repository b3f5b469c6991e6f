"""Foreign batches and drift on the pages: the warning for a batch that looks unlike what its
model was validated on, and the checks of every batch in a chart (Overview)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from rsad.i18n import N_, _, ngettext
from rsad.service import drift
from views.common import get_store, md

SHOWN = 3  # foreign batches warned about one by one on the Overview; the rest are counted
MEASURES = {"psi": "PSI", "ks": "KS", "flagged_share": N_("flagged share"),
            "reference_flagged_share": N_("flagged share on validation"), "unknown_token_share": N_("unknown tokens")}


def foreign_warning(check: dict[str, Any] | None) -> None:
    """The warnings a stored batch check gives: too many unknown tokens (the model cannot read the
    batch), then, when it adds something, the foreign-batch warning naming the numbers."""
    if check and (unreadable := drift.unreadable_warning(get_store(), check)):
        st.warning(_("Batch **{batch}**: {text}").format(batch=md(check["batch"]), text=unreadable),
                   icon=":material/translate:")
    if drift.drift_shown(check):
        st.warning(_("Batch **{batch}** looks foreign to model {model}: {numbers}.").format(
            batch=md(check["batch"]), model=md(check["model"]), numbers=drift.describe(check))
            + " " + _(drift.ADVICE), icon=":material/travel_explore:")


def batch_warning(batch_id: int | None) -> None:
    """The warning for one batch of the active model, if it looks foreign (Upload, Review)."""
    if batch_id is not None:
        foreign_warning(drift.batch_check(get_store(), int(batch_id)))


def drift_chart(rows: list[dict[str, Any]]) -> None:
    """PSI, KS, flagged share (and its validation value) and unknown-token share per batch in
    upload order, one line each; foreign batches marked with an x."""
    if not rows:
        st.caption(_("No batch checks yet: they are made when a batch is scored."))
        return
    table = pd.DataFrame(rows)
    x = [f"{i + 1}. {name}" for i, name in enumerate(table["batch"])]
    fig = go.Figure()
    for column, label in MEASURES.items():
        dash = "dot" if column == "reference_flagged_share" else None
        fig.add_scatter(x=x, y=table[column], name=_(label), mode="lines+markers", line_dash=dash)
    foreign = table["foreign"].astype(bool)
    fig.add_scatter(x=[x[i] for i in range(len(x)) if foreign.iloc[i]], y=[0] * int(foreign.sum()),
                    name=_("foreign batch"), mode="markers", marker=dict(symbol="x", size=12, color="#d62728"))
    fig.add_hline(y=0.25, line_dash="dash", line_color="#999", annotation_text=_("PSI 0.25: major shift"))
    fig.update_layout(xaxis_title=_("batch (upload order)"), yaxis_title=_("value"), height=340,
                      margin=dict(t=30, b=40), legend_orientation="h")
    st.plotly_chart(fig, key="drift_chart")
    st.dataframe(table[["batch", "rows", "flagged_share", "reference_flagged_share", "psi", "ks",
                        "unknown_token_share", "foreign"]], key="drift_table", hide_index=True,
                 column_config={"batch": _("batch"), "rows": _("rows"), "foreign": _("foreign"),
                                **{c: _(label) for c, label in MEASURES.items() if c not in ("psi", "ks")}})
    st.caption(_("PSI < 0.1: stable, 0.1-0.25: moderate, > 0.25: a major shift of the score distribution; "
                 "KS is the largest gap between the two score distributions (0 to 1)."))


def overview_section() -> None:
    """Warnings for foreign batches, then the checks across batches (Overview)."""
    rows = drift.batch_checks(get_store())
    foreign = [r for r in rows if r["foreign"]]  # unknown tokens alone make a batch foreign too
    for row in foreign[-SHOWN:]:
        foreign_warning(row)
    if len(foreign) > SHOWN:
        more = len(foreign) - SHOWN
        st.caption(ngettext("{n} more batch looks foreign: see the chart below.",
                            "{n} more batches look foreign: see the chart below.", more).format(n=more))
    with st.expander(_("Drift across batches"), icon=":material/monitoring:"):

        drift_chart(rows)
