"""The Labels page's agreement between analysts: Fleiss' kappa over everyone, Cohen's kappa per
pair, each with its Landis & Koch reading, and the project's blind second opinions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.i18n import N_, _
from rsad.service import labels as label_service

if TYPE_CHECKING:
    from rsad.service.batches import Store

# Landis & Koch's bands, as rsad.review.agreement names them.
BANDS = {"poor": N_("poor (worse than chance)"), "slight": N_("slight"), "fair": N_("fair"),
         "moderate": N_("moderate"), "substantial": N_("substantial"), "almost perfect": N_("almost perfect")}


def band_name(code: str | None) -> str:
    return _(BANDS[code]) if code in BANDS else "–"


def fleiss_summary(store: Store) -> None:
    overall = label_service.overall_agreement(store)
    if overall["kappa"] is None:
        st.caption(_("Fleiss' kappa appears once two analysts have judged the same case."))
        return
    kappa = overall["kappa"]
    m = st.columns(3)
    m[0].metric(_("Fleiss' kappa"), "–" if kappa != kappa else f"{kappa:.3f}",
                help=_("Agreement of all analysts at once, beyond what chance would give: 1 is full agreement, "
                       "0 no better than chance."))
    m[1].metric(_("Cases judged by several analysts"), f"{overall['cases']:,}")
    m[2].metric(_("Analysts"), f"{overall['analysts']:,}")
    st.markdown(_("Reading (Landis & Koch): **{band}** agreement; {p:.1%} of analyst pairs on a case agree.").format(
        band=band_name(overall["band"]), p=overall["agreement"]))
    st.caption(_("Each analyst's latest verdict counts, and 'unsure' is a verdict of its own. Fleiss' kappa needs "
                 "the same number of analysts on every case: it takes {n}, the number that uses the most verdicts; "
                 "cases with fewer analysts are left out, and on cases with more the first {n} to judge them "
                 "count.").format(n=overall["raters"]))


def second_opinion_note(store: Store) -> None:
    second = label_service.second_opinions(store)
    if second["share"] <= 0:
        st.caption(_("Blind second opinions are off in this project. An admin can send a share of the cases "
                     "(0.05 is the usual choice) to a second analyst, who judges them without seeing the first "
                     "verdict: Project settings, in the sidebar."))
        return
    st.caption(_("Blind second opinions: {pct:g}% of the cases go to a second analyst. Judged twice that way: "
                 "{n:,} (counted in the kappas here); waiting for a second verdict: {waiting:,}.").format(
        pct=second["share"] * 100, n=second["double_judged"], waiting=second["waiting"]))


def agreement_section(store: Store) -> None:
    """Fleiss' kappa, the second opinions, then Cohen's kappa per pair."""
    st.subheader(_("Agreement between analysts"))
    fleiss_summary(store)
    second_opinion_note(store)
    kappa = label_service.agreement(store)
    if kappa.empty:
        st.caption(_("Cohen's kappa appears once two analysts have both judged at least two of the same cases."))
        return
    kappa["reading"] = kappa["kappa"].map(lambda k: band_name(label_service.kappa_band(k)))
    st.dataframe(kappa, key="agreement_table", hide_index=True,
                 column_config={"kappa": st.column_config.NumberColumn(_("Cohen's kappa"), format="%.3f"),
                                "agreement": st.column_config.NumberColumn(_("raw agreement"), format="%.1%"),
                                "analyst_a": _("analyst A"), "analyst_b": _("analyst B"),
                                "shared_cases": _("shared cases"), "reading": _("reading (Landis & Koch)")})
