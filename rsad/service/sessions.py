"""Browser sign-ins that survive a reload (cookie hand-off, resolve, revoke), for app.py,
serve.py and the CLI."""

from __future__ import annotations

from rsad.auth.websessions import (
    COOKIE,
    cookie_route_mounted,
    create,
    hand_off,
    handoff_pending,
    hash_token,
    mark_cookie_route_mounted,
    redeem,
    resolve,
    resolve_hash,
    revoke_hash,
    revoke_user,
)

__all__ = [
    "COOKIE",
    "cookie_route_mounted",
    "create",
    "hand_off",
    "handoff_pending",
    "hash_token",
    "mark_cookie_route_mounted",
    "redeem",
    "resolve",
    "resolve_hash",
    "revoke_hash",
    "revoke_user",
]
