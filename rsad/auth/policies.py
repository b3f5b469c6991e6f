"""Who may do what: the one place that decides, for pages and the CLI alike.

Every function in rsad that changes what is live (retraining, promotion, rollback, rescoring,
thresholds, calibration, deleting batches) takes the acting :class:`rsad.auth.users.User` and calls
:func:`authorize` before it does anything, so a page that forgot to disable a button, a stale
browser tab or a CLI command all meet the same check. Pages use :func:`allowed` and
:func:`reason_denied` to show an action disabled with the reason instead of offering it.

Roles are ordered (``rsad.auth.users.ROLES``): an admin may do everything an analyst may.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rsad.auth.users import ROLES, User, local_user, sso_user
from rsad.config import Settings
from rsad.errors import AccessError


@dataclass(frozen=True)
class _Rule:
    role: str  # the least role that may do it
    doing: str  # how the refusal names it: "<doing> needs the <role> role"


class Action(Enum):
    """Everything the desk distinguishes by role; the value says who may and how to name it."""

    RECORD_VERDICT = _Rule("analyst", "Recording a verdict")
    UPLOAD = _Rule("analyst", "Uploading and scoring a batch")
    EXPORT_LABELS = _Rule("analyst", "Exporting the labels")
    START_RETRAINING = _Rule("admin", "Starting a retraining job")
    STOP_TRAINING = _Rule("admin", "Stopping a training job")
    PROMOTE = _Rule("admin", "Promoting a version")
    ROLLBACK = _Rule("admin", "Rolling back to a version")
    RESCORE = _Rule("admin", "Rescoring the store")
    SAVE_THRESHOLD = _Rule("admin", "Saving a threshold")
    SAVE_TEMPERATURE = _Rule("admin", "Saving a calibration temperature")
    DELETE_BATCH = _Rule("admin", "Deleting a batch")
    MANAGE_USERS = _Rule("admin", "Managing sign-in users")
    MANAGE_PROJECTS = _Rule("admin", "Creating a project")
    SEE_STORE_LOCATION = _Rule("admin", "Seeing where the store is")

    @property
    def role(self) -> str:
        return self.value.role


def _checked(user: object) -> User | None:
    # A caller still passing the old actor string would otherwise read as "not signed in".
    if user is not None and not isinstance(user, User):
        raise TypeError(f"Expected an rsad.auth.users.User (or None), got {type(user).__name__}.")
    return user


def has_role(user: User | None, role: str) -> bool:
    """The user holds ``role`` or a higher one (None, nobody signed in, holds none)."""
    user = _checked(user)
    return user is not None and user.role in ROLES and ROLES.index(user.role) >= ROLES.index(role)


def allowed(user: User | None, action: Action) -> bool:
    """May ``user`` do ``action``? Pages use it to enable or disable the control."""
    return has_role(user, action.role)


def reason_denied(user: User | None, action: Action) -> str | None:
    """Why ``user`` may not do ``action``, as a sentence they can act on (None: they may)."""
    if allowed(user, action):
        return None
    rule = action.value
    if user is None:
        return f"{rule.doing} needs the {rule.role} role; you are not signed in. Sign in first."
    return (f"{rule.doing} needs the {rule.role} role, and {user.name} is {_a(user.role)}. Ask an admin to "
            f"do it, or to give you the role (`rsad users add NAME --role {rule.role}`).")


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def authorize(user: User | None, action: Action) -> User:
    """``user``, if they may do ``action``; otherwise AccessError with the reason."""
    reason = reason_denied(user, action)
    if reason is not None:
        raise AccessError(reason)
    return user  # type: ignore[return-value] - allowed() excludes None


def refreshed(settings: Settings, user: User | None) -> User | None:
    """``user`` as the user file has them now: None once removed, with a changed role if changed.

    For checks that run later than the page that captured the user (a download built on click).
    """
    user = _checked(user)
    if user is None:
        return None
    if user.method == "oidc":
        return sso_user(settings, user.name)
    return local_user(settings, user.name)
