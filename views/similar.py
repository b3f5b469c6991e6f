"""Similar cases: paste a behaviour description, list the project's cases the active model sees
as nearest (any language the model reads: Chinese too), with their scores and verdicts."""

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import similar as sim
from views.common import active_classifier, current_user, get_store, md, show_error
from views.similar_panel import K_CHOICES, backfill_box, neighbour_table

store = get_store()
user = current_user()
st.title(_("Similar cases"))
try:
    with st.spinner(_("Reading the case vectors…")):
        status = sim.vector_status(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
if status is None:
    st.info(_("No active model in this project yet: similar cases compare what a model read."))
    st.stop()
model, indexed, missing = status
st.caption(_("{n:,} cases of this project have a vector under {model}.").format(n=indexed, model=md(model)))
backfill_box(store, user, missing, model, key="search_backfill")
text = st.text_area(_("A behaviour description"), key="similar_text", height=120,
                    placeholder=_("Paste a case text, e.g. 'placed 40 orders in 3 minutes from 12 devices'"))
k = st.segmented_control(_("How many"), K_CHOICES, default=10, key="similar_search_k") or 10
if st.button(_("Find similar cases"), key="similar_search", type="primary", icon=":material/search:"):
    try:
        st.session_state["_similar_found"] = sim.search_by_example(store, user, text, k=int(k),
                                                                   classifier=active_classifier())
    except RsadError as exc:
        show_error(exc)
        st.stop()
found = st.session_state.get("_similar_found")
if found is not None and found.model == model:
    neighbour_table(found, key="similar_search_table")
