"""Overview's "Open cases" section: the project's cases not closed yet (open, in review,
escalated), counted per state, their oldest and median age, and how many fall in each age bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import cases
from views.common import show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store


def case_age_section(store: Store) -> None:
    """Counts per state, oldest and median age, and the age buckets as a bar chart."""
    st.subheader(_("Open cases"))
    try:
        ages = cases.age_summary(store)
    except RsadError as exc:
        show_error(exc)
        return
    cols = st.columns(6)
    for col, state in zip(cols, ("open", "in_review", "escalated"), strict=False):
        col.metric(_(cases.STATE_NAMES[state]), f"{ages['counts'][state]:,}")
    cols[3].metric(_("closed"), f"{ages['closed']:,}")
    days = _("{days:.1f} d")
    cols[4].metric(_("Oldest"), "–" if ages["oldest_days"] is None else days.format(days=ages["oldest_days"]),
                   help=_("Age counts from the batch's upload, or from the case's reopening. Cases labeled on "
                          "upload count only once someone moves them."))
    cols[5].metric(_("Median age"), "–" if ages["median_days"] is None else days.format(days=ages["median_days"]))
    if ages["total"]:
        chart = pd.DataFrame({_("age"): [_(b) for b in ages["buckets"]], _("cases"): list(ages["buckets"].values())})
        st.bar_chart(chart, x=_("age"), y=_("cases"), height=180, sort=False)
