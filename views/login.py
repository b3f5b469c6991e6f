"""The sign-in screen and the sidebar's account box; app.py runs them before any page.

Not a page itself (app.py does not route to it): nothing behind the router runs until
:func:`signed_in_user` returns.
"""

from __future__ import annotations

import importlib.util
import json
from typing import TYPE_CHECKING

import streamlit as st

from rsad.config import Settings
from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import demo_server
from rsad.service import review as triage
from rsad.service import sessions as websessions
from rsad.service import users as auth
from views.common import USER_KEY, WEB_SESSION_KEY, current_user, forget_sign_in, oidc_configured, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store

# The role names as shown (the user file keeps the codes).
ROLES = {"analyst": N_("analyst"), "admin": N_("admin")}


def announce_first_admin(settings: Settings) -> None:
    """First start with no users: create the admin and print its password once, to the terminal
    that runs `streamlit run serve.py` (only the operator sees it there, never a browser)."""
    demo_server.announce_first_admin(settings)


def _sso_screen() -> None:
    st.write(_("Sign in with your organisation's account."))
    if importlib.util.find_spec("authlib") is None:
        st.error(_("Single sign-on is configured in .streamlit/secrets.toml but Authlib is missing: "
                   "`pip install 'rsad[oidc]'` on the server, then restart it."))
        return
    if st.button(_("Sign in with single sign-on"), key="login_sso", type="primary", icon=":material/login:"):
        st.login()


def _password_screen(store: Store) -> None:
    settings = store.settings
    if not auth.users_file(settings).load():
        st.warning(_("No users yet. In a terminal on the server: `rsad users add NAME --role admin`, "
                     "then reload this page."))
        return
    if auth.first_admin_pending(settings):
        st.info(_("First start: the admin user **{name}** was created with a random password, printed once "
                  "in the terminal that runs `streamlit run serve.py` (or by `rsad demo`). Lost it? "
                  "`rsad users passwd {name}` sets a new one.").format(name=auth.FIRST_ADMIN),
                icon=":material/key:")
    # Only right after a sign-out: a stale cookie (expired, revoked) signs nobody in anyway, and
    # clearing it here could clear the new one that a sign-in in another tab has just set.
    if st.session_state.pop(_CLEAR_COOKIE_KEY, False):
        _cookie_script("sign-out")
    if message := st.session_state.pop("_login_error", None):
        st.error(message, icon=":material/error:")
    with st.form("login_form"):
        st.text_input(_("User name"), key="login_name", autocomplete="username")
        st.text_input(_("Password"), type="password", key="login_password", autocomplete="current-password")
        st.form_submit_button(_("Sign in"), key="login_submit", type="primary", on_click=_attempt, args=(store,))
    if not websessions.cookie_route_mounted():
        st.caption(_("This sign-in lasts only as long as this browser tab: a reload signs you out. Start the "
                     "desk with `streamlit run serve.py` to keep it for {hours} hours.").format(
                         hours=settings.session_hours))


def _attempt(store: Store) -> None:
    """Form callback: runs before the next script run, so that run already sees the signed-in user."""
    name, password = st.session_state.get("login_name", ""), st.session_state.get("login_password", "")
    st.session_state["login_password"] = ""  # the password does not stay in the session
    try:
        user = auth.sign_in(store, name, password)
    except RsadError as exc:
        st.session_state["_login_error"] = str(exc)
        return
    st.session_state[USER_KEY] = user.name
    if websessions.cookie_route_mounted():
        try:
            ticket = websessions.create(store, user.name)
        except RsadError as exc:  # the sign-in still holds for this tab
            st.session_state["_login_notice"] = _("{error} This sign-in will not survive a reload.").format(
                error=exc)
            return
        st.session_state[WEB_SESSION_KEY] = ticket.token_hash
        st.session_state[_HANDOFF_KEY] = websessions.hand_off(ticket)


_HANDOFF_KEY = "_rsad_cookie_handoff"  # the one-time code the page trades for the sign-in cookie
_CLEAR_COOKIE_KEY = "_rsad_clear_cookie"
_COOKIE_JS = """<script>
window.parent.fetch(%s, {method: "POST", credentials: "same-origin",
                         headers: {"Content-Type": "application/json"}, body: JSON.stringify(%s)});
</script>"""


def _cookie_script(route: str, body: dict | None = None) -> None:
    """POST to serve.py's cookie route from the page: only a response can set or clear an
    HttpOnly cookie, and the token itself never reaches the page or a URL (only a one-time code)."""
    if not websessions.cookie_route_mounted():
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = f"/{base}/api/rsad/{route}" if base else f"/api/rsad/{route}"
    # Only our own URL and a code we generated go in (st.iframe runs it): never user content.
    st.iframe(_COOKIE_JS % (json.dumps(url), json.dumps(body or {})), height=1)


def _hand_off_cookie() -> None:
    """Until the browser has traded this sign-in's code for the cookie, keep the script on the page."""
    code = st.session_state.get(_HANDOFF_KEY)
    if code and websessions.handoff_pending(code):
        _cookie_script("session", {"code": code})
    else:
        st.session_state.pop(_HANDOFF_KEY, None)


def signed_in_user(store: Store) -> auth.User:
    """The signed-in user; otherwise the sign-in screen, and the run stops there."""
    try:
        user = current_user()
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if user is not None:
        if user.method == "oidc" and not st.session_state.get("_rsad_sso_recorded"):
            st.session_state["_rsad_sso_recorded"] = True
            auth.record(store, "login", user, detail="signed in (oidc)")
        return user
    st.title(_("RSAD Review Desk"))
    if oidc_configured():
        _sso_screen()
    else:
        _password_screen(store)
    st.stop()


def account_box(store: Store, user: auth.User) -> None:
    """Who is signed in, and the way out (for the sidebar)."""
    role = _(ROLES[user.role]) if user.role in ROLES else user.role
    st.text(_("Signed in as {name} ({role})").format(name=user.name, role=role))  # st.text: a name is never markup
    if notice := st.session_state.pop("_login_notice", None):
        st.warning(notice, icon=":material/warning:")
    _hand_off_cookie()
    if st.button(_("Sign out"), key="logout", icon=":material/logout:"):
        auth.record(store, "logout", user)
        triage.release_claims(store, user.name)  # their open case goes back to the others' queues
        if user.method == "oidc":
            st.logout()
        else:
            if token_hash := st.session_state.get(WEB_SESSION_KEY):
                websessions.revoke_hash(store, token_hash)  # the cookie signs nobody in from now on
                st.session_state[_CLEAR_COOKIE_KEY] = True
            st.session_state.pop(_HANDOFF_KEY, None)
            forget_sign_in()
            st.rerun()
