"""What every page shares: the cached store, the analyst's identity, error display."""

from __future__ import annotations

import streamlit as st

from rsad import api
from rsad.demo import bootstrap
from rsad.jobs import BackgroundJob


@st.cache_resource(show_spinner="Opening the label store…")
def get_store():  # noqa: ANN201
    """One engine per server process; sessions are opened per operation, never cached."""
    return api.open_store()


@st.cache_resource(show_spinner=False)
def bootstrap_job() -> BackgroundJob:
    """The demo bootstrap of this server process (created idle; app.py starts it once)."""
    store = get_store()
    return BackgroundJob("demo bootstrap", lambda progress: bootstrap(store, progress=progress))


def analyst() -> str:
    """The analyst named in the sidebar ('' when nobody has said who they are)."""
    return (st.session_state.get("analyst") or "").strip()
