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
from rsad.i18n import N_, _


@dataclass(frozen=True)
class _Rule:
    role: str  # the least role that may do it
    doing: str  # how the refusal names it: "<doing> needs the <role> role"


class Action(Enum):
    """Everything the desk distinguishes by role; the value says who may and how to name it."""

    RECORD_VERDICT = _Rule("analyst", N_("Recording a verdict"))
    UPLOAD = _Rule("analyst", N_("Uploading and scoring a batch"))
    EXPORT_LABELS = _Rule("analyst", N_("Exporting the labels"))
    FIND_SIMILAR = _Rule("analyst", N_("Finding similar cases"))
    START_RETRAINING = _Rule("admin", N_("Starting a retraining job"))
    STOP_TRAINING = _Rule("admin", N_("Stopping a training job"))
    PROMOTE = _Rule("admin", N_("Promoting a version"))
    ROLLBACK = _Rule("admin", N_("Rolling back to a version"))
    RESCORE = _Rule("admin", N_("Rescoring the store"))
    EMBED_CASES = _Rule("admin", N_("Embedding older cases for similar cases"))
    SAVE_THRESHOLD = _Rule("admin", N_("Saving a threshold"))
    SAVE_TEMPERATURE = _Rule("admin", N_("Saving a calibration temperature"))
    DELETE_BATCH = _Rule("admin", N_("Deleting a batch"))
    MANAGE_USERS = _Rule("admin", N_("Managing sign-in users"))
    MANAGE_PROJECTS = _Rule("admin", N_("Creating a project"))
    RUN_AUDIT = _Rule("admin", N_("Running the label audit"))
    SET_RING_SETTINGS = _Rule("admin", N_("Changing a project's ring settings"))
    SEE_STORE_LOCATION = _Rule("admin", N_("Seeing where the store is"))
    WORK_CASES = _Rule("analyst", N_("Changing a case's state"))
    MANAGE_CASES = _Rule("admin", N_("Reassigning, reopening or resolving escalated cases"))
    BACKUP_STORE = _Rule("admin", N_("Backing up the store"))
    RESTORE_STORE = _Rule("admin", N_("Restoring the store from a backup"))

    @property
    def role(self) -> str:
        return self.value.role


def _checked(user: object) -> User | None:
    # A caller still passing the old actor string would otherwise read as "not signed in".
    if user is not None and not isinstance(user, User):
        raise TypeError(_("Expected an rsad.auth.users.User (or None), got {kind}.").format(kind=type(user).__name__))
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
        return _("{doing} needs the {role} role; you are not signed in. Sign in first.").format(
            doing=_(rule.doing), role=rule.role)
    return _("{doing} needs the {role} role, and {name} is {a_role}. Ask an admin to "
             "do it, or to give you the role (`rsad users add NAME --role {role}`).").format(
                 doing=_(rule.doing), role=rule.role, name=user.name, a_role=_a(user.role))


def _a(role: str) -> str:
    return (_("an {role}") if role[0] in "aeiou" else _("a {role}")).format(role=role)


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


ADMIN_MOVES = frozenset({"return", "reopen"})  # rsad.review.case_state's moves only an admin makes


def case_move_denied(user: User | None, move: str, *, state: str, assignee: str | None,
                     target: str | None = None) -> str | None:
    """Why ``user`` may not make ``move`` on a case in ``state`` assigned to ``assignee`` (None: they may).

    Analysts work their own cases: start, escalate and close a case that is theirs or nobody's, and
    take an unassigned one (``move`` "assign" with ``target`` themselves). Escalated cases wait for
    an admin; reassigning, sending back to review and reopening are an admin's. Admins may do all.
    """
    reason = reason_denied(user, Action.WORK_CASES)
    if reason is not None or allowed(user, Action.MANAGE_CASES):
        return reason
    name = user.name  # type: ignore[union-attr] - reason_denied excludes None
    if move in ADMIN_MOVES:
        return reason_denied(user, Action.MANAGE_CASES)
    if state == "escalated":
        return _("The case is escalated: it waits for an admin, who resolves it from the Escalated page.")
    if assignee not in (None, name):
        return _("The case is assigned to {assignee}: ask them, or an admin to reassign it.").format(assignee=assignee)
    if move == "assign" and target != name:
        return _("Analysts assign cases to themselves only; an admin assigns them to others.")
    return None
