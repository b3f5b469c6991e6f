"""The token-attribution panel: a fragment, so computing it never blocks the rest of the page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from rsad.errors import RsadError, Superseded
from rsad.i18n import _
from rsad.service import review as triage
from views.common import active_classifier, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.models import Classifier

_RUN = "_explain_run"  # counts this session's attribution panel runs


@st.fragment
def attribution_panel(store: Store, case_id: int, classifier: Classifier | None = None, *,
                      version: str | None = None) -> None:
    """Highlighted original text and the top tokens for one case (cached in the store).

    ``version``: explain under that model version instead of the active one. ``classifier``:
    that version's, loaded by the caller; None loads the active one, and only when needed.
    """
    from rsad.service.review import explanation_html, legend_html, top_words_figure
    st.markdown(_("**Why {version} scores it so**").format(version=version) if version else _("**Why this score**"))
    # Streamlit cannot stop a run that is inside a long torch call: after a quick verdict the
    # old run lives on in its thread. Such a run must not compute attributions nobody will see.
    run = st.session_state[_RUN] = st.session_state.get(_RUN, 0) + 1
    try:
        # From the cache first: precomputed cases need no model, so a page with a cached case
        # never waits for the model to load.
        out = triage.cached_explanation(store, case_id, version=version)
        if out is None:
            if classifier is None and version is None:
                classifier = active_classifier()
            if classifier is None:
                st.info(_("No active model: nothing to explain."))
                return
            with st.spinner(_("Computing token attributions…")):
                out = triage.explanation(store, case_id, classifier, version=version,
                                         wanted=lambda: st.session_state.get(_RUN) == run)
    except Superseded:
        return  # a newer run of this panel is on screen
    except RsadError as exc:
        show_error(exc)
        return
    expl = out["explanation"]
    st.html(legend_html())
    st.html(explanation_html(out["text"], expl))
    if expl.large_delta:
        st.warning(_("Convergence delta {delta:.3f} is large: read these attributions with care.").format(
            delta=expl.delta))
    st.caption(_("Layer Integrated Gradients, {steps} steps · delta {delta:.4f} · {source}").format(
        steps=expl.n_steps, delta=expl.delta,
        source=_("from cache") if out["cached"] else _("computed in {s:.2f} s").format(s=expl.seconds)))
    # One key per panel, not per case: with the case id in the key every verdict -> next case
    # remounted the chart in the browser (docs/decisions/0006-review-fragment-and-chart-key.md).
    st.plotly_chart(top_words_figure(expl), key=f"top_words_{version or 'active'}")
