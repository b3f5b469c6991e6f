"""What every page shares: the cached store, the signed-in user, the bootstrap job."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from rsad.config import get_settings
from rsad.i18n import N_, _
from rsad.service import batches, demo_server, models, policies, projects
from rsad.service import sessions as websessions
from rsad.service import users as auth
from rsad.service.batches import BackgroundJob

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.models import Classifier


class _Later(str):
    """A message translated each time Streamlit reads it (``str()``): a cache's show_spinner is
    fixed when this module loads, before any reader has chosen a language."""

    def __str__(self) -> str:
        return _(str.__str__(self))


@st.cache_resource(show_spinner=_Later(N_("Opening the label store…")))
def _store_for(db_url: str) -> Store:
    # The default project, whatever RSAD_PROJECT says (that is the CLI's): sign-in and the demo live
    # there, and get_store() moves each user to their own project.
    return batches.open_store(project="default")


def base_store() -> Store:
    """One engine per server process and store URL, in the default project (sign-in, the demo)."""
    return _store_for(get_settings().db_url)


PROJECT_KEY = "_rsad_project"  # the project this tab works in; the sidebar switches it (views/projects_panel.py)


def get_store() -> Store:
    """The store in the signed-in user's project (remembered per user in the store); sessions
    are opened per operation, on the one engine of this server process."""
    base = base_store()
    name = st.session_state.get(PROJECT_KEY)
    if name is None:
        user = current_user()
        name = projects.current_project(base, user.name if user else "")
        if user is not None:
            st.session_state[PROJECT_KEY] = name
    return base.in_project(name)




def bootstrap_job() -> BackgroundJob:
    """This server process's demo bootstrap (the one serve.py started at server start, else created
    idle; app.py starts it on a fresh store): shared with rsad.service.demo_server, so one per process."""
    return demo_server.demo_job(base_store())


USER_KEY = "_rsad_user"  # the signed-in local user's name; only views/login.py and current_user set it
WEB_SESSION_KEY = "_rsad_web_session"  # the SHA-256 of this tab's sign-in cookie token, if it has one


def oidc_configured() -> bool:
    """Streamlit's OIDC login is set up (an [auth] section in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: Streamlit raises its own error type
        return False


def current_user() -> auth.User | None:
    """Who is signed in, with the role the user file gives them now (None: nobody)."""
    settings = get_settings()
    if oidc_configured():
        if not st.user.get("is_logged_in"):
            return None
        return auth.sso_user(settings, str(st.user.get("email") or ""))
    name = st.session_state.get(USER_KEY)
    if name and not _web_session_live(name):
        return None
    if not name:
        name = _resume_web_session()
    return auth.local_user(settings, name) if name else None


def _web_session_live(name: str) -> bool:
    """A tab signed in with a cookie stays signed in only while its session does: sign-out in
    another tab, a new password or a removal (`rsad users ...`) and expiry end it here too."""
    token_hash = st.session_state.get(WEB_SESSION_KEY)
    if not token_hash or websessions.resolve_hash(base_store(), token_hash) == name:
        return True
    forget_sign_in()
    return False


def _resume_web_session() -> str | None:
    """A new browser session (a reload, a server restart) that brought a live sign-in cookie:
    sign its user in again, so the page and its query parameters come back as they were."""
    token = session_cookie()
    if not token:
        return None
    name = websessions.resolve(base_store(), token)
    if name:
        st.session_state[USER_KEY] = name
        st.session_state[WEB_SESSION_KEY] = websessions.hash_token(token)
    return name


def session_cookie() -> str:
    """The sign-in cookie this tab's browser sent when it connected ('' without one)."""
    token = st.context.cookies.get(websessions.COOKIE)
    return token if isinstance(token, str) else ""  # AppTest's stand-in client has no real cookies


def forget_sign_in() -> None:
    """This tab is signed out (the store's session, if any, is the caller's business)."""
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(WEB_SESSION_KEY, None)
    st.session_state.pop(PROJECT_KEY, None)


def analyst() -> str:
    """The signed-in user's name, which verdicts record ('' when nobody is signed in)."""
    user = current_user()
    return user.name if user else ""


def reason_denied(action: policies.Action) -> str | None:
    """Why the signed-in user may not do ``action`` (None: they may), as Markdown for a disabled
    control's help and caption: the user's name shows as typed."""
    reason = policies.reason_denied(current_user(), action)
    return md_message(reason) if reason else None


@st.cache_resource(show_spinner=_Later(N_("Loading the model…")), max_entries=4)
def _classifier_for(db_url: str, project: str, name: str, folder: str) -> Classifier:
    # Keyed by project, version name and folder: a promotion loads the new model, the old one is evicted;
    # four entries: analysts working in a few projects at once do not evict each other's model.
    store = _store_for(db_url).in_project(project)
    return models.load_classifier(store, models.get_version(store, name))


def active_classifier() -> Classifier | None:
    """The active version loaded for scoring and attributions (None without an active model)."""
    store = get_store()
    version = models.active_version(store)
    if version is None:
        return None
    return _classifier_for(get_settings().db_url, store.project_name, version.name, version.folder)


def classifier_loader() -> Callable[[], Classifier | None]:
    """A zero-argument loader of the active classifier for background jobs: they load the
    model (once per process, shared with the pages) only if they need it."""
    db_url, store = get_settings().db_url, get_store()
    version = models.active_version(store)
    if version is None:
        return lambda: None
    return lambda: _classifier_for(db_url, store.project_name, version.name, version.folder)


def version_classifier(name: str) -> Classifier:
    """Any registered version loaded for scoring and attributions (e.g. a candidate to compare)."""
    store = get_store()
    version = models.get_version(store, name)
    return _classifier_for(get_settings().db_url, store.project_name, version.name, version.folder)


# Every ASCII punctuation mark may be backslash-escaped in (CommonMark) Markdown: escaping all
# of them turns links, emphasis, headings, HTML, entities, $math$ and :directives: into text.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def md(text: object) -> str:
    """User content (case ids, batch names, file names) made safe to put inside Markdown.

    Streamlit renders titles, captions, alerts, toasts and link labels as Markdown: an id like
    ``[click](javascript:...)`` or ``**x**`` must show as typed, not become a link or bold.
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text).replace("\r", " ").replace("\n", " "))


def md_message(message: str) -> str:
    """A message for Markdown: `code spans` kept (rsad writes commands that way), the rest escaped."""
    parts = message.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick (from user content): no code spans at all
        return md(message)
    return "`".join(part.replace("\r", " ").replace("\n", " ") if i % 2 else md(part)
                    for i, part in enumerate(parts))


def show_error(exc: Exception | str) -> None:
    """An rsad error as the user should see it: one actionable line, no stack trace.

    Messages quote file names, column names and values from uploads: they are escaped so
    that they show as typed and never render as links or formatting.
    """
    st.error(md_message(str(exc)), icon=":material/error:")
