"""Promote and roll back model versions, each a recorded event, and the registry's history.

A switch is one transaction: the version becomes active, the previous active one is
retired (never deleted) and a ``ModelEvent`` says who, when and why. Rescoring with the new
version is separate and resumable (:func:`rsad.ops.scoring.rescore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data.db import Store
from rsad.errors import InputError, StateError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo

ACTIONS = {"promote": "candidate", "rollback": "retired"}  # action -> status it applies to


@dataclass(frozen=True)
class Switch:
    """A promotion or rollback: the version now active, and the one it replaced (None: none was)."""

    version: VersionInfo
    previous: str | None


def _switch(store: Store, name: str, action: str, *, actor: str, reason: str) -> Switch:
    """The switch itself; callers have authorized ``actor`` (a user's name) for ``action``."""
    with store.session() as s:
        version = versions.get_model_version(s, name, project_id=store.project_id)
        if version.status == "active":
            raise StateError(_("{name} is already the active version.").format(name=name))
        if version.status != ACTIONS[action]:
            hint = (_("it is retired: restore it with rollback (`rsad rollback {name}`)") if action == "promote"
                    else _("it is a candidate that was never active: promote it (`rsad promote {name}`)"))
            raise StateError(_("Cannot {action} {name}: {hint}.").format(action=action, name=name,
                                                                        hint=hint.format(name=name)))
        if not actor.strip():
            raise InputError(_("Say who you are (analyst name) before you {action} a version.").format(action=action))
        if not reason.strip():
            raise InputError(_("Give a reason for the {action}: it is kept in the model history.").format(
                                 action=action))
        previous = versions.active_model(s, project_id=store.project_id)
        versions.promote(s, name, project_id=store.project_id)
        versions.add_model_event(s, version, action, actor=actor.strip(), reason=reason.strip(),
                          previous_active_id=previous.id if previous else None)
        return Switch(versions.version_info(version), previous.name if previous else None)


def promote(store: Store, name: str, *, user: User, reason: str) -> Switch:
    """Make a candidate the active version (admins only); the old active one is retired."""
    actor = policies.authorize(user, policies.Action.PROMOTE).name
    return _switch(store, name, "promote", actor=actor, reason=reason)


def rollback(store: Store, name: str, *, user: User, reason: str) -> Switch:
    """Make a retired version active again (admins only); the current active one is retired."""
    actor = policies.authorize(user, policies.Action.ROLLBACK).name
    return _switch(store, name, "rollback", actor=actor, reason=reason)


def history(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Registry events, newest first: what happened to which version, who did it and why."""
    with store.session() as s:
        return versions.events(s, limit, project_id=store.project_id)


