"""The sidebar's language switch: English or Chinese, remembered per user (RSAD_LANG before that)."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from rsad import i18n
from rsad.i18n import _
from rsad.service import language
from rsad.service.batches import Store
from rsad.service.users import User

LANG_KEY = "_rsad_lang"  # this tab's language; survives a project switch


def _session_language() -> str | None:
    # Library code translates in the page's thread, fragments included; elsewhere (background
    # jobs, the CLI) the server's default applies.
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(LANG_KEY)


def install() -> None:
    """Make every message of this page run follow the tab's language (called first in app.py)."""
    i18n.set_resolver(_session_language)


def load_for(store: Store, user: User) -> None:
    """On a tab's first run after sign-in, take the user's remembered language."""
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = language.language_of(store, user.name)


def _on_switch(store: Store, user: User | None, key: str) -> None:
    code = st.session_state[key]
    st.session_state[LANG_KEY] = language.remember_language(store, user.name if user else "", code)


def language_box(store: Store, user: User | None) -> None:
    """The switch; with nobody signed in (the sign-in screen) it applies to this tab only."""
    key = "language_switch" if user else "language_switch_signin"
    st.session_state[key] = i18n.language()
    st.selectbox(_("Language"), list(i18n.LANGUAGES), key=key, format_func=i18n.LANGUAGES.get,
                 on_change=_on_switch, args=(store, user, key))
