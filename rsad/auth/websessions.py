"""Browser sign-ins that survive a reload and a server restart.

A password sign-in creates a web session: a random token that only the browser keeps, in an
HttpOnly cookie (``rsad_session``); the store keeps its SHA-256 in ``web_sessions`` with an
expiry (``RSAD_SESSION_HOURS``), so a copy of the database does not sign anyone in. Sign-out
revokes one session; ``rsad users remove`` and ``rsad users passwd`` revoke all of a user's.

The token reaches the browser without passing through the page or a URL: the sign-in form
leaves a one-time hand-off code in this process, and the page's script trades it for the cookie
at the route that ``serve.py`` mounts (:func:`redeem`). Under a plain ``streamlit run app.py``
that route does not exist (:func:`cookie_route_mounted` is False) and sign-in lasts one tab.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from rsad.data.db import Store
from rsad.data.orm import WebSession, as_utc, utcnow

COOKIE = "rsad_session"
HANDOFF_S = 60  # a hand-off code not traded for the cookie by then is void
_handoffs: dict[str, tuple[str, int, float]] = {}  # code -> (token, cookie max-age s, deadline)
_handoff_lock = threading.Lock()
_route_mounted = False


@dataclass(frozen=True)
class Ticket:
    """A new web session: the token goes to the browser only, the hash stays on the server."""

    token: str
    token_hash: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(store: Store, user_name: str, *, method: str = "password", now: datetime | None = None) -> Ticket:
    """A new web session for a user who just signed in, valid for RSAD_SESSION_HOURS."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    ticket = Ticket(token, hash_token(token), now + timedelta(hours=store.settings.session_hours))
    with store.session() as s:
        s.add(WebSession(token_hash=ticket.token_hash, user_name=user_name, method=method,
                         created_at=now, expires_at=ticket.expires_at))
    return ticket


def resolve_hash(store: Store, token_hash: str, *, now: datetime | None = None) -> str | None:
    """The user name of a live session (None when unknown, expired or revoked)."""
    now = now or utcnow()
    with store.session() as s:
        row = s.scalars(select(WebSession).where(WebSession.token_hash == token_hash)).first()
        if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
            return None
        return row.user_name


def resolve(store: Store, token: str, *, now: datetime | None = None) -> str | None:
    """The user name a cookie's token signs in (None when unknown, expired or revoked)."""
    if not token:
        return None
    return resolve_hash(store, hash_token(token), now=now)


def revoke_hash(store: Store, token_hash: str, *, now: datetime | None = None) -> None:
    """End one session (sign-out): its cookie signs nobody in from now on."""
    with store.session() as s:
        s.execute(update(WebSession).where(WebSession.token_hash == token_hash,
                                           WebSession.revoked_at.is_(None)).values(revoked_at=now or utcnow()))


def revoke_user(store: Store, user_name: str, *, now: datetime | None = None) -> int:
    """End every session of a user (removed, or given a new password); returns how many were live."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(update(WebSession).where(
            WebSession.user_name == user_name, WebSession.revoked_at.is_(None),
            WebSession.expires_at > now).values(revoked_at=now))
        return result.rowcount or 0


def hand_off(ticket: Ticket, *, now: float | None = None) -> str:
    """A one-time code (valid HANDOFF_S seconds) that the browser trades for the ticket's cookie."""
    now = time.monotonic() if now is None else now
    code = secrets.token_urlsafe(24)
    max_age = max(1, int((ticket.expires_at - utcnow()).total_seconds()))
    with _handoff_lock:
        for old in [c for c, (_, _, deadline) in _handoffs.items() if deadline <= now]:
            del _handoffs[old]
        _handoffs[code] = (ticket.token, max_age, now + HANDOFF_S)
    return code


def handoff_pending(code: str, *, now: float | None = None) -> bool:
    """The code is still waiting for the browser (not traded yet, not void)."""
    now = time.monotonic() if now is None else now
    with _handoff_lock:
        entry = _handoffs.get(code)
    return entry is not None and entry[2] > now


def redeem(code: str, *, now: float | None = None) -> tuple[str, int] | None:
    """Trade a hand-off code for (token, cookie max-age) once; None when unknown, used or void."""
    now = time.monotonic() if now is None else now
    with _handoff_lock:
        entry = _handoffs.pop(code, None)
    if entry is None or entry[2] <= now:
        return None
    return entry[0], entry[1]


def mark_cookie_route_mounted() -> None:
    """serve.py calls this: the cookie route runs in this process, so sign-ins may use it."""
    global _route_mounted  # noqa: PLW0603 - one flag per server process, set once at start
    _route_mounted = True


def cookie_route_mounted() -> bool:
    return _route_mounted
