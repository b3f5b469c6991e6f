"""Who may do what (decided in :mod:`rsad.auth.policies`), for the pages to grey out what a role
may not do and for the CLI to refuse it."""

from __future__ import annotations

from rsad.auth.policies import Action, allowed, authorize, has_role, reason_denied

__all__ = [
    "Action",
    "allowed",
    "authorize",
    "has_role",
    "reason_denied",
]
